"""`POST /api/v1/handoffs`: the action server asks for an officer on behalf of a citizen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bot.api.deps import SessionDep, require_service_token
from bot.conversations.models import CHANNEL_LENGTH, SENDER_ID_LENGTH
from bot.handoff.service import HandoffConfig, request_handoff

router = APIRouter(prefix="/api/v1", tags=["handoffs"])


def get_handoff_config(request: Request) -> HandoffConfig:
    config: HandoffConfig = request.app.state.handoff_config
    return config


HandoffConfigDep = Annotated[HandoffConfig, Depends(get_handoff_config)]


class HandoffRequest(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    channel: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=CHANNEL_LENGTH)
    sender_id: str = Field(min_length=1, max_length=SENDER_ID_LENGTH, pattern=r"^[^\x00]+$")
    reason: str = Field(
        default="request_human",
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=40,
        description="Why: request_human, fallback, complaint_form, ...",
    )


class HandoffAnswer(BaseModel):
    handoff_id: int
    status: str = Field(description="menunggu (waiting for an officer) or aktif (an officer holds it).")
    office_open: bool
    next_opening: str | None = Field(
        description="ISO time an officer is next available (now while open); null if never."
    )
    next_opening_label: str | None = Field(description="The same, as Indonesian text for the citizen.")
    unit: str | None
    ticket_code: str | None = Field(description="Outside office hours: the ticket keeping the request.")
    created: bool


@router.post(
    "/handoffs",
    response_model=HandoffAnswer,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_service_token)],
    responses={200: {"model": HandoffAnswer, "description": "A request of this citizen is already open."}},
)
def create_handoff(
    body: HandoffRequest, session: SessionDep, config: HandoffConfigDep, response: Response
) -> HandoffAnswer:
    outcome = request_handoff(session, body.channel, body.sender_id, body.reason, config)
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    handoff = outcome.handoff
    return HandoffAnswer(
        handoff_id=handoff.id,
        status=handoff.status,
        office_open=outcome.office_open,
        next_opening=None if outcome.next_opening is None else outcome.next_opening.isoformat(),
        next_opening_label=outcome.next_opening_label,
        unit=handoff.unit,
        ticket_code=outcome.ticket_code,
        created=outcome.created,
    )
