"""Pure rendering for Telegram: the 4,096-unit split, keyboard shapes, request keyboards."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.gateway.gateway import OutboundMessage
from bot.gateway.rasa_client import Button
from connectors.telegram_render import (
    MAX_TEXT_UNITS,
    REQUEST_PROMPTS,
    inline_keyboard,
    keyboard_rows,
    render,
    requested_input,
    split_text,
)
from connectors.text_split import utf16_units as text_units


def test_short_text_is_one_piece() -> None:
    assert split_text("  Halo, Bapak/Ibu.  ") == ["Halo, Bapak/Ibu."]
    assert split_text("") == [] and split_text(" \n ") == []


def test_exactly_the_limit_is_one_piece() -> None:
    text = "a" * MAX_TEXT_UNITS
    assert split_text(text) == [text]


def test_splits_on_paragraphs_first() -> None:
    paragraphs = [f"Paragraf {i}. " + "kata " * 300 for i in range(6)]  # ~1,500 characters each
    text = "\n\n".join(p.strip() for p in paragraphs)
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(text_units(piece) <= MAX_TEXT_UNITS for piece in pieces)
    # Every cut is at a paragraph boundary: each piece starts a paragraph and nothing is lost.
    assert all(piece.startswith("Paragraf") for piece in pieces)
    assert "\n\n".join(pieces) == text


def test_long_paragraph_splits_on_sentences() -> None:
    sentences = [
        f"Kalimat nomor {i} menjelaskan persyaratan layanan dengan cukup panjang." for i in range(120)
    ]
    text = " ".join(sentences)
    pieces = split_text(text)
    assert len(pieces) >= 2
    assert all(text_units(piece) <= MAX_TEXT_UNITS for piece in pieces)
    assert all(piece.endswith(".") for piece in pieces)
    assert " ".join(pieces) == text


def test_long_sentence_splits_on_words_and_a_huge_word_is_cut() -> None:
    words = " ".join(["persyaratan"] * 800)  # one sentence, no full stop
    pieces = split_text(words)
    assert all(text_units(p) <= MAX_TEXT_UNITS for p in pieces)
    assert all(
        not p.startswith(" ") and not p.endswith(" ") and "persyaratanpersyaratan" not in p for p in pieces
    )
    assert " ".join(pieces) == words
    link = "https://example.go.id/" + "x" * 9000
    cut = split_text(link)
    assert [text_units(p) for p in cut] == [4096, 4096, len(link) - 8192]
    assert "".join(cut) == link


def test_emoji_count_twice() -> None:
    text = "👍" * 3000  # 6,000 UTF-16 units although 3,000 characters
    pieces = split_text(text)
    assert [text_units(p) for p in pieces] == [4096, 6000 - 4096]
    assert "".join(pieces) == text


@pytest.mark.parametrize(
    ("titles", "rows"),
    [
        (["Ya", "Tidak"], [[0, 1]]),
        (["Hari ini", "Kemarin", "Tidak ingat"], [[0, 1, 2]]),
        (["Lewati", "Bicara dengan petugas", "Batalkan pengaduan"], [[0, 1], [2]]),
        (["Tanya layanan", "Buat pengaduan", "Cek status", "Bicara dengan petugas"], [[0, 1], [2, 3]]),
        (["Infrastruktur (jalan, jembatan, lampu)", "Lainnya"], [[0], [1]]),
        ([], []),
    ],
)
def test_keyboard_shape(titles: list[str], rows: list[list[int]]) -> None:
    assert keyboard_rows(titles) == rows


def test_inline_keyboard_refuses_callback_data_over_64_bytes() -> None:
    keyboard = inline_keyboard([("Ya", "p:" + "a" * 62)])
    assert keyboard.inline_keyboard[0][0].callback_data == "p:" + "a" * 62
    with pytest.raises(ValueError, match="64"):
        inline_keyboard([("Ya", "é" * 33)])  # 33 characters, 66 bytes


def message(text: str, buttons: tuple[Button, ...] = (), custom: object = None) -> OutboundMessage:
    return OutboundMessage(id=1, text=text, buttons=buttons, custom=custom)


def test_keyboard_goes_on_the_last_piece() -> None:
    long_text = "\n\n".join(["kata " * 700] * 3)
    buttons = (Button("Ya", "/affirm"), Button("Tidak", "/deny"))
    parts = render(message(long_text, buttons), ["p:1", "p:2"])
    assert len(parts) == 3
    assert [p.reply_markup for p in parts[:-1]] == [None, None]
    markup = parts[-1].reply_markup
    assert isinstance(markup, InlineKeyboardMarkup)
    assert [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] == [
        [("Ya", "p:1"), ("Tidak", "p:2")]
    ]


def test_location_request_replaces_a_lone_skip_button() -> None:
    ask = message("Di mana lokasinya?", (Button("Lewati", "lewati"),), custom={"request": "location"})
    [part] = render(ask, ["p:skip"])
    assert part.text == "Di mana lokasinya?"
    markup = part.reply_markup
    assert isinstance(markup, ReplyKeyboardMarkup)
    share, skip = markup.keyboard
    assert share[0].request_location is True and not share[0].request_contact
    assert skip[0].text == "Lewati"
    assert markup.one_time_keyboard and markup.resize_keyboard


def test_contact_request_keeps_other_buttons_in_their_own_message() -> None:
    ask = message(
        "Nomor HP?",
        (Button("Lewati", "lewati"), Button("Bicara dengan petugas", "/request_human")),
        custom={"request": "contact"},
    )
    first, second = render(ask, ["p:skip", "p:human"])
    assert isinstance(first.reply_markup, InlineKeyboardMarkup)
    assert [b.text for row in first.reply_markup.inline_keyboard for b in row] == ["Bicara dengan petugas"]
    assert second.text == REQUEST_PROMPTS["contact"]
    assert isinstance(second.reply_markup, ReplyKeyboardMarkup)
    assert second.reply_markup.keyboard[0][0].request_contact is True


def test_custom_only_request_gets_a_prompt() -> None:
    # Rasa's REST channel sends a response's `custom` as a message of its own, without text.
    [part] = render(message("", custom={"request": "location"}), [])
    assert part.text == REQUEST_PROMPTS["location"]
    assert isinstance(part.reply_markup, ReplyKeyboardMarkup)


def test_nothing_to_send_and_closing_the_request_keyboard() -> None:
    assert render(message("", custom={"other": 1}), []) == []
    [part] = render(message("Terima kasih."), [], close_reply_keyboard=True)
    assert isinstance(part.reply_markup, ReplyKeyboardRemove)
    [with_buttons] = render(message("Pilih:", (Button("Ya", "ya"),)), ["p:y"], close_reply_keyboard=True)
    assert isinstance(with_buttons.reply_markup, InlineKeyboardMarkup)


@pytest.mark.parametrize(
    ("custom", "kind"),
    [
        ({"request": "location"}, "location"),
        ({"request": "contact"}, "contact"),
        ({"request": "photo"}, None),
        ("location", None),
        (None, None),
        ([{"request": "location"}], None),
    ],
)
def test_requested_input(custom: object, kind: str | None) -> None:
    assert requested_input(custom) == kind
