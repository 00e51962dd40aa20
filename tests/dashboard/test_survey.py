"""The SKM survey in the web chat (`POST /api/v1/chat`), answered by the gateway's survey interceptor without
Rasa: buttons, typed digits, double taps, declining, pausing, and everything else still going to Rasa."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.db import Database
from bot.survey import payloads
from bot.survey import service as survey_service
from bot.survey.models import Survey, SurveyAnswer, SurveyStatus
from bot.survey.questions import QUESTIONS, is_valid_answer, question
from bot.survey.service import AnswerOutcome
from bot.tickets.models import Ticket
from tests.dashboard.conftest import UNIT_PU, Browser
from tests.dashboard.test_notices import finish, updates
from tests.service.fake_rasa import FakeRasa

ALL_FOURS = [4] * 9
SCORES = [4, 3, 4, 4, 2, 3, 4, 1, 3]


@pytest.fixture
def invited(
    app: FastAPI,
    database: Database,
    make_ticket: Callable[..., Ticket],
    client_factory: Callable[[], Browser],
) -> tuple[Browser, dict[str, Any], int]:
    """A finished ticket of web sender warga-1: (browser, invitation message, survey id)."""
    ticket = make_ticket()
    finish(app, database, ticket.id)
    browser = client_factory()
    invitation = next(m for m in updates(browser) if "Survei Kepuasan Masyarakat" in m["text"])
    with database.session() as session:
        survey_id = session.scalars(select(Survey.id).where(Survey.ticket_id == ticket.id)).one()
    return browser, invitation, survey_id


def say(browser: Browser, text: str, sender: str = "warga-1") -> list[dict[str, Any]]:
    response = browser.chat(sender, text)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def button(message: dict[str, Any], title: str) -> str:
    return next(b["payload"] for b in message["buttons"] if b["title"] == title)


def answers(database: Database, survey_id: int) -> dict[int, int]:
    with database.session() as session:
        rows = session.scalars(select(SurveyAnswer).where(SurveyAnswer.survey_id == survey_id)).all()
        return {row.element: row.score for row in rows}


def status_of(database: Database, survey_id: int) -> str:
    with database.session() as session:
        return session.get_one(Survey, survey_id).status


def survey_turns(fake_rasa: FakeRasa) -> list[str]:
    return [str(call.get("message")) for call in fake_rasa.webhook_calls]


# --- questionnaire and payloads -----------------------------------------------------------------------


def test_nine_elements_of_permenpanrb_14_2017_with_four_labels_each() -> None:
    assert [q.element for q in QUESTIONS] == list(range(1, 10))
    assert [q.name for q in QUESTIONS][:4] == [
        "Persyaratan",
        "Sistem, mekanisme, dan prosedur",
        "Waktu penyelesaian",
        "Biaya/tarif",
    ]
    assert question(8).name == "Penanganan pengaduan, saran, dan masukan"
    assert question(9).name == "Sarana dan prasarana"
    assert question(1).labels == ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai")
    assert question(4).labels == ("Sangat mahal", "Cukup mahal", "Murah", "Gratis")
    assert all(len(set(q.labels)) == 4 for q in QUESTIONS)


def test_answer_validation() -> None:
    assert is_valid_answer(1, 4) and is_valid_answer(9, 1)
    for element, score in [(0, 3), (10, 3), (1, 0), (1, 5), (True, 3), (1, True), ("1", 3), (1, 2.0)]:
        assert not is_valid_answer(element, score)


def test_payloads_are_short_and_parse_back() -> None:
    longest = payloads.answer_payload(99_999_999, 9, 4)
    assert len(longest.encode()) < 64
    parsed = payloads.parse(longest)
    assert parsed == payloads.SurveyPayload(payloads.SurveyCommand.ANSWER, 99_999_999, 9, 4)
    assert payloads.parse(payloads.start_payload(7)) == payloads.SurveyPayload(
        payloads.SurveyCommand.START, 7
    )
    for bad in [
        '/skm_jawab{"survey":1}',
        "/skm_jawab{oops",
        '/skm_lain{"survey":1}',
        '/skm_mulai{"survey":"1"}',
    ]:
        assert payloads.parse(bad) is None


# --- the survey through the web chat -----------------------------------------------------------------


def test_whole_survey_by_buttons_never_reaches_rasa(
    invited: tuple[Browser, dict[str, Any], int], database: Database, fake_rasa: FakeRasa
) -> None:
    browser, invitation, survey_id = invited
    [reply] = say(browser, button(invitation, "Isi survei"))
    assert status_of(database, survey_id) == SurveyStatus.IN_PROGRESS.value
    for element, score in enumerate(SCORES, start=1):
        assert reply["text"].startswith(f"Pertanyaan {element} dari 9")
        assert question(element).text in reply["text"]
        assert [b["title"] for b in reply["buttons"]] == list(question(element).labels)
        replies = say(browser, button(reply, question(element).label(score)))
        assert len(replies) == 1
        reply = replies[0]
    assert reply["text"].startswith("Terima kasih, survei sudah selesai.")
    assert "buttons" not in reply
    assert answers(database, survey_id) == dict(enumerate(SCORES, start=1))
    with database.session() as session:
        survey = session.get_one(Survey, survey_id)
        assert survey.status == SurveyStatus.COMPLETED.value and survey.completed_at is not None
        assert survey.unit == UNIT_PU
    assert fake_rasa.webhook_calls == []


def test_whole_survey_by_typed_digits(
    invited: tuple[Browser, dict[str, Any], int], database: Database, fake_rasa: FakeRasa
) -> None:
    browser, invitation, survey_id = invited
    say(browser, button(invitation, "Isi survei"))
    for score in SCORES[:-1]:
        [reply] = say(browser, f" {score} ")
        assert reply["text"].startswith("Pertanyaan")
    [last] = say(browser, str(SCORES[-1]))
    assert last["text"].startswith("Terima kasih, survei sudah selesai.")
    assert answers(database, survey_id) == dict(enumerate(SCORES, start=1))
    assert fake_rasa.webhook_calls == []
    # Finished: a digit is an ordinary message again.
    say(browser, "3")
    assert survey_turns(fake_rasa) == ["3"]


def test_a_double_tap_counts_once_and_answers_politely(
    invited: tuple[Browser, dict[str, Any], int], database: Database, fake_rasa: FakeRasa
) -> None:
    browser, invitation, survey_id = invited
    [first] = say(browser, button(invitation, "Isi survei"))
    [second] = say(browser, button(first, "Sangat sesuai"))
    again = say(browser, button(first, "Tidak sesuai"))  # the old question 1 tapped again
    assert (
        again[0]["text"] == "Jawaban untuk pertanyaan 1 sudah kami catat sebelumnya; tidak ada yang diubah."
    )
    assert again[1]["text"] == second["text"]  # still asking question 2
    assert answers(database, survey_id) == {1: 4}
    # A second "Isi survei" tap resumes where it was, it does not start over.
    [resumed] = say(browser, button(invitation, "Isi survei"))
    assert resumed["text"].startswith("Pertanyaan 2 dari 9")
    assert fake_rasa.webhook_calls == []


def test_declining_then_changing_ones_mind(
    invited: tuple[Browser, dict[str, Any], int], database: Database, fake_rasa: FakeRasa
) -> None:
    browser, invitation, survey_id = invited
    [reply] = say(browser, button(invitation, "Nanti saja"))
    assert reply["text"].startswith("Baik, terima kasih.")
    assert status_of(database, survey_id) == SurveyStatus.DECLINED.value
    say(browser, "4")  # no survey in progress: this is for Rasa
    assert survey_turns(fake_rasa) == ["4"]
    assert answers(database, survey_id) == {}
    [question_1] = say(browser, button(invitation, "Isi survei"))
    assert question_1["text"].startswith("Pertanyaan 1 dari 9")
    assert status_of(database, survey_id) == SurveyStatus.IN_PROGRESS.value


def test_other_messages_mid_survey_go_to_rasa_and_pausing_keeps_answers(
    invited: tuple[Browser, dict[str, Any], int], database: Database, fake_rasa: FakeRasa
) -> None:
    browser, invitation, survey_id = invited
    say(browser, button(invitation, "Isi survei"))
    say(browser, "3")
    bot_answer = say(browser, "halo")
    assert bot_answer[0]["text"] == "Halo! Ada yang bisa kami bantu?"
    say(browser, "5")  # not an answer on the 1-4 scale
    assert survey_turns(fake_rasa) == ["halo", "5"]
    [reply] = say(browser, "2")  # the survey is still there
    assert reply["text"].startswith("Pertanyaan 3 dari 9")
    assert answers(database, survey_id) == {1: 3, 2: 2}

    [paused] = say(browser, "Batal")
    assert paused["text"].startswith("Baik, survei kami hentikan sementara.")
    assert paused["buttons"] == [
        {"title": "Lanjutkan survei", "payload": f'/skm_mulai{{"survey":{survey_id}}}'}
    ]
    assert status_of(database, survey_id) == SurveyStatus.INVITED.value
    say(browser, "1")
    assert survey_turns(fake_rasa) == ["halo", "5", "1"]
    [resumed] = say(browser, paused["buttons"][0]["payload"])
    assert resumed["text"].startswith("Pertanyaan 3 dari 9")
    assert answers(database, survey_id) == {1: 3, 2: 2}


def test_someone_elses_or_a_malformed_survey_button_changes_nothing(
    invited: tuple[Browser, dict[str, Any], int], database: Database, fake_rasa: FakeRasa
) -> None:
    browser, invitation, survey_id = invited
    [foreign] = say(browser, payloads.answer_payload(survey_id, 1, 4), sender="warga-2")
    assert foreign["text"] == "Mohon maaf, survei tersebut tidak ditemukan untuk akun Anda."
    [unknown] = say(browser, payloads.start_payload(survey_id + 100))
    assert unknown["text"] == foreign["text"]
    for bad in [f'/skm_jawab{{"survey":{survey_id},"elemen":10,"nilai":4}}', "/skm_jawab{<script>"]:
        [reply] = say(browser, bad)
        assert reply["text"].startswith("Mohon maaf, jawaban survei tidak dikenali.")
    assert answers(database, survey_id) == {}
    assert status_of(database, survey_id) == SurveyStatus.INVITED.value
    assert fake_rasa.webhook_calls == []


def test_a_completed_survey_takes_no_more_answers(
    invited: tuple[Browser, dict[str, Any], int], database: Database, fake_rasa: FakeRasa
) -> None:
    browser, invitation, survey_id = invited
    [first] = say(browser, button(invitation, "Isi survei"))
    for score in ALL_FOURS:
        say(browser, str(score))
    for payload in (
        button(first, "Tidak sesuai"),
        button(invitation, "Isi survei"),
        button(invitation, "Nanti saja"),
    ):
        [reply] = say(browser, payload)
        assert reply["text"] == "Survei untuk laporan ini sudah Anda isi. Terima kasih atas penilaian Anda."
    assert answers(database, survey_id) == dict.fromkeys(range(1, 10), 4)
    assert status_of(database, survey_id) == SurveyStatus.COMPLETED.value
    assert fake_rasa.webhook_calls == []


def test_typing_isi_survei_starts_the_survey_without_buttons(
    invited: tuple[Browser, dict[str, Any], int], database: Database, fake_rasa: FakeRasa
) -> None:
    browser, invitation, survey_id = invited
    assert "ketik ISI SURVEI" in invitation["text"]
    [reply] = say(browser, "Isi Survei")
    assert reply["text"].startswith("Pertanyaan 1 dari 9")
    assert status_of(database, survey_id) == SurveyStatus.IN_PROGRESS.value
    say(browser, "4")
    say(browser, "nanti")
    [resumed] = say(browser, "isi survei")  # resumes, keeping the first answer
    assert resumed["text"].startswith("Pertanyaan 2 dari 9")
    assert answers(database, survey_id) == {1: 4}
    assert fake_rasa.webhook_calls == []


def test_isi_survei_without_an_invitation_goes_to_rasa(
    client_factory: Callable[[], Browser], fake_rasa: FakeRasa
) -> None:
    say(client_factory(), "isi survei", sender="warga-tanpa-laporan")
    assert survey_turns(fake_rasa) == ["isi survei"]


def test_a_concurrent_answer_to_the_same_element_is_refused_by_the_database(
    invited: tuple[Browser, dict[str, Any], int], database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another replica stored element 1 between our check and our insert: the unique constraint decides."""
    _browser, _invitation, survey_id = invited
    with database.session() as session:
        survey = session.get_one(Survey, survey_id)
        session.add(SurveyAnswer(survey_id=survey_id, element=1, score=2))
        session.flush()
        real = survey_service.answered_elements
        monkeypatch.setattr(survey_service, "answered_elements", lambda s, v: set())
        assert survey_service.record_answer(session, survey, 1, 4) is AnswerOutcome.ALREADY_ANSWERED
        monkeypatch.setattr(survey_service, "answered_elements", real)
        assert survey_service.record_answer(session, survey, 2, 3) is AnswerOutcome.RECORDED
    assert answers(database, survey_id) == {1: 2, 2: 3}


def test_invite_is_once_per_ticket_even_when_raced(
    database: Database, make_ticket: Callable[..., Ticket], monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = make_ticket()
    with database.session() as session:
        first, created = survey_service.invite(session, session.get_one(Ticket, ticket.id))
        assert created
    with database.session() as session:
        monkeypatch.setattr(survey_service, "find_survey", _none_then_real(survey_service.find_survey))
        again, created = survey_service.invite(session, session.get_one(Ticket, ticket.id))
        assert not created and again.id == first.id
    with database.session() as session:
        assert len(session.scalars(select(Survey)).all()) == 1


def _none_then_real(real: Callable[..., Survey | None]) -> Callable[..., Survey | None]:
    calls = iter([None])

    def find(session: Any, ticket_id: int) -> Survey | None:
        return next(calls, real(session, ticket_id))

    return find
