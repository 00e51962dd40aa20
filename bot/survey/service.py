"""The SKM survey's lifecycle: invited once per finished ticket, answered element by element, or declined.

Every function takes an open session and flushes; the caller commits. One answer per element is enforced
by the database (unique survey_id + element), so an old button tapped again never counts twice, even when
two replicas handle the same tap.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.survey.models import Survey, SurveyAnswer, SurveyStatus
from bot.survey.questions import ELEMENT_COUNT, QUESTIONS, is_valid_answer
from bot.tickets.models import Ticket


class SurveyError(ValueError):
    """An answer the survey cannot take (wrong element or score); the message is for the citizen."""


class AnswerOutcome(StrEnum):
    RECORDED = "recorded"  # stored; more questions follow
    COMPLETED = "completed"  # stored, and it was the last unanswered element
    ALREADY_ANSWERED = "already_answered"  # this element has an answer: nothing changed
    CLOSED = "closed"  # the survey is finished: nothing changed


def find_survey(session: Session, ticket_id: int) -> Survey | None:
    return session.scalar(select(Survey).where(Survey.ticket_id == ticket_id))


def invite(session: Session, ticket: Ticket, *, now: datetime | None = None) -> tuple[Survey, bool]:
    """The ticket's survey and whether it was created now; a ticket is surveyed once, even when it is
    finished again after a reopening."""
    existing = find_survey(session, ticket.id)
    if existing is not None:
        return existing, False
    survey = Survey(
        ticket_id=ticket.id,
        unit=ticket.unit,
        channel=ticket.reporter_channel,
        sender_id=ticket.reporter_sender_id,
        status=SurveyStatus.INVITED.value,
        invited_at=now or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(survey)
    except IntegrityError:
        # Another worker invited for the same ticket between our read and our insert.
        raced = find_survey(session, ticket.id)
        if raced is None:
            raise
        return raced, False
    return survey, True


def answered_elements(session: Session, survey: Survey) -> set[int]:
    return set(session.scalars(select(SurveyAnswer.element).where(SurveyAnswer.survey_id == survey.id)))


def current_question(session: Session, survey: Survey) -> int | None:
    """The element to ask next (the lowest unanswered one); None once all nine are answered."""
    answered = answered_elements(session, survey)
    return next((q.element for q in QUESTIONS if q.element not in answered), None)


def start(session: Session, survey: Survey) -> bool:
    """Begin or resume answering; False when the survey is already finished."""
    if survey.status == SurveyStatus.COMPLETED.value:
        return False
    # Typed digits answer the one survey in progress: another one of the same sender waits, paused.
    others = session.scalars(
        select(Survey).where(
            Survey.channel == survey.channel,
            Survey.sender_id == survey.sender_id,
            Survey.status == SurveyStatus.IN_PROGRESS.value,
            Survey.id != survey.id,
        )
    )
    for other in others:
        other.status = SurveyStatus.INVITED.value
    survey.status = SurveyStatus.IN_PROGRESS.value
    session.flush()
    return True


def pause(session: Session, survey: Survey) -> None:
    """Stop asking for now; the answers given so far are kept and the invitation's button resumes it."""
    if survey.status == SurveyStatus.IN_PROGRESS.value:
        survey.status = SurveyStatus.INVITED.value
        session.flush()


def decline(session: Session, survey: Survey) -> bool:
    """The citizen does not want to answer; False when the survey is already finished."""
    if survey.status == SurveyStatus.COMPLETED.value:
        return False
    survey.status = SurveyStatus.DECLINED.value
    session.flush()
    return True


def record_answer(
    session: Session, survey: Survey, element: int, score: int, *, now: datetime | None = None
) -> AnswerOutcome:
    """Store one answer; an element already answered keeps its first answer."""
    if not is_valid_answer(element, score):
        raise SurveyError("Jawaban survei tidak dikenali. Silakan pilih salah satu tombol jawaban (1-4).")
    if survey.status == SurveyStatus.COMPLETED.value:
        return AnswerOutcome.CLOSED
    if element in answered_elements(session, survey):
        return AnswerOutcome.ALREADY_ANSWERED
    moment = now or utcnow()
    try:
        with session.begin_nested():
            session.add(SurveyAnswer(survey_id=survey.id, element=element, score=score, answered_at=moment))
    except IntegrityError:
        return AnswerOutcome.ALREADY_ANSWERED
    # Answering (even by an old button after a pause or a "Nanti saja") means the citizen is taking part.
    if survey.status != SurveyStatus.IN_PROGRESS.value:
        start(session, survey)
    if len(answered_elements(session, survey)) >= ELEMENT_COUNT:
        survey.status = SurveyStatus.COMPLETED.value
        survey.completed_at = moment
        session.flush()
        return AnswerOutcome.COMPLETED
    session.flush()
    return AnswerOutcome.RECORDED


def active_survey(session: Session, channel: str, sender_id: str) -> Survey | None:
    """The survey this sender is answering now (the latest started one, if several)."""
    return session.scalar(
        select(Survey)
        .where(
            Survey.channel == channel,
            Survey.sender_id == sender_id,
            Survey.status == SurveyStatus.IN_PROGRESS.value,
        )
        .order_by(Survey.id.desc())
        .limit(1)
    )


def latest_open_invitation(session: Session, channel: str, sender_id: str) -> Survey | None:
    """The newest survey of this sender not answered yet (invited, paused or declined): what a typed
    "isi survei" starts, e.g. after an invitation sent as a WhatsApp template without its buttons."""
    return session.scalar(
        select(Survey)
        .where(
            Survey.channel == channel,
            Survey.sender_id == sender_id,
            Survey.status.in_([SurveyStatus.INVITED.value, SurveyStatus.DECLINED.value]),
        )
        .order_by(Survey.id.desc())
        .limit(1)
    )
