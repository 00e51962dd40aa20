"""Pure rendering of bot messages for the WhatsApp Cloud API: text splitting, reply buttons, lists, menus.

No I/O here: `connectors/whatsapp.py` chooses the button ids and calls the Graph API. Each part is the body
of one `POST /{phone-number-id}/messages` call without `messaging_product`, `recipient_type` and `to`.

The Cloud API's limits: a text message holds at most 4,096 characters; the body of an interactive message
1,024; reply buttons are 1–3 with titles of at most 20 characters and ids of at most 256; a list holds at
most 10 rows with titles of at most 24 characters, descriptions of at most 72, ids of at most 200, and a
button label of at most 20. Lengths are counted in UTF-16 code units here, which is never less than the
number of characters, so an emoji cannot push a part over a limit.

How buttons are shown:
- 1–3 buttons: interactive reply buttons (titles shortened at a word boundary, kept unique);
- 4–10: an interactive list behind a "Pilih" button (a title longer than a row's goes whole into the row's
  description);
- more than 10: a numbered text menu ("Ketik angka pilihan Anda (1–12): ..."); the connector maps a
  reply that is just a number back to that option (connectors/whatsapp_menus.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.gateway.gateway import OutboundMessage
from connectors import text_split
from connectors.text_split import prefix_length
from connectors.text_split import utf16_units as units

MAX_TEXT = 4096
MAX_INTERACTIVE_BODY = 1024
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200
# A button id is the payload itself when it fits both id limits; else the connector gives a short id.
MAX_LITERAL_ID = min(MAX_BUTTON_ID, MAX_ROW_ID)

LIST_BUTTON_LABEL = "Pilih"
DEFAULT_BODY = "Silakan pilih salah satu:"
LOCATION_FOLLOW_UP = "Atau pilih salah satu:"
ELLIPSIS = "…"


@dataclass(frozen=True)
class Choice:
    """One button of a bot message as WhatsApp shows it: its title and the id its reply carries."""

    title: str
    id: str


def split_text(text: str, limit: int = MAX_TEXT, last_limit: int | None = None) -> list[str]:
    """Pieces of a text message (connectors/text_split.py), the last one at most `last_limit` units."""
    return text_split.split_text(text, limit, last_limit)


def shorten(title: str, limit: int) -> str:
    """`title` within `limit` units: whole when it fits, else cut at a word boundary with "…"."""
    title = " ".join(title.split())
    if units(title) <= limit:
        return title
    cut = title[: prefix_length(title, limit - units(ELLIPSIS))]
    space = cut.rfind(" ")
    if space >= len(cut) // 2:  # a word boundary that keeps at least half of what fits
        cut = cut[:space]
    return cut.rstrip(" ,.;:-–(/") + ELLIPSIS


def unique_titles(titles: Sequence[str], limit: int) -> list[str]:
    """Shortened titles, made distinct ("Kategori lain", "Kategori lain 2"): WhatsApp refuses repeats."""
    result: list[str] = []
    for title in titles:
        short = shorten(title, limit)
        number = 2
        while short.casefold() in (existing.casefold() for existing in result):
            suffix = f" {number}"
            short = shorten(title, limit - units(suffix)) + suffix
            number += 1
        result.append(short)
    return result


# --- messages ---


def text_part(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def image_part(link: str) -> dict[str, Any]:
    return {"type": "image", "image": {"link": link}}


def reply_buttons_part(body: str, choices: Sequence[Choice]) -> dict[str, Any]:
    titles = unique_titles([choice.title for choice in choices], MAX_BUTTON_TITLE)
    buttons = [
        {"type": "reply", "reply": {"id": choice.id, "title": title}}
        for choice, title in zip(choices, titles, strict=True)
    ]
    return {
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}},
    }


def list_part(body: str, choices: Sequence[Choice]) -> dict[str, Any]:
    titles = unique_titles([choice.title for choice in choices], MAX_ROW_TITLE)
    rows: list[dict[str, str]] = []
    for choice, title in zip(choices, titles, strict=True):
        row = {"id": choice.id, "title": title}
        if title != " ".join(choice.title.split()):  # shortened: the whole title goes underneath
            row["description"] = shorten(choice.title, MAX_ROW_DESCRIPTION)
        rows.append(row)
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": LIST_BUTTON_LABEL, "sections": [{"rows": rows}]},
        },
    }


def location_request_part(body: str) -> dict[str, Any]:
    """WhatsApp's "Kirim lokasi" button: one tap shares the citizen's location."""
    return {
        "type": "interactive",
        "interactive": {
            "type": "location_request_message",
            "body": {"text": body},
            "action": {"name": "send_location"},
        },
    }


def numbered_menu(titles: Sequence[str]) -> str:
    """The options of a message with more buttons than a list holds, to be answered with a number."""
    lines = [f"Ketik angka pilihan Anda (1–{len(titles)}):"]
    lines += [f"{number}. {' '.join(title.split())}" for number, title in enumerate(titles, start=1)]
    return "\n".join(lines)


def menu_payloads(message: OutboundMessage) -> list[str]:
    """The payloads of the options as shown, in order: the numbered menu's option n is the n-th."""
    return list(dict.fromkeys(button.payload for button in message.buttons if button.payload.strip()))


def distinct_choices(message: OutboundMessage, ids: Sequence[str]) -> list[Choice]:
    """The message's buttons with their ids, each payload once (WhatsApp refuses repeated ids), none blank."""
    if len(ids) != len(message.buttons):
        raise ValueError("one id per button")
    choices: dict[str, Choice] = {}
    for button, id_ in zip(message.buttons, ids, strict=True):
        if button.payload.strip() and button.payload not in choices:
            choices[button.payload] = Choice(button.title.strip() or button.payload, id_)
    return list(choices.values())


def requests_location(custom: Any) -> bool:
    """Whether the bot message asks for the citizen's location (Rasa custom payload `{"request": "location"}`)."""
    return isinstance(custom, Mapping) and custom.get("request") == "location"


def render(message: OutboundMessage, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The Cloud API messages for one bot message, in order.

    `ids` holds the reply id of each of `message.buttons`. An image comes first; long text is split, and the
    buttons (or the list, or the location request) go on the last piece, so they stay under the text they
    answer. A message with more than 10 buttons becomes text with a numbered menu at its end.
    """
    choices = distinct_choices(message, ids)
    parts: list[dict[str, Any]] = []
    if message.image:
        parts.append(image_part(message.image))
    text = message.text.strip()
    if len(choices) > MAX_LIST_ROWS:
        menu = numbered_menu([choice.title for choice in choices])
        return parts + [text_part(piece) for piece in split_text(f"{text}\n\n{menu}" if text else menu)]
    ask_location = requests_location(message.custom)
    if not choices and not ask_location:
        return parts + [text_part(piece) for piece in split_text(text)]
    pieces = split_text(text, MAX_TEXT, MAX_INTERACTIVE_BODY) or [DEFAULT_BODY]
    parts += [text_part(piece) for piece in pieces[:-1]]
    if ask_location:
        parts.append(location_request_part(pieces[-1]))
        if choices:
            parts.append(_choices_part(LOCATION_FOLLOW_UP, choices))
    else:
        parts.append(_choices_part(pieces[-1], choices))
    return parts


def _choices_part(body: str, choices: Sequence[Choice]) -> dict[str, Any]:
    if len(choices) <= MAX_REPLY_BUTTONS:
        return reply_buttons_part(body, choices)
    return list_part(body, choices)
