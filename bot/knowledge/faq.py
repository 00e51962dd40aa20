"""Load, validate and render the FAQ knowledge base (bot/knowledge/faq.yml).

Each topic carries its answer in short parts, the regulation or official page it comes from and the date
of that fact, because requirements and tariffs change (paspor tariffs in 2024, OSS rules in 2025) and a
citizen must be able to judge how fresh an answer is. The file is edited by admins, so every entry is
validated on load and a bad entry fails loudly with its topic and field named.

Runs in the Rasa action server (Python 3.10) and in the bot service (Python 3.11): PyYAML only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import yaml

DEFAULT_PATH: Final = Path(__file__).with_name("faq.yml")

# WhatsApp reply-button titles are cut at 20 characters; keep every title usable as a button.
MAX_TITLE_CHARS: Final = 20
# One part is one chat bubble: short enough to read on a small screen without scrolling much.
MAX_PART_CHARS: Final = 600
MAX_PARTS: Final = 4
MAX_FOLLOWUPS: Final = 3
# A menu lists many topics; Telegram shows them all, other channels may need to page them.
MAX_MENU_ITEMS: Final = 16
# Telegram's callback_data is limited to 64 bytes, and button payloads travel as callback_data.
MAX_PAYLOAD_BYTES: Final = 64
# A WhatsApp interactive (button) message body holds at most 1024 characters, and the last message of an
# answer carries the buttons together with the source line.
MAX_BUTTON_MESSAGE_CHARS: Final = 1024

MAIN_MENU_BUTTON: Final = {"title": "Menu utama", "payload": "/greet"}

MONTHS_ID: Final = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)

# Topic names become Rasa retrieval keys (faq/<topic>) and button payloads, so keep them plain.
_TOPIC_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED_FIELDS: Final = ("title", "summary", "parts", "source", "as_of")
_OPTIONAL_FIELDS: Final = ("source_url", "followups", "note", "menu")


class KnowledgeBaseError(ValueError):
    """A malformed knowledge-base file or entry; the message names the file, topic and field."""


@dataclass(frozen=True)
class FaqAnswer:
    topic: str
    title: str
    summary: str
    parts: tuple[str, ...]
    source: str
    as_of: date
    followups: tuple[str, ...] = ()
    source_url: str | None = None
    note: str | None = None
    # A menu is reached only by button: it lists topics and is not a retrieval topic of the NLU.
    menu: bool = False


def topic_payload(topic: str) -> str:
    """The button payload that asks the bot for one topic (Rasa's intent-with-entities shorthand)."""
    return '/faq{"faq_topic":"' + topic + '"}'


def format_date_id(value: date) -> str:
    """1 November 2026: the way an Indonesian reader writes a date."""
    return f"{value.day} {MONTHS_ID[value.month - 1]} {value.year}"


def source_line(entry: FaqAnswer) -> str:
    return f"Sumber: {entry.source} (per {format_date_id(entry.as_of)})"


# --------------------------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate keys: plain YAML would silently keep the last topic."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable) and key in seen:
            raise KnowledgeBaseError(f"line {key_node.start_mark.line + 1}: duplicate key '{key}'")
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


def load_knowledge_base(path: Path | None = None) -> dict[str, FaqAnswer]:
    """Load and validate the knowledge base; re-read only when the file changes (mtime or size)."""
    resolved = (path or DEFAULT_PATH).resolve()
    stat = resolved.stat()
    # A copy, so a caller that edits its dict cannot change what the next caller gets.
    return dict(_load_cached(str(resolved), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> Mapping[str, FaqAnswer]:
    del mtime_ns, size  # part of the cache key only
    return parse_knowledge_base(Path(path).read_text(encoding="utf-8"), origin=path)


def parse_knowledge_base(text: str, origin: str = "<string>") -> dict[str, FaqAnswer]:
    """Parse and validate knowledge-base YAML (also usable to check an admin's edit before saving it)."""
    try:
        # _UniqueKeyLoader is a SafeLoader: no arbitrary Python objects.
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except KnowledgeBaseError as exc:
        raise KnowledgeBaseError(f"{origin}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{origin}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not raw:
        raise KnowledgeBaseError(f"{origin}: expected a mapping of topic name to entry")

    entries: dict[str, FaqAnswer] = {}
    for topic, fields in raw.items():
        entries[str(topic)] = _parse_entry(topic, fields, origin)
    for entry in entries.values():
        _check_followups(entry, entries, origin)
        _check_rendered_size(entry, entries, origin)
    return entries


def _fail(origin: str, topic: object, field: str | None, problem: str) -> KnowledgeBaseError:
    where = f"topic '{topic}'" + (f", field '{field}'" if field else "")
    return KnowledgeBaseError(f"{origin}: {where}: {problem}")


def _parse_entry(topic: object, fields: object, origin: str) -> FaqAnswer:
    if not isinstance(topic, str) or not _TOPIC_PATTERN.match(topic):
        raise _fail(origin, topic, None, "topic names use lower-case letters, digits and '_' only")
    if len(topic_payload(topic).encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise _fail(origin, topic, None, f"name too long for a {MAX_PAYLOAD_BYTES}-byte button payload")
    if not isinstance(fields, dict):
        raise _fail(origin, topic, None, "entry must be a mapping of fields")
    unknown = sorted(set(map(str, fields)) - set(_REQUIRED_FIELDS) - set(_OPTIONAL_FIELDS))
    if unknown:
        raise _fail(origin, topic, unknown[0], "unknown field (a typo?)")
    for name in _REQUIRED_FIELDS:
        if name not in fields:
            raise _fail(origin, topic, name, "missing")

    menu = fields.get("menu", False)
    if not isinstance(menu, bool):
        raise _fail(origin, topic, "menu", "must be true or false")

    title = _text(fields["title"], origin, topic, "title")
    if len(title) > MAX_TITLE_CHARS:
        raise _fail(origin, topic, "title", f"{len(title)} characters; at most {MAX_TITLE_CHARS}")

    parts_raw = fields["parts"]
    if not isinstance(parts_raw, list) or not 1 <= len(parts_raw) <= MAX_PARTS:
        raise _fail(origin, topic, "parts", f"must be a list of 1 to {MAX_PARTS} messages")
    parts = tuple(_text(part, origin, topic, "parts") for part in parts_raw)
    for part in parts:
        if len(part) > MAX_PART_CHARS:
            problem = f"a part has {len(part)} characters; at most {MAX_PART_CHARS}"
            raise _fail(origin, topic, "parts", problem)

    source_url = fields.get("source_url")
    if source_url is not None:
        source_url = _text(source_url, origin, topic, "source_url")
        if not source_url.startswith(("https://", "http://")) or any(ch.isspace() for ch in source_url):
            raise _fail(origin, topic, "source_url", "must be an http(s) address without spaces")

    note = fields.get("note")
    if note is not None:
        note = _text(note, origin, topic, "note")

    return FaqAnswer(
        topic=topic,
        title=title,
        summary=_text(fields["summary"], origin, topic, "summary"),
        parts=parts,
        source=_text(fields["source"], origin, topic, "source"),
        as_of=_as_of(fields["as_of"], origin, topic),
        followups=_followup_names(fields.get("followups"), origin, topic, menu),
        source_url=source_url,
        note=note,
        menu=menu,
    )


def _text(value: object, origin: str, topic: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(origin, topic, field, "must be non-empty text")
    return value.strip()


def _as_of(value: object, origin: str, topic: str) -> date:
    # YAML already turns 2026-11-01 into a date; a quoted string is accepted too. A timestamp is not:
    # the date of a fact has no time of day.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(origin, topic, "as_of", f"must be an ISO date such as 2026-11-01, got {value!r}")


def _followup_names(value: object, origin: str, topic: str, menu: bool) -> tuple[str, ...]:
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise _fail(origin, topic, "followups", "must be a list of topic names")
    limit = MAX_MENU_ITEMS if menu else MAX_FOLLOWUPS
    if len(value) > limit:
        raise _fail(origin, topic, "followups", f"{len(value)} topics; at most {limit}")
    if menu and not value:
        raise _fail(origin, topic, "followups", "a menu needs at least one topic")
    if len(set(value)) != len(value):
        raise _fail(origin, topic, "followups", "lists a topic twice")
    if topic in value:
        raise _fail(origin, topic, "followups", "refers to the topic itself")
    return tuple(value)


def _check_followups(entry: FaqAnswer, entries: Mapping[str, FaqAnswer], origin: str) -> None:
    missing = [name for name in entry.followups if name not in entries]
    if missing:
        raise _fail(origin, entry.topic, "followups", f"unknown topic '{missing[0]}'")


def _check_rendered_size(entry: FaqAnswer, entries: Mapping[str, FaqAnswer], origin: str) -> None:
    closing = render_answer(entry.topic, entries)[-1]["text"]
    if len(closing) > MAX_BUTTON_MESSAGE_CHARS:
        raise _fail(
            origin,
            entry.topic,
            "parts",
            f"the last part with note and source has {len(closing)} characters; "
            f"at most {MAX_BUTTON_MESSAGE_CHARS}",
        )


# --------------------------------------------------------------------------------------------- rendering


def render_answer(topic: str, kb: Mapping[str, FaqAnswer] | None = None) -> list[dict[str, Any]]:
    """Rasa-style messages for a topic: one per part; the last carries source, note and buttons."""
    knowledge = _knowledge(kb)
    if topic not in knowledge:
        raise KeyError(f"unknown FAQ topic '{topic}'")
    entry = knowledge[topic]
    messages: list[dict[str, Any]] = [{"text": part} for part in entry.parts]
    messages[-1] = {"text": _closing_text(entry), "buttons": _buttons(entry, knowledge)}
    return messages


def _closing_text(entry: FaqAnswer) -> str:
    if entry.menu:
        return entry.parts[-1]
    footer = [f"Catatan: {entry.note}"] if entry.note else []
    footer.append(source_line(entry))
    if entry.source_url:
        footer.append(entry.source_url)
    return entry.parts[-1] + "\n\n" + "\n".join(footer)


def _buttons(entry: FaqAnswer, knowledge: Mapping[str, FaqAnswer]) -> list[dict[str, str]]:
    buttons = [{"title": knowledge[name].title, "payload": topic_payload(name)} for name in entry.followups]
    buttons.append(dict(MAIN_MENU_BUTTON))
    return buttons


# --------------------------------------------------------------------------------------------- helpers


def _knowledge(kb: Mapping[str, FaqAnswer] | None) -> Mapping[str, FaqAnswer]:
    return load_knowledge_base() if kb is None else kb


def topic_titles(kb: Mapping[str, FaqAnswer] | None = None) -> dict[str, str]:
    """Topic name to its short Indonesian title (button labels, dashboard lists)."""
    return {topic: entry.title for topic, entry in _knowledge(kb).items()}


def retrieval_topics(kb: Mapping[str, FaqAnswer] | None = None) -> list[str]:
    """The topics the NLU retrieves (faq/<topic>), in file order; menus are reached by button only."""
    return [topic for topic, entry in _knowledge(kb).items() if not entry.menu]


# --------------------------------------------------------------------------------------------- Rasa labels

RESPONSES_HEADER: Final = (
    "# ResponseSelector labels of the retrieval intent faq, generated from bot/knowledge/faq.yml\n"
    "# (text = the entry's summary) by:\n"
    "#   python -m bot.knowledge.faq --write-responses nlu_data/faq_responses.yml\n"
    "# The citizen reads the knowledge-base answer, with its source and date, through action_answer_faq.\n"
)


def faq_responses_yaml(kb: Mapping[str, FaqAnswer] | None = None) -> str:
    """nlu_data/faq_responses.yml: one utter_faq/<topic> per retrieval topic, so ResponseSelector trains."""
    knowledge = _knowledge(kb)
    lines = [RESPONSES_HEADER + 'version: "3.1"', "", "responses:"]
    for topic in retrieval_topics(knowledge):
        # JSON-style double quoting is valid YAML and keeps each summary on one line.
        quoted = yaml.safe_dump(
            knowledge[topic].summary, allow_unicode=True, default_style='"', width=10_000
        ).strip()
        lines += [f"  utter_faq/{topic}:", f"    - text: {quoted}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Validate the FAQ knowledge base.")
    parser.add_argument("--path", type=Path, default=None, help="knowledge-base file (default: faq.yml)")
    parser.add_argument("--write-responses", type=Path, metavar="FILE", help="write the Rasa responses file")
    args = parser.parse_args(argv)
    knowledge = load_knowledge_base(args.path)
    if args.write_responses:
        args.write_responses.write_text(faq_responses_yaml(knowledge), encoding="utf-8")
    print(f"{len(knowledge)} topics OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
