"""Pure rendering of bot messages for Telegram: text splitting, inline keyboards, request keyboards.

No I/O here: `connectors/telegram.py` resolves callback ids and calls the Bot API.

Telegram's limits (Bot API): a message text holds at most 4,096 characters, counted in UTF-16 code units
(an emoji counts twice); `callback_data` holds at most 64 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.gateway.gateway import OutboundMessage
from connectors import text_split

MAX_TEXT_UNITS = 4096
MAX_CALLBACK_BYTES = 64
# Titles up to this length sit three to a row, up to WIDE_TITLE two to a row, longer ones alone:
# phones are narrow and Telegram truncates a button title that does not fit.
NARROW_TITLE = 12
WIDE_TITLE = 24

RequestKind = Literal["location", "contact"]
SKIP_TITLE = "Lewati"
SKIP_PAYLOAD = (
    "lewati"  # what the complaint form takes as skipping a question (actions/complaint_messages.py)
)
REQUEST_BUTTON_TITLES: dict[str, str] = {
    "location": "📍 Bagikan lokasi",
    "contact": "📱 Bagikan nomor HP",
}
# Said when the bot's message asking for a location or contact arrives without text of its own.
REQUEST_PROMPTS: dict[str, str] = {
    "location": 'Untuk membagikan lokasi, tekan tombol "📍 Bagikan lokasi" di bawah, atau pilih "Lewati".',
    "contact": 'Untuk membagikan nomor HP Anda, tekan tombol "📱 Bagikan nomor HP" di bawah, atau pilih "Lewati".',
}
ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True)
class TelegramPart:
    """One sendMessage call."""

    text: str
    reply_markup: ReplyMarkup | None = None


def split_text(text: str, limit: int = MAX_TEXT_UNITS) -> list[str]:
    """Pieces of one sendMessage text each (connectors/text_split.py)."""
    return text_split.split_text(text, limit)


def keyboard_rows(titles: Sequence[str]) -> list[list[int]]:
    """Indexes of the buttons per row, in order: three short titles, two medium ones, or one long one."""
    if not titles:
        return []
    longest = max(len(title) for title in titles)
    per_row = 3 if longest <= NARROW_TITLE else 2 if longest <= WIDE_TITLE else 1
    indexes = list(range(len(titles)))
    return [indexes[start : start + per_row] for start in range(0, len(indexes), per_row)]


def inline_keyboard(buttons: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """(title, callback_data) pairs as an inline keyboard; each callback_data must fit in 64 bytes."""
    for _, data in buttons:
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback_data of {len(data.encode())} bytes exceeds {MAX_CALLBACK_BYTES}")
    rows = keyboard_rows([title for title, _ in buttons])
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(buttons[i][0], callback_data=buttons[i][1]) for i in row] for row in rows]
    )


def request_keyboard(kind: RequestKind) -> ReplyKeyboardMarkup:
    """The keyboard under the input field that shares the location or the phone number in one tap.

    "Lewati" beside it sends the text "Lewati", which the complaint form takes as skipping the question.
    """
    share = KeyboardButton(
        REQUEST_BUTTON_TITLES[kind],
        request_location=True if kind == "location" else None,
        request_contact=True if kind == "contact" else None,
    )
    return ReplyKeyboardMarkup(
        [[share], [KeyboardButton(SKIP_TITLE)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder="Atau ketik jawaban Anda",
    )


def requested_input(custom: Any) -> RequestKind | None:
    """What a bot message asks the citizen to share, from its custom payload `{"request": "location"}`.

    The complaint form's location and contact questions carry that payload (a Rasa response with
    `custom: {request: location}`); other channels ignore it.
    """
    if isinstance(custom, Mapping):
        request = custom.get("request")
        if request == "location":
            return "location"
        if request == "contact":
            return "contact"
    return None


def render(
    message: OutboundMessage, callback_data: Sequence[str], close_reply_keyboard: bool = False
) -> list[TelegramPart]:
    """The sendMessage calls for one bot message.

    `callback_data` holds the short id of each of `message.buttons`, in order. The keyboard goes on the last
    piece, so it stays under the text it answers. A message asking for the location or the contact also gets
    the request keyboard. An inline keyboard and a reply keyboard cannot share a message: when the only
    inline button is "Lewati", the request keyboard (which has its own "Lewati") replaces it; otherwise
    the request keyboard follows in a short message of its own. `close_reply_keyboard` removes an earlier
    request keyboard from a message that has no keyboard of its own.
    """
    if len(callback_data) != len(message.buttons):
        raise ValueError("one callback_data per button")
    request = requested_input(message.custom)
    inline = [
        (button.title, data)
        for button, data in zip(message.buttons, callback_data, strict=True)
        if not (request and button.payload.strip().lower() == SKIP_PAYLOAD)
    ]
    pieces = split_text(message.text)
    parts: list[TelegramPart] = []
    if pieces:
        markup: ReplyMarkup | None = None
        if inline:
            markup = inline_keyboard(inline)
        elif request is not None:
            markup = request_keyboard(request)
        elif close_reply_keyboard:
            markup = ReplyKeyboardRemove()
        parts = [TelegramPart(piece) for piece in pieces[:-1]]
        parts.append(TelegramPart(pieces[-1], markup))
    if request is not None and (inline or not pieces):
        parts.append(TelegramPart(REQUEST_PROMPTS[request], request_keyboard(request)))
    return parts
