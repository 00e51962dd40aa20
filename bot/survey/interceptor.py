"""The SKM survey in the chat, answered by the gateway without Rasa.

Takes a turn when it is a survey button (`/skm_...`, bot/survey/payloads.py), or when the sender is in the
middle of a survey (status `berjalan`) and types an answer ("1".."4") or a pause word ("batal", "nanti").
A typed "isi survei" starts (or resumes) the sender's latest unanswered survey: a WhatsApp invitation sent
as a template outside the 24-hour window has no buttons. Anything else goes on to Rasa, so a citizen who wants
something else is never stuck in the survey. A button only acts on a survey of the same channel and sender; one answer per element is kept, so an old
message tapped again changes nothing.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session

from bot.db import Database
from bot.gateway.gateway import InboundTurn, Interception
from bot.gateway.rasa_client import BotReply
from bot.survey import messages
from bot.survey import service as survey_service
from bot.survey.models import Survey, SurveyStatus
from bot.survey.payloads import SurveyCommand, SurveyPayload, is_survey_payload, parse
from bot.survey.questions import MAX_SCORE, MIN_SCORE
from bot.survey.service import AnswerOutcome

logger = logging.getLogger(__name__)

PAUSE_WORDS = frozenset({"batal", "nanti", "nanti saja", "berhenti", "stop"})
START_WORDS = frozenset({"isi survei", "isi survey", "mulai survei", "lanjutkan survei"})
REASON = "survei_skm"


class SurveyInterceptor:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def intercept(self, turn: InboundTurn) -> Interception | None:
        replies = await asyncio.to_thread(self._handle, turn)
        return None if replies is None else Interception(replies=replies, reason=REASON)

    # --- database steps (run in a worker thread) ---

    def _handle(self, turn: InboundTurn) -> list[BotReply] | None:
        text = turn.text.strip()
        if is_survey_payload(text):
            payload = parse(text)
            with self.database.session() as session:
                if payload is None:
                    return [messages.text_reply(messages.INVALID)]
                return _on_button(session, turn, payload)
        if not _may_be_survey_input(text):
            return None  # the usual turn: no database round trip on the way to Rasa
        with self.database.session() as session:
            survey = survey_service.active_survey(session, turn.channel, turn.sender_id)
            if survey is not None:
                return _on_typed(session, survey, text)
            if _words(text) in START_WORDS:
                invited = survey_service.latest_open_invitation(session, turn.channel, turn.sender_id)
                if invited is not None:
                    survey_service.start(session, invited)
                    return _next_question(session, invited)
            return None


def _own_survey(session: Session, turn: InboundTurn, survey_id: int) -> Survey | None:
    survey = session.get(Survey, survey_id)
    if survey is None or survey.channel != turn.channel or survey.sender_id != turn.sender_id:
        return None
    return survey


def _on_button(session: Session, turn: InboundTurn, payload: SurveyPayload) -> list[BotReply]:
    survey = _own_survey(session, turn, payload.survey_id)
    if survey is None:
        logger.info("survey button for survey %s not of this sender", payload.survey_id)
        return [messages.text_reply(messages.NOT_FOUND)]
    if survey.status == SurveyStatus.COMPLETED.value:
        return [messages.text_reply(messages.ALREADY_COMPLETED)]
    if payload.command is SurveyCommand.DECLINE:
        survey_service.decline(session, survey)
        return [messages.text_reply(messages.DECLINED)]
    if payload.command is SurveyCommand.START:
        survey_service.start(session, survey)
        return _next_question(session, survey)
    if payload.element is None or payload.score is None:
        return [messages.text_reply(messages.INVALID)]
    return _answer(session, survey, payload.element, payload.score)


def _words(text: str) -> str:
    return " ".join(text.lower().split()).strip(".!")


def _is_score(text: str) -> bool:
    return text.isascii() and text.isdigit() and MIN_SCORE <= int(text) <= MAX_SCORE


def _may_be_survey_input(text: str) -> bool:
    """Only these typed answers can concern a survey; anything else goes to Rasa whatever the state."""
    words = _words(text)
    return _is_score(text) or words in PAUSE_WORDS or words in START_WORDS


def _on_typed(session: Session, survey: Survey, text: str) -> list[BotReply] | None:
    if _words(text) in PAUSE_WORDS:
        survey_service.pause(session, survey)
        return [messages.resume_reply(survey.id, messages.PAUSED)]
    if _is_score(text):
        element = survey_service.current_question(session, survey)
        if element is None:  # all answered but not closed: cannot happen through record_answer
            return None
        return _answer(session, survey, element, int(text))
    return None


def _answer(session: Session, survey: Survey, element: int, score: int) -> list[BotReply]:
    try:
        outcome = survey_service.record_answer(session, survey, element, score)
    except survey_service.SurveyError:
        return [messages.text_reply(messages.INVALID)]
    if outcome is AnswerOutcome.COMPLETED:
        return [messages.text_reply(messages.THANKS)]
    if outcome is AnswerOutcome.CLOSED:
        return [messages.text_reply(messages.ALREADY_COMPLETED)]
    if outcome is AnswerOutcome.ALREADY_ANSWERED:
        already = messages.ALREADY_ANSWERED.format(element=element)
        if survey.status != SurveyStatus.IN_PROGRESS.value:  # paused or declined: offer to go on
            return [messages.resume_reply(survey.id, already)]
        return [messages.text_reply(already), *_next_question(session, survey)]
    return _next_question(session, survey)


def _next_question(session: Session, survey: Survey) -> list[BotReply]:
    element = survey_service.current_question(session, survey)
    if element is None:
        return [messages.text_reply(messages.ALREADY_COMPLETED)]
    return [messages.question_reply(survey.id, element)]
