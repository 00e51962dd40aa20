"""Rendering to the Cloud API's limits: buttons / list / numbered-menu thresholds, title lengths, splitting."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from bot.gateway.gateway import OutboundMessage
from bot.gateway.rasa_client import Button
from connectors.whatsapp_render import (
    DEFAULT_BODY,
    LIST_BUTTON_LABEL,
    MAX_INTERACTIVE_BODY,
    MAX_TEXT,
    menu_payloads,
    render,
    shorten,
    split_text,
    unique_titles,
    units,
)
from tests.connectors.whatsapp.fake_graph_api import limit_violation

CATEGORY_LABELS = [
    "Kependudukan",
    "Infrastruktur",
    "Lingkungan",
    "Perhubungan",
    "Ketertiban Umum",
    "Kesehatan",
    "Pendidikan",
    "Sosial",
    "Utilitas (air, listrik)",
    "Perizinan",
    "Aparatur",
    "Lainnya",
]


def message(text: str, buttons: Sequence[tuple[str, str]] = (), **extra: Any) -> OutboundMessage:
    return OutboundMessage(id=1, text=text, buttons=tuple(Button(t, p) for t, p in buttons), **extra)


def rendered(msg: OutboundMessage) -> list[dict[str, Any]]:
    parts = render(msg, [button.payload for button in msg.buttons])
    for part in parts:  # whatever we render, the real API's limits hold (the fake checks them as it does)
        assert limit_violation(part) is None, (limit_violation(part), part)
    return parts


def buttons(count: int, title: str = "Pilihan {n}") -> list[tuple[str, str]]:
    return [(title.format(n=n), f'/pilih{{"n":{n}}}') for n in range(1, count + 1)]


@pytest.mark.parametrize("count", [1, 2, 3])
def test_one_to_three_buttons_are_reply_buttons(count: int) -> None:
    (part,) = rendered(message("Ada lagi yang bisa kami bantu?", buttons(count)))
    interactive = part["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"]["text"] == "Ada lagi yang bisa kami bantu?"
    assert [(b["reply"]["title"], b["reply"]["id"]) for b in interactive["action"]["buttons"]] == buttons(
        count
    )


@pytest.mark.parametrize("count", [4, 7, 10])
def test_four_to_ten_buttons_are_a_list_behind_pilih(count: int) -> None:
    (part,) = rendered(message("Silakan pilih topik:", buttons(count)))
    interactive = part["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == LIST_BUTTON_LABEL == "Pilih"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [(row["title"], row["id"]) for row in rows] == buttons(count)
    assert all("description" not in row for row in rows)


@pytest.mark.parametrize("count", [11, 12, 30])
def test_more_than_ten_buttons_are_a_numbered_text_menu(count: int) -> None:
    options = buttons(count)
    parts = rendered(message("Termasuk kategori apa pengaduan ini?", options))
    assert all(part["type"] == "text" for part in parts)
    text = "\n".join(part["text"]["body"] for part in parts)
    assert text.startswith("Termasuk kategori apa pengaduan ini?\n\n")
    assert f"Ketik angka pilihan Anda (1–{count}):" in text
    numbered = re.findall(r"^(\d+)\. (.+)$", text, flags=re.MULTILINE)
    assert numbered == [(str(n), title) for n, (title, _) in enumerate(options, start=1)]
    # The numbers the citizen sees are the options the menu memory maps back.
    assert menu_payloads(message("x", options)) == [payload for _, payload in options]


def test_the_real_category_menu_is_numbered_with_full_labels() -> None:
    options = [(label, label.lower()) for label in CATEGORY_LABELS]
    (part,) = rendered(message("Silakan pilih kategori yang paling sesuai:", options))
    body = part["text"]["body"]
    assert "Ketik angka pilihan Anda (1–12):" in body
    assert "9. Utilitas (air, listrik)" in body and "12. Lainnya" in body


def test_long_button_titles_are_shortened_at_a_word_and_kept_unique() -> None:
    (part,) = rendered(
        message(
            "Apakah Anda ingin dihubungkan dengan petugas?",
            [
                ("Ya, hubungkan petugas", "/request_human"),
                ("Ya, hubungkan petugas sekarang", "/now"),
                ("Menu", "/greet"),
            ],
        )
    )
    titles = [b["reply"]["title"] for b in part["interactive"]["action"]["buttons"]]
    assert titles[0] == "Ya, hubungkan…"
    assert titles[1] != titles[0] and titles[1].startswith("Ya, hubungkan") and len(titles[1]) <= 20
    assert titles[2] == "Menu"


def test_a_long_row_title_is_shortened_and_whole_in_the_description() -> None:
    long_title = "Perizinan usaha dan bangunan (PBG/SLF) yang tertunda"
    options = buttons(4) + [(long_title, "perizinan")]
    (part,) = rendered(message("Pilih kategori:", options))
    row = part["interactive"]["action"]["sections"][0]["rows"][-1]
    assert units(row["title"]) <= 24 and row["title"].endswith("…")
    assert row["description"] == long_title


def test_repeated_payloads_are_shown_once_and_blank_ones_not_at_all() -> None:
    options = [
        ("Menu utama", "/greet"),
        ("Kembali", "/greet"),
        ("Kosong", " "),
        ("Petugas", "/request_human"),
    ]
    (part,) = rendered(message("Pilih:", options))
    assert [b["reply"]["id"] for b in part["interactive"]["action"]["buttons"]] == [
        "/greet",
        "/request_human",
    ]
    assert menu_payloads(message("x", options)) == ["/greet", "/request_human"]


def test_buttons_without_text_get_a_polite_body() -> None:
    (part,) = rendered(message("", buttons(2)))
    assert part["interactive"]["body"]["text"] == DEFAULT_BODY


def test_plain_text_and_empty_messages() -> None:
    assert rendered(message("Halo! Ada yang bisa kami bantu?")) == [
        {"type": "text", "text": {"body": "Halo! Ada yang bisa kami bantu?", "preview_url": False}}
    ]
    assert rendered(message("   ")) == []


def test_an_image_goes_first() -> None:
    parts = rendered(message("Ini peta lokasinya.", buttons(1), image="https://example.org/peta.png"))
    assert [part["type"] for part in parts] == ["image", "interactive"]
    assert parts[0]["image"] == {"link": "https://example.org/peta.png"}


def test_a_location_question_gets_the_send_location_button_and_its_other_buttons_after_it() -> None:
    parts = rendered(message("Di mana lokasinya?", [("Lewati", "lewati")], custom={"request": "location"}))
    assert [part["interactive"]["type"] for part in parts] == ["location_request_message", "button"]
    assert parts[0]["interactive"]["body"]["text"] == "Di mana lokasinya?"
    assert parts[1]["interactive"]["action"]["buttons"][0]["reply"]["id"] == "lewati"


def test_ids_are_the_ones_given() -> None:
    msg = message("Pilih:", buttons(2))
    (part,) = render(msg, ["p:AAAAAAAAAAAAAAAA", "/pilih2"])
    assert [b["reply"]["id"] for b in part["interactive"]["action"]["buttons"]] == [
        "p:AAAAAAAAAAAAAAAA",
        "/pilih2",
    ]
    with pytest.raises(ValueError):
        render(msg, ["only one"])


# --- text splitting ---


def paragraph(n: int, length: int = 900) -> str:
    sentence = f"Paragraf {n} menjelaskan persyaratan layanan dengan rinci. "
    return (sentence * (length // len(sentence) + 1))[:length].rstrip() + "."


def test_text_up_to_4096_characters_is_one_message() -> None:
    text = "a" * MAX_TEXT
    assert [part["text"]["body"] for part in rendered(message(text))] == [text]


def test_longer_text_is_split_on_paragraph_boundaries() -> None:
    paragraphs = [paragraph(n) for n in range(1, 12)]  # ~10,000 characters
    text = "\n\n".join(paragraphs)
    bodies = [part["text"]["body"] for part in rendered(message(text))]

    assert len(bodies) == 3
    assert all(units(body) <= MAX_TEXT for body in bodies)
    for body in bodies:  # every piece is whole paragraphs
        assert all(piece in paragraphs for piece in body.split("\n\n"))
    assert "\n\n".join(bodies) == text


def test_a_paragraph_longer_than_the_limit_is_cut_after_a_sentence() -> None:
    text = paragraph(1, 6000)
    pieces = split_text(text)
    assert len(pieces) == 2
    assert pieces[0].endswith(".") and units(pieces[0]) <= MAX_TEXT
    assert " ".join(pieces) == text


def test_one_huge_word_is_cut_hard_and_emoji_count_double() -> None:
    assert [len(piece) for piece in split_text("x" * 9000)] == [4096, 4096, 808]
    pieces = split_text("😀" * 3000)  # 6,000 UTF-16 units
    assert [units(piece) for piece in pieces] == [4096, 1904]
    assert "".join(pieces) == "😀" * 3000


def test_long_text_with_buttons_keeps_the_buttons_under_a_body_that_fits() -> None:
    paragraphs = [paragraph(n, 700) for n in range(1, 9)]  # ~5,700 characters
    text = "\n\n".join(paragraphs)
    parts = rendered(message(text, buttons(2)))

    assert [part["type"] for part in parts] == ["text", "text", "interactive"]
    body = parts[-1]["interactive"]["body"]["text"]
    assert units(body) <= MAX_INTERACTIVE_BODY
    assert body == paragraphs[-1]  # the last whole paragraph
    texts = [part["text"]["body"] for part in parts[:-1]] + [body]
    assert "\n\n".join(texts) == text


def test_shorten() -> None:
    assert shorten("Kependudukan", 20) == "Kependudukan"
    assert shorten("Bicara dengan petugas", 20) == "Bicara dengan…"
    assert shorten("Tidakadaspasinyasamasekali", 20) == "Tidakadaspasinyasam…"
    assert units(shorten("🚧🚧🚧🚧🚧🚧🚧🚧🚧🚧🚧", 20)) <= 20
    assert unique_titles(["Kategori lain", "Kategori lain", "kategori LAIN"], 20) == [
        "Kategori lain",
        "Kategori lain 2",
        "kategori LAIN 3",
    ]
