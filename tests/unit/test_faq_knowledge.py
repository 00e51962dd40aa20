"""The FAQ knowledge base: the contract topics, the shape of every entry, rendering, and validation."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.knowledge.faq import (
    DEFAULT_PATH,
    MAIN_MENU_BUTTON,
    FaqAnswer,
    faq_responses_yaml,
    format_date_id,
    load_knowledge_base,
    render_answer,
    retrieval_topics,
    topic_payload,
    topic_titles,
)
from tests.contract import EXTRA_FAQ_TOPICS, FAQ_TOPICS

REPO_ROOT = Path(__file__).resolve().parents[2]
RESPONSES_FILE = REPO_ROOT / "nlu_data" / "faq_responses.yml"

# DESIGN.md contract topics, plus the meta-FAQ the domain reference requires.
CONTRACT_TOPICS = set(FAQ_TOPICS + EXTRA_FAQ_TOPICS)
SERVICE_TOPICS = [
    "ktp_el",
    "kartu_keluarga",
    "akta_kelahiran",
    "akta_kematian",
    "pindah_domisili",
    "kia",
    "sim",
    "skck",
    "paspor",
    "bpjs_kesehatan",
    "pajak_kendaraan",
    "perizinan_usaha",
]
# The sources were checked on this day; no fact can be "as of" a later date.
PROJECT_CHECK_DATE = date(2026, 11, 1)
PAYLOAD_PATTERN = re.compile(r'^/faq(\{"faq_topic":"[a-z0-9_]+"\})$')


@pytest.fixture(scope="module")
def kb() -> dict[str, FaqAnswer]:
    return load_knowledge_base()


def test_every_contract_topic_is_a_retrieval_topic(kb: dict[str, FaqAnswer]) -> None:
    assert set(retrieval_topics(kb)) >= CONTRACT_TOPICS


def test_menu_is_button_only_and_lists_every_service(kb: dict[str, FaqAnswer]) -> None:
    menu = kb["daftar_layanan"]
    assert menu.menu
    assert "daftar_layanan" not in retrieval_topics(kb)
    messages = render_answer("daftar_layanan", kb)
    assert messages[-1]["text"].startswith("Pilih layanan yang ingin Bapak/Ibu tanyakan")
    payloads = [button["payload"] for button in messages[-1]["buttons"]]
    assert payloads == [topic_payload(topic) for topic in SERVICE_TOPICS] + ["/greet"]
    assert "Sumber:" not in messages[-1]["text"]


@pytest.mark.parametrize("topic", sorted(CONTRACT_TOPICS))
def test_entry_shape(kb: dict[str, FaqAnswer], topic: str) -> None:
    entry = kb[topic]
    assert 0 < len(entry.title) <= 20
    assert entry.summary.endswith(".")
    assert 1 <= len(entry.parts) <= 4
    for part in entry.parts:
        assert part.strip() and len(part) <= 600
    assert entry.source.strip()
    assert isinstance(entry.as_of, date) and date(2009, 1, 1) <= entry.as_of <= PROJECT_CHECK_DATE
    assert len(entry.followups) <= 3
    assert topic not in entry.followups
    assert all(name in kb for name in entry.followups)
    if entry.source_url is not None:
        assert entry.source_url.startswith("https://")


@pytest.mark.parametrize("topic", sorted(CONTRACT_TOPICS))
def test_render_puts_source_date_and_buttons_on_the_last_message(
    kb: dict[str, FaqAnswer], topic: str
) -> None:
    entry = kb[topic]
    messages = render_answer(topic, kb)

    assert [m["text"] for m in messages[:-1]] == list(entry.parts[:-1])
    assert all("buttons" not in m for m in messages[:-1])
    last = messages[-1]
    assert last["text"].startswith(entry.parts[-1])
    assert f"Sumber: {entry.source} (per {format_date_id(entry.as_of)})" in last["text"]
    if entry.note:
        assert f"Catatan: {entry.note}" in last["text"]
    if entry.source_url:
        assert last["text"].endswith(entry.source_url)
    assert len(last["text"]) <= 1024

    buttons = last["buttons"]
    assert buttons[-1] == MAIN_MENU_BUTTON
    assert [b["payload"] for b in buttons[:-1]] == [topic_payload(name) for name in entry.followups]
    assert [b["title"] for b in buttons[:-1]] == [kb[name].title for name in entry.followups]
    for button in buttons:
        assert 0 < len(button["title"]) <= 20
        assert len(button["payload"].encode("utf-8")) <= 64
    for button in buttons[:-1]:
        match = PAYLOAD_PATTERN.match(button["payload"])
        assert match, button["payload"]
        assert json.loads(match.group(1))["faq_topic"] in kb


def test_payload_and_date_format() -> None:
    assert topic_payload("ktp_el") == '/faq{"faq_topic":"ktp_el"}'
    assert format_date_id(date(2026, 11, 1)) == "1 November 2026"
    assert format_date_id(date(2024, 12, 18)) == "18 Desember 2024"
    assert format_date_id(date(2021, 1, 1)) == "1 Januari 2021"


def test_render_unknown_topic_raises(kb: dict[str, FaqAnswer]) -> None:
    with pytest.raises(KeyError, match="tidak_ada"):
        render_answer("tidak_ada", kb)


def test_topic_titles(kb: dict[str, FaqAnswer]) -> None:
    titles = topic_titles(kb)
    assert titles["ktp_el"] == "KTP-el"
    assert set(titles) == set(kb)


def test_key_facts_the_brief_fixes(kb: dict[str, FaqAnswer]) -> None:
    def text(topic: str) -> str:
        return "\n".join(kb[topic].parts)

    assert "3 hari kerja" in text("waktu_tanggapan")
    assert "14 hari" in text("waktu_tanggapan")
    assert "60 hari" in text("waktu_tanggapan")
    survey = text("survei_kepuasan")
    assert "9 unsur" in survey and "1–4" in survey and "× 25" in survey
    for grade in ("A (Sangat Baik): 88,31–100", "B (Baik): 76,61–88,30", "C (Kurang Baik): 65,00–76,60"):
        assert grade in survey
    assert "PermenPANRB 14/2017" in kb["survei_kepuasan"].source
    assert "UU 27/2022" in kb["keamanan_data"].source
    assert "anonim" in text("keamanan_data")
    assert "Ombudsman" in text("tidak_puas") and "Pasal 46" in text("tidak_puas")
    assert "gratis sejak 1 Januari 2014" in text("pungli")
    assert "aparatur" in text("pungli")


# The seed article's own FAQ, each answered by its topic (a phrase from the article's answer).
SEED_FAQ = [
    ("Apa itu pelayanan publik?", "pelayanan_publik", "memenuhi kebutuhan dasar"),
    ("Mengapa kualitas pelayanan publik penting?", "pelayanan_publik", "kepercayaan"),
    ("Apa yang dimaksud dengan digitalisasi dalam pelayanan publik?", "digitalisasi", "efisien"),
    ("Bagaimana cara masyarakat bisa berpartisipasi?", "partisipasi_masyarakat", "masukan"),
    ("Apa saja tantangan dalam pelayanan publik di Indonesia?", "tantangan_pelayanan", "Kesenjangan digital"),
    ("Apa yang dimaksud dengan standar pelayanan minimal?", "standar_pelayanan_minimal", "jenis dan mutu"),
]


@pytest.mark.parametrize(("question", "topic", "phrase"), SEED_FAQ)
def test_seed_article_faq_is_answered(
    kb: dict[str, FaqAnswer], question: str, topic: str, phrase: str
) -> None:
    assert phrase in "\n".join(kb[topic].parts), question


def test_responses_file_matches_the_knowledge_base(kb: dict[str, FaqAnswer]) -> None:
    text = RESPONSES_FILE.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    keys = set(data["responses"])
    assert keys == {f"utter_faq/{topic}" for topic in retrieval_topics(kb)}
    assert keys == {f"utter_faq/{topic}" for topic in set(kb) - {"daftar_layanan"}}
    for topic in retrieval_topics(kb):
        assert data["responses"][f"utter_faq/{topic}"] == [{"text": kb[topic].summary}]
    # The file is exactly what the generator writes, so regenerating it is the only fix needed.
    assert text == faq_responses_yaml(kb)


# ----------------------------------------------------------------------------------- validation

VALID_ENTRY = """\
ktp_el:
  title: KTP-el
  summary: Syarat KTP-el.
  parts:
    - Bagian pertama.
    - Bagian kedua.
  source: UU 24/2013
  as_of: 2026-11-01
  followups: [kia]
kia:
  title: KIA
  summary: Syarat KIA.
  parts: [Satu bagian.]
  source: UU 24/2013
  as_of: "2025-05-01"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "faq.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_small_file_loads_and_renders(tmp_path: Path) -> None:
    kb = load_knowledge_base(write(tmp_path, VALID_ENTRY))
    assert kb["kia"].as_of == date(2025, 5, 1)
    messages = render_answer("ktp_el", kb)
    assert messages == [
        {"text": "Bagian pertama."},
        {
            "text": "Bagian kedua.\n\nSumber: UU 24/2013 (per 1 November 2026)",
            "buttons": [
                {"title": "KIA", "payload": '/faq{"faq_topic":"kia"}'},
                {"title": "Menu utama", "payload": "/greet"},
            ],
        },
    ]


SOURCE_LINES = "  source: UU 24/2013\n  as_of: 2026-11-01\n"
# (case, text to replace in VALID_ENTRY, replacement, topic and field the error must name)
MALFORMED = [
    ("missing source", SOURCE_LINES, "  as_of: 2026-11-01\n", "ktp_el", "source"),
    ("title too long", "title: KIA", "title: Kartu Identitas Anak Indonesia", "kia", "title"),
    ("title not text", "title: KIA", "title: 2024", "kia", "title"),
    ("unknown followup", "followups: [kia]", "followups: [kiaa]", "ktp_el", "followups"),
    ("self followup", "followups: [kia]", "followups: [ktp_el]", "ktp_el", "followups"),
    ("too many followups", "followups: [kia]", "followups: [kia, a, b, c]", "ktp_el", "followups"),
    ("typo field", "followups: [kia]", "folowups: [kia]", "ktp_el", "folowups"),
    ("bad date", 'as_of: "2025-05-01"', "as_of: kemarin", "kia", "as_of"),
    ("date with time", 'as_of: "2025-05-01"', "as_of: 2025-05-01 10:00:00", "kia", "as_of"),
    ("empty part", "parts: [Satu bagian.]", 'parts: ["  "]', "kia", "parts"),
    ("no parts", "parts: [Satu bagian.]", "parts: []", "kia", "parts"),
    ("part too long", "Satu bagian.", "x" * 601, "kia", "parts"),
    ("bad url", SOURCE_LINES, SOURCE_LINES + "  source_url: lapor.go.id\n", "ktp_el", "source_url"),
    ("bad topic name", "kia:\n  title", "KIA Anak:\n  title", "KIA Anak", None),
]


@pytest.mark.parametrize(("case", "old", "new", "topic", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_entry_names_topic_and_field(
    tmp_path: Path, case: str, old: str, new: str, topic: str, field: str | None
) -> None:
    assert old in VALID_ENTRY, case
    text = VALID_ENTRY.replace(old, new)
    if case == "bad topic name":
        text = text.replace("followups: [kia]", "followups: []")
    with pytest.raises(ValueError) as raised:
        load_knowledge_base(write(tmp_path, text))
    message = str(raised.value)
    assert f"topic '{topic}'" in message, case
    if field:
        assert f"field '{field}'" in message, case


def test_duplicate_topic_is_rejected(tmp_path: Path) -> None:
    text = VALID_ENTRY + "kia:\n" + VALID_ENTRY.split("kia:\n")[1]
    with pytest.raises(ValueError, match="duplicate key 'kia'"):
        load_knowledge_base(write(tmp_path, text))


def test_not_a_mapping_or_not_yaml_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mapping of topic"):
        load_knowledge_base(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ValueError, match="not valid YAML"):
        load_knowledge_base(write(tmp_path, "ktp_el: [unclosed\n"))


def test_cache_follows_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_ENTRY)
    first = load_knowledge_base(path)
    assert load_knowledge_base(path) == first
    # Callers get their own dict: changing it must not leak into the next load.
    first.pop("kia")
    assert "kia" in load_knowledge_base(path)

    path.write_text(VALID_ENTRY.replace("title: KIA", "title: Kartu Anak"), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_knowledge_base(path)["kia"].title == "Kartu Anak"


def test_default_path_is_the_shipped_file() -> None:
    assert DEFAULT_PATH == REPO_ROOT / "bot" / "knowledge" / "faq.yml"
    assert load_knowledge_base() == load_knowledge_base(DEFAULT_PATH)
