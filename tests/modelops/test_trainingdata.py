"""Training data: checks before training, all-or-nothing import, merge with nlu_data, export, FAQ answers."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from bot.db import Database
from bot.modelops import trainingdata
from bot.modelops.training_models import FaqOverride, TrainingExample
from bot.modelops.trainingdata import Example, FaqEdit, TrainingDataError


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


def _count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(TrainingExample)) or 0)


def test_the_project_data_passes_the_checks() -> None:
    report = trainingdata.check(trainingdata.project_examples(), trainingdata.catalog(), set())
    assert report.errors == []


def test_check_reports_conflicts_duplicates_and_unknown_labels() -> None:
    known = trainingdata.Catalog(intents={"greet", "check_status", "faq"}, faq_topics={"ktp_el"})
    report = trainingdata.check(
        [
            Example("Cek status laporan", "check_status", "a.yml"),
            Example("cek  status laporan", "greet", "b.yml"),
            Example("halo", "greet", "a.yml"),
            Example("Halo", "greet", "database"),
            Example("kartu prakerja", "faq/prakerja", "database"),
            Example("bansos", "faq/bansos", "database"),
        ],
        known,
        declared_new={"faq/bansos"},
    )
    assert report.errors == [
        'Label bertentangan untuk "cek status laporan": check_status (a.yml); greet (b.yml).',
        "Label 'faq/prakerja' belum dikenal (1 contoh); tandai sebagai label baru bila memang baru.",
    ]
    assert report.warnings == ['Contoh ganda "halo" (greet) muncul 2 kali.']


BROKEN_YAML = "nlu:\n- intent: greet\n  examples: |\n    - halo\n  - intent: [rusak\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BROKEN_YAML, "YAML rusak (baris"),
        (
            "nlu:\n- intent: check_status\n  examples: |\n    - syarat bikin ktp pertama kali apa aja?\n",
            "bertentangan",
        ),
        (
            "nlu:\n- intent: greet\n  examples: |\n    - hai bot\n- intent: Bukan Label\n  examples: |\n    - x\n",
            "tidak valid",
        ),
        ("- just a list\n", "harus berisi daftar 'nlu:'"),
        ("nlu:\n- intent: faq/bansos\n  examples: |\n    - bansos cair kapan\n", "belum dikenal"),
    ],
)
def test_a_bad_import_is_rejected_with_a_clear_message_and_changes_nothing(
    database: Database, text: str, message: str
) -> None:
    before = _tree_digest(trainingdata.NLU_DATA)
    with database.session() as session, pytest.raises(TrainingDataError) as refused:
        trainingdata.import_yaml(session, text, "admin")
    assert message in str(refused.value)
    assert "Tidak ada yang disimpan." in refused.value.problems
    assert _count(database) == 0
    assert _tree_digest(trainingdata.NLU_DATA) == before


def test_a_good_import_stores_every_example_once(database: Database) -> None:
    text = (
        "nlu:\n- intent: faq/ktp_el\n  examples: |\n    - aktivasi ikd gimana\n    - aktivasi ikd gimana\n"
        "- intent: faq/bansos\n  new: true\n  examples: |\n    - bansos cair kapan\n"
    )
    with database.session() as session:
        stored = trainingdata.import_yaml(session, text, "admin")
        assert sorted((e.text, e.label, e.new_label) for e in stored) == [
            ("aktivasi ikd gimana", "faq/ktp_el", False),
            ("bansos cair kapan", "faq/bansos", True),
        ]


def test_add_example_masks_personal_data_and_refuses_empty_and_conflicting(database: Database) -> None:
    with database.session() as session:
        row = trainingdata.add_example(
            session, "nik saya 3201010101900001 ktp belum jadi", "faq/ktp_el", "admin"
        )
        assert row.text == "nik saya 3201********0001 ktp belum jadi"
        for text, label in (("   ", "greet"), ("<script>x</script> halo", "nama aneh!"), ("halo", "thank")):
            with pytest.raises(TrainingDataError):
                trainingdata.add_example(session, text, label, "admin")
    assert _count(database) == 1


def test_merge_adds_database_examples_and_leaves_the_held_out_split_out(
    database: Database, tmp_path: Path
) -> None:
    with database.session() as session:
        trainingdata.add_example(session, "aktivasi ikd di hp gimana", "faq/ktp_el", "admin")
        trainingdata.add_example(session, "bansos cair kapan", "faq/bansos", "admin", new_label=True)
        merged = trainingdata.merge(
            session, tmp_path, held_out=[("syarat bikin ktp pertama kali apa aja?", "faq/ktp_el")]
        )
    assert merged.report.ok, merged.report.errors
    texts = {(e.text, e.label) for e in trainingdata.project_examples(merged.data_dir)}
    assert ("aktivasi ikd di hp gimana", "faq/ktp_el") in texts
    assert ("bansos cair kapan", "faq/bansos") in texts
    assert ("syarat bikin ktp pertama kali apa aja?", "faq/ktp_el") not in texts
    assert len(texts) == len({(e.text, e.label) for e in trainingdata.project_examples()}) + 1
    # The rewritten files are still valid Rasa YAML with | blocks; the project's files are untouched.
    faq = (merged.data_dir / "nlu" / "faq" / "ktp_el.yml").read_text(encoding="utf-8")
    assert "examples: |" in faq and yaml.safe_load(faq)["nlu"]
    assert (
        "syarat bikin ktp pertama kali apa aja?"
        in (trainingdata.NLU_DATA / "nlu" / "faq" / "ktp_el.yml").read_text()
    )
    # A data change changes the hash a run records.
    with database.session() as session:
        trainingdata.add_example(session, "ktp digital", "faq/ktp_el", "admin")
        assert trainingdata.merge(session, tmp_path / "again").data_hash != merged.data_hash


def test_export_is_a_valid_nlu_file_of_the_database_examples(database: Database) -> None:
    with database.session() as session:
        trainingdata.add_example(session, "aktivasi ikd di hp gimana", "faq/ktp_el", "admin")
        trainingdata.add_example(session, "cek tiket dong", "check_status", "admin")
        patch = trainingdata.export_patch(session)
    document = yaml.safe_load(patch)
    assert document["version"] == "3.1"
    assert {item["intent"]: item["examples"] for item in document["nlu"]} == {
        "check_status": "- cek tiket dong\n",
        "faq/ktp_el": "- aktivasi ikd di hp gimana\n",
    }


def _edit(**changes: object) -> FaqEdit:
    fields: dict[str, object] = {
        "topic": "ktp_el",
        "title": "KTP-el",
        "summary": "Syarat membuat KTP-el.",
        "parts": ["KTP-el kini bisa diaktifkan sebagai IKD di aplikasi Identitas Kependudukan Digital."],
        "followups": [],
        "source": "Dukcapil Kemendagri",
        "source_url": None,
        "as_of": date(2026, 11, 28),
    }
    fields.update(changes)
    return FaqEdit(**fields)  # type: ignore[arg-type]


def test_a_text_edit_of_an_faq_answer_is_live_without_retraining(database: Database) -> None:
    with database.session() as session:
        _, retrain = trainingdata.save_faq_answer(session, _edit(), "admin")
    assert retrain is False
    with database.session() as session:
        document = trainingdata.knowledge_document(session)
    assert document["ktp_el"]["parts"] == [_edit().parts[0]]
    assert document["ktp_el"]["as_of"] == "2026-11-28"
    assert "kartu_keluarga" in document  # the rest of the file is still there


def test_a_new_faq_topic_needs_retraining_and_a_bad_one_is_refused(database: Database) -> None:
    with database.session() as session:
        _, retrain = trainingdata.save_faq_answer(
            session, _edit(topic="prakerja", title="Kartu Prakerja"), "admin"
        )
        assert retrain is True
        with pytest.raises(TrainingDataError):
            trainingdata.save_faq_answer(session, _edit(followups=["tidak_ada"]), "admin")
        with pytest.raises(TrainingDataError):
            trainingdata.save_faq_answer(session, _edit(topic="Bukan Topik!"), "admin")
    with database.session() as session:
        assert [o.topic for o in session.scalars(select(FaqOverride))] == ["prakerja"]
