"""Training data kept in the database (admin examples, FAQ answers) merged with `nlu_data/` into Rasa YAML.

Labels are intent names (`check_status`) or FAQ topics of the retrieval intent (`faq/ktp_el`). Before any
training the merged data is checked here (YAML, duplicates, the same text under two labels, unknown
labels unless declared new) and then by `rasa data validate`. An import that fails a check stores nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.knowledge.faq import FaqAnswer, KnowledgeBaseError, load_knowledge_base, parse_knowledge_base
from bot.modelops.training_models import FaqOverride, TrainingExample
from bot.privacy import mask_for_review
from bot.rasa_environment import rasa_environment
from bot.settings import PROJECT_ROOT

NLU_DATA = PROJECT_ROOT / "nlu_data"
DOMAIN = PROJECT_ROOT / "domain.yml"
ADMIN_FILE = "nlu/admin_examples.yml"  # where the merged DB examples go (and the exported patch)
RETRIEVAL_INTENT = "faq"
MAX_TEXT = 500
MAX_IMPORT_BYTES = 512 * 1024
VALIDATE_TIMEOUT_SECONDS = 600
NOTHING_STORED = "Tidak ada yang disimpan."
_LABEL = re.compile(r"^[a-z][a-z0-9_]{1,60}(/[a-z][a-z0-9_]{1,60})?$")
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_SPACES = re.compile(r"\s+")


class TrainingDataError(ValueError):
    """Data that cannot be used; `problems` are shown to the admin one per line (Indonesian)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    origin: str  # file under nlu_data/ or "database"


@dataclass
class Catalog:
    """The labels the project knows: intents of domain.yml and FAQ topics of the NLU data."""

    intents: set[str]
    faq_topics: set[str]

    def knows(self, label: str) -> bool:
        if label.startswith(RETRIEVAL_INTENT + "/"):
            return label.split("/", 1)[1] in self.faq_topics
        return label in self.intents and label != RETRIEVAL_INTENT

    def labels(self) -> list[str]:
        names = sorted(self.intents - {RETRIEVAL_INTENT})
        return names + [f"{RETRIEVAL_INTENT}/{topic}" for topic in sorted(self.faq_topics)]


@dataclass
class Report:
    """Outcome of checking merged data: errors stop a training, warnings are shown."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def normalise(text: str) -> str:
    """The comparison key of an example: annotations dropped, case and spacing ignored."""
    return _SPACES.sub(" ", _ANNOTATION.sub(r"\1", text)).strip().lower()


def clean_label(raw: str) -> str:
    label = raw.strip().lower()
    if not _LABEL.match(label) or (label.count("/") and not label.startswith(RETRIEVAL_INTENT + "/")):
        raise TrainingDataError(
            [
                f"Label '{raw[:80]}' tidak valid: pakai nama intent (huruf kecil, angka, garis bawah) "
                "atau faq/<topik>."
            ]
        )
    return label


def clean_text(raw: str) -> str:
    text = _SPACES.sub(" ", raw).strip()
    if not text:
        raise TrainingDataError(["Teks contoh tidak boleh kosong."])
    if len(text) > MAX_TEXT:
        raise TrainingDataError([f"Teks contoh terlalu panjang (maksimum {MAX_TEXT} karakter)."])
    if text.startswith("/"):
        raise TrainingDataError(["Teks yang diawali '/' adalah perintah tombol, bukan contoh kalimat."])
    # An example keeps the wording, never a citizen's NIK, phone number or name.
    return mask_for_review(text)


# --------------------------------------------------------------------------------------------- reading


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yml") if p.is_file()) + sorted(root.rglob("*.yaml"))


def _load_yaml(path: Path, origin: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise TrainingDataError([f"{origin}: YAML rusak ({_yaml_problem(error)})."]) from error


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "tidak dapat dibaca"
    return f"baris {mark.line + 1}: {problem}" if mark is not None else str(problem)


def _examples_of(block: Any) -> list[str]:
    if not isinstance(block, str):
        return []
    return [line.strip()[2:].strip() for line in block.splitlines() if line.strip().startswith("- ")]


def project_examples(data_dir: Path = NLU_DATA) -> list[Example]:
    examples: list[Example] = []
    for path in _yaml_files(data_dir):
        origin = str(path.relative_to(data_dir))
        document = _load_yaml(path, origin)
        for item in (document or {}).get("nlu") or [] if isinstance(document, dict) else []:
            if isinstance(item, dict) and isinstance(item.get("intent"), str):
                examples += [Example(t, item["intent"], origin) for t in _examples_of(item.get("examples"))]
    return examples


def catalog(data_dir: Path = NLU_DATA, domain: Path = DOMAIN) -> Catalog:
    document = _load_yaml(domain, "domain.yml")
    intents: set[str] = set()
    for item in (document or {}).get("intents") or []:
        intents.add(item if isinstance(item, str) else next(iter(item)))
    topics = {e.label.split("/", 1)[1] for e in project_examples(data_dir) if e.label.startswith("faq/")}
    return Catalog(intents=intents, faq_topics=topics)


def db_examples(session: Session) -> list[TrainingExample]:
    return list(session.scalars(select(TrainingExample).order_by(TrainingExample.label, TrainingExample.id)))


# --------------------------------------------------------------------------------------------- checks


def check(examples: Iterable[Example], known: Catalog, declared_new: set[str]) -> Report:
    """Duplicates (warning), one text under two labels (error), labels nobody declared (error)."""
    report = Report()
    by_text: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for example in examples:
        by_text[normalise(example.text)][example.label].append(example.origin)
    unknown: dict[str, int] = defaultdict(int)
    for text, labels in by_text.items():
        if len(labels) > 1:
            where = "; ".join(f"{label} ({', '.join(sorted(set(o)))})" for label, o in sorted(labels.items()))
            report.errors.append(f'Label bertentangan untuk "{text}": {where}.')
        for label, origins in labels.items():
            if len(origins) > 1:
                report.warnings.append(f'Contoh ganda "{text}" ({label}) muncul {len(origins)} kali.')
            if not known.knows(label) and label not in declared_new:
                unknown[label] += 1
    for label, count in sorted(unknown.items()):
        report.errors.append(
            f"Label '{label}' belum dikenal ({count} contoh); tandai sebagai label baru bila memang baru."
        )
    return report


def _db_as_examples(rows: Iterable[TrainingExample]) -> list[Example]:
    return [Example(row.text, row.label, "database") for row in rows]


def check_new_examples(session: Session, new: Sequence[Example], declared_new: set[str]) -> Report:
    """The project's data, the database's examples and `new` together, as a training would see them."""
    rows = db_examples(session)
    declared = declared_new | {row.label for row in rows if row.new_label}
    everything = project_examples() + _db_as_examples(rows) + list(new)
    return check(everything, catalog(), declared)


def add_example(
    session: Session,
    text: str,
    label: str,
    by: str,
    new_label: bool = False,
    source: str = "editor",
    message_id: int | None = None,
) -> TrainingExample:
    """Stores one example after the same checks a training makes; raises TrainingDataError, storing nothing."""
    example = Example(clean_text(text), clean_label(label), "database")
    if label_of_existing(session, example.text, example.label):
        raise TrainingDataError([f'Contoh "{example.text}" sudah tersimpan untuk {example.label}.'])
    report = check_new_examples(session, [example], {example.label} if new_label else set())
    if not report.ok:
        raise TrainingDataError(report.errors)
    row = TrainingExample(
        text=example.text,
        label=example.label,
        new_label=new_label,
        source=source,
        message_id=message_id,
        created_by=by[:120],
    )
    session.add(row)
    session.flush()
    return row


def label_of_existing(session: Session, text: str, label: str) -> bool:
    found = session.scalar(
        select(TrainingExample.id).where(TrainingExample.text == text, TrainingExample.label == label)
    )
    return found is not None


def delete_example(session: Session, example_id: int) -> bool:
    row = session.get(TrainingExample, example_id)
    if row is None:
        return False
    session.delete(row)
    return True


def import_yaml(session: Session, text: str, by: str) -> list[TrainingExample]:
    """Examples pasted or uploaded as Rasa NLU YAML; all stored, or (on any problem) none."""
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        raise TrainingDataError(["Berkas terlalu besar (maksimum 512 KB)."])
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TrainingDataError([f"YAML rusak ({_yaml_problem(error)}).", NOTHING_STORED]) from error
    items = document.get("nlu") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise TrainingDataError(
            [
                "YAML harus berisi daftar 'nlu:' dengan '- intent: <nama>' dan 'examples: |'.",
                NOTHING_STORED,
            ]
        )
    new: list[Example] = []
    declared: set[str] = set()
    problems: list[str] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("intent"), str):
            problems.append(f"Butir ke-{index} tidak punya 'intent'.")
            continue
        try:
            label = clean_label(item["intent"])
            if item.get("new") is True:
                declared.add(label)
            texts = _examples_of(item.get("examples"))
            if not texts:
                problems.append(f"Butir ke-{index} ({label}) tidak punya contoh.")
            new += [Example(clean_text(t), label, "impor") for t in texts]
        except TrainingDataError as error:
            problems += error.problems
    if not problems:
        problems = check_new_examples(session, new, declared).errors
    if problems:
        raise TrainingDataError([*problems, NOTHING_STORED])
    stored: list[TrainingExample] = []
    for example in new:
        if label_of_existing(session, example.text, example.label) or any(
            s.text == example.text and s.label == example.label for s in stored
        ):
            continue
        row = TrainingExample(
            text=example.text,
            label=example.label,
            new_label=example.label in declared,
            source="editor",
            created_by=by[:120],
        )
        session.add(row)
        stored.append(row)
    session.flush()
    return stored


# --------------------------------------------------------------------------------------------- FAQ answers


@dataclass(frozen=True)
class FaqEdit:
    topic: str
    title: str
    summary: str
    parts: list[str]
    followups: list[str]
    source: str
    source_url: str | None
    as_of: date


def faq_overrides(session: Session) -> list[FaqOverride]:
    return list(session.scalars(select(FaqOverride).order_by(FaqOverride.topic)))


def _override_entry(edit: FaqEdit | FaqOverride) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "title": edit.title,
        "summary": edit.summary,
        "parts": list(edit.parts),
        "source": edit.source,
        "as_of": edit.as_of.isoformat(),
    }
    if edit.followups:
        entry["followups"] = list(edit.followups)
    if edit.source_url:
        entry["source_url"] = edit.source_url
    return entry


def knowledge_with_overrides(session: Session) -> dict[str, FaqAnswer]:
    """bot/knowledge/faq.yml with the database's answers on top, validated like the file itself."""
    return merge_overrides(
        load_knowledge_base(), [_override_entry(o) | {"topic": o.topic} for o in faq_overrides(session)]
    )


def merge_overrides(base: dict[str, FaqAnswer], overrides: Iterable[dict[str, Any]]) -> dict[str, FaqAnswer]:
    document: dict[str, Any] = {topic: _entry_dict(entry) for topic, entry in base.items()}
    for override in overrides:
        fields = dict(override)
        document[fields.pop("topic")] = fields
    try:
        return parse_knowledge_base(yaml.safe_dump(document, allow_unicode=True), origin="database")
    except KnowledgeBaseError as error:
        raise TrainingDataError([f"Jawaban FAQ tidak valid: {error}"]) from error


def _entry_dict(entry: FaqAnswer) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": entry.title,
        "summary": entry.summary,
        "parts": list(entry.parts),
        "source": entry.source,
        "as_of": entry.as_of.isoformat(),
    }
    if entry.followups:
        fields["followups"] = list(entry.followups)
    if entry.source_url:
        fields["source_url"] = entry.source_url
    if entry.note:
        fields["note"] = entry.note
    if entry.menu:
        fields["menu"] = True
    return fields


def knowledge_document(session: Session) -> dict[str, dict[str, Any]]:
    """The merged knowledge base as plain fields per topic (what the action server fetches)."""
    return {topic: _entry_dict(entry) for topic, entry in knowledge_with_overrides(session).items()}


def save_faq_answer(session: Session, edit: FaqEdit, by: str) -> tuple[FaqOverride, bool]:
    """Stores an FAQ answer; returns (row, needs_retraining). A text edit of a topic the model already
    knows goes live at once (the action server reads the database); a new topic needs examples and a
    training first."""
    topic = edit.topic.strip().lower()
    clean_label(f"{RETRIEVAL_INTENT}/{topic}")
    current = {o.topic: _override_entry(o) | {"topic": o.topic} for o in faq_overrides(session)}
    current[topic] = _override_entry(edit) | {"topic": topic}
    merge_overrides(load_knowledge_base(), current.values())  # raises before anything is stored
    row = session.get(FaqOverride, topic) or FaqOverride(topic=topic)
    row.title, row.summary, row.parts = edit.title.strip(), edit.summary.strip(), list(edit.parts)
    row.followups, row.source, row.source_url = list(edit.followups), edit.source.strip(), edit.source_url
    row.as_of, row.updated_by = edit.as_of, by[:120]
    session.add(row)
    session.flush()
    return row, topic not in catalog().faq_topics


# --------------------------------------------------------------------------------------------- merging


@dataclass(frozen=True)
class MergedData:
    data_dir: Path
    domain: Path
    data_hash: str
    report: Report
    example_count: int


def _nlu_yaml(groups: dict[str, list[str]], header: str = "") -> str:
    lines = [header + 'version: "3.1"', "", "nlu:"] if groups else [header + 'version: "3.1"', "nlu: []"]
    for label in sorted(groups):
        lines += [f"- intent: {label}", "  examples: |"]
        lines += [f"    - {text}" for text in groups[label]]
    return "\n".join(lines) + "\n"


def _without(path: Path, held_out: set[tuple[str, str]]) -> None:
    """Rewrites one NLU file without the held-out examples (entities, regexes, lookups stay)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("nlu"), list):
        return
    changed = False
    for item in document["nlu"]:
        if isinstance(item, dict) and isinstance(item.get("intent"), str):
            kept = [
                t
                for t in _examples_of(item.get("examples"))
                if (normalise(t), item["intent"]) not in held_out
            ]
            if len(kept) != len(_examples_of(item.get("examples"))):
                item["examples"] = "".join(f"- {t}\n" for t in kept)
                changed = True
    if changed:
        path.write_text(_dump_rasa(document), encoding="utf-8")


class _Literal(str):
    pass


class _RasaDumper(yaml.SafeDumper):
    """Examples as `|` blocks, the way Rasa's own files write them."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


_RasaDumper.add_representer(_Literal, _literal)


def _dump_rasa(document: dict[str, Any]) -> str:
    dumper = _RasaDumper
    for item in document.get("nlu") or []:
        if isinstance(item, dict) and isinstance(item.get("examples"), str):
            item["examples"] = _Literal(item["examples"])
    return yaml.dump(document, Dumper=dumper, allow_unicode=True, sort_keys=False, width=10_000)


def merge(session: Session, out_dir: Path, held_out: Sequence[tuple[str, str]] = ()) -> MergedData:
    """Writes `out_dir/data` (nlu_data + database examples, minus `held_out`) and `out_dir/domain.yml`."""
    data_dir = out_dir / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(NLU_DATA, data_dir, ignore=shutil.ignore_patterns("__pycache__"))
    held = {(normalise(text), label) for text, label in held_out}
    if held:
        for path in _yaml_files(data_dir / "nlu"):
            _without(path, held)
    rows = db_examples(session)
    groups: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        groups[row.label].append(row.text)
    (data_dir / ADMIN_FILE).write_text(_nlu_yaml(groups), encoding="utf-8")
    known = catalog()
    new_labels = {row.label for row in rows if row.new_label}
    _write_domain(out_dir / "domain.yml", {label for label in new_labels if "/" not in label})
    _write_new_faq_responses(session, data_dir, known)
    report = check(project_examples(data_dir), known, new_labels)
    return MergedData(
        data_dir,
        out_dir / "domain.yml",
        tree_hash([out_dir / "domain.yml", data_dir]),
        report,
        len(project_examples(data_dir)),
    )


def _write_domain(target: Path, new_intents: set[str]) -> None:
    text = DOMAIN.read_text(encoding="utf-8")
    if new_intents:
        document = yaml.safe_load(text)
        document["intents"] = list(document.get("intents") or []) + sorted(new_intents)
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=10_000)
    target.write_text(text, encoding="utf-8")


def _write_new_faq_responses(session: Session, data_dir: Path, known: Catalog) -> None:
    """A new FAQ topic needs its ResponseSelector label (utter_faq/<topic>) to train."""
    new = [o for o in faq_overrides(session) if o.topic not in known.faq_topics]
    if new:
        responses = {f"utter_faq/{o.topic}": [{"text": o.summary}] for o in new}
        (data_dir / "faq_responses_admin.yml").write_text(
            yaml.safe_dump({"version": "3.1", "responses": responses}, allow_unicode=True, width=10_000),
            encoding="utf-8",
        )


def tree_hash(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def rasa_validate(merged: MergedData, config: Path) -> list[str]:
    """`rasa data validate` on the merged data; the problems it reports (empty when it passed)."""
    lock = Path(os.environ.get("LAYANAN_CACHE", Path.home() / ".cache" / "layanan-aduan")) / "train.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    command = [  # a Rasa process: low priority and one at a time on this machine, like a training
        "flock",
        str(lock),
        "nice",
        "-n",
        "10",
        str(PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"),
        "data",
        "validate",
        "--domain",
        str(merged.domain),
        "--data",
        str(merged.data_dir),
        "--config",
        str(config),
    ]
    env = rasa_environment()
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=VALIDATE_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode == 0:
        return []
    lines = [line.strip() for line in (result.stdout + "\n" + result.stderr).splitlines()]
    wanted = [
        line
        for line in lines
        if "UserWarning" not in line and ("error" in line.lower() or "conflict" in line.lower())
    ]
    summary = " | ".join(wanted[-5:]) or next((line for line in reversed(lines) if line), "tanpa pesan")
    return [f"rasa data validate gagal: {summary}"]


def export_patch(session: Session) -> str:
    """The database's examples as `nlu_data/nlu/admin_examples.yml`, ready to commit."""
    groups: dict[str, list[str]] = defaultdict(list)
    for row in db_examples(session):
        groups[row.label].append(row.text)
    header = (
        "# Examples added in the dashboard (NLU inbox and editor), exported by `bot nlu export`.\n"
        "# Save as nlu_data/nlu/admin_examples.yml and commit; then they can be removed from the database.\n"
    )
    patch = _nlu_yaml(groups, header)
    known = catalog()
    new_faq = [o for o in faq_overrides(session) if o.topic not in known.faq_topics]
    if new_faq:
        responses = {f"utter_faq/{o.topic}": [{"text": o.summary}] for o in new_faq}
        patch += "\n" + yaml.safe_dump({"responses": responses}, allow_unicode=True, width=10_000)
    return patch
