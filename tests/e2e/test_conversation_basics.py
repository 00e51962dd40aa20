"""The foundation's promises, checked through POST /api/v1/chat against the trained model."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import Stack


def texts(messages: list[dict[str, object]]) -> str:
    return "\n".join(str(message.get("text", "")) for message in messages)


def button_titles(messages: list[dict[str, object]]) -> list[str]:
    return [
        str(button["title"])  # type: ignore[index]
        for message in messages
        for button in message.get("buttons", []) or []  # type: ignore[union-attr]
    ]


def new_sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def test_ktp_requirements_answered_with_source(stack: Stack) -> None:
    messages = stack.chat(new_sender(), "syarat bikin ktp el apa aja")
    answer = texts(messages)
    assert "KK" in answer or "Kartu Keluarga" in answer
    assert "17" in answer
    assert "Sumber:" in str(messages[-1]["text"])
    assert "per " in str(messages[-1]["text"])


def test_informal_greeting_offers_the_main_choices(stack: Stack) -> None:
    messages = stack.chat(new_sender(), "halo min")
    titles = button_titles(messages)
    for title in ("Tanya layanan", "Buat pengaduan", "Cek status", "Bicara dengan petugas"):
        assert title in titles


def test_bot_challenge_is_answered_honestly(stack: Stack) -> None:
    answer = texts(stack.chat(new_sender(), "kamu robot?"))
    assert "bot" in answer.lower()
    assert "bukan manusia" in answer.lower()


def test_service_menu_button_lists_services(stack: Stack) -> None:
    messages = stack.chat(new_sender(), '/faq{"faq_topic":"daftar_layanan"}')
    assert len(button_titles(messages)) >= 5


def test_faq_follow_up_button_answers_that_topic(stack: Stack) -> None:
    messages = stack.chat(new_sender(), '/faq{"faq_topic":"sim"}')
    assert "SIM" in texts(messages)
    assert "Sumber:" in str(messages[-1]["text"])


def test_slang_question_about_skck(stack: Stack) -> None:
    answer = texts(stack.chat(new_sender(), "gmn cara bikin skck, sy blm prnh bikin"))
    assert "SKCK" in answer


def test_out_of_scope_is_declined_politely(stack: Stack) -> None:
    answer = texts(stack.chat(new_sender(), "siapa juara piala dunia 2022?"))
    assert "di luar layanan" in answer


def test_duplicate_message_id_is_answered_once(stack: Stack) -> None:
    sender = new_sender()
    first = stack.chat(sender, "halo", message_id="m-1")
    second = stack.chat(sender, "halo", message_id="m-1")
    assert first == second
