"""Messages the service sends on its own (a complaint filed from the outbox, later: status changes)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bot.api.chat import ChatButton, GatewayDep
from bot.api.deps import require_service_token
from bot.conversations.models import CHANNEL_LENGTH, SENDER_ID_LENGTH

router = APIRouter(prefix="/api/v1", tags=["notifications"])


class NotificationIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    channel: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=CHANNEL_LENGTH)
    sender_id: str = Field(min_length=1, max_length=SENDER_ID_LENGTH)
    text: str = Field(min_length=1, max_length=4096)
    idempotency_key: str = Field(min_length=8, max_length=200, pattern=r"^[A-Za-z0-9._:\-]+$")
    buttons: list[ChatButton] | None = Field(default=None, max_length=10)


class NotificationOut(BaseModel):
    id: int
    created: bool


@router.post(
    "/notifications",
    response_model=NotificationOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_service_token)],
    responses={200: {"model": NotificationOut, "description": "Repeat of an earlier notification."}},
)
async def notify(body: NotificationIn, gateway: GatewayDep, response: Response) -> NotificationOut:
    buttons = [button.model_dump() for button in body.buttons] if body.buttons else None
    message, created = await gateway.notify(
        body.channel, body.sender_id, body.text, body.idempotency_key, buttons
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return NotificationOut(id=message.id, created=created)
