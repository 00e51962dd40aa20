"""Tables of the SKM survey: one survey per finished ticket, one answer per element (1-9, score 1-4)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, utcnow
from bot.tickets.models import UTCDateTime


class SurveyStatus(StrEnum):
    INVITED = "diundang"
    IN_PROGRESS = "berjalan"
    COMPLETED = "selesai"
    DECLINED = "ditolak"


class Survey(Base):
    __tablename__ = "skm_surveys"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s.value}'" for s in SurveyStatus) + ")",
            name="status",
        ),
        # The chat looks up the sender's open survey on every turn.
        Index("ix_skm_surveys_sender", "channel", "sender_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"), unique=True)
    # The unit that served the citizen (IKM is reported per unit and period).
    unit: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=SurveyStatus.INVITED.value)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)

    answers: Mapped[list[SurveyAnswer]] = relationship(
        back_populates="survey", cascade="all, delete-orphan", order_by="SurveyAnswer.element"
    )


class SurveyAnswer(Base):
    __tablename__ = "skm_answers"
    __table_args__ = (
        UniqueConstraint("survey_id", "element", name="uq_skm_answers_survey_id_element"),
        CheckConstraint("element BETWEEN 1 AND 9", name="element"),
        CheckConstraint("score BETWEEN 1 AND 4", name="score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("skm_surveys.id", ondelete="CASCADE"))
    element: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    survey: Mapped[Survey] = relationship(back_populates="answers")
