"""`POST /api/v1/chat`: the web-chat channel, through the same gateway path as Telegram and WhatsApp."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from bot.api.deps import SettingsDep
from bot.api.errors import ApiError
from bot.conversations.models import PLATFORM_MESSAGE_ID_LENGTH, SENDER_ID_LENGTH, Channel
from bot.gateway.gateway import Gateway, GatewayError, OutboundMessage
from bot.ids import DbBigId

router = APIRouter(prefix="/api/v1", tags=["chat"])


def _check_characters(value: str, code: str, label: str) -> None:
    # PostgreSQL cannot store NUL in text; lone surrogates ("\ud800" in JSON) cannot be encoded as UTF-8.
    if "\x00" in value:
        raise PydanticCustomError(f"custom:{code}", f"{label} mengandung karakter yang tidak diizinkan.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            f"custom:{code}", f"{label} mengandung karakter yang tidak valid."
        ) from None


class ChatRequest(BaseModel):
    sender: str = Field(description="Stable id of the web-chat user (1-128 characters).")
    text: str = Field(description="The citizen's message, as written; HTML is stored as is.")
    message_id: str | None = Field(
        default=None, description="Client-side id of this message: a retry with the same id is answered once."
    )

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("custom:empty_sender", "Kolom 'sender' tidak boleh kosong.")
        if len(value) > SENDER_ID_LENGTH:
            raise PydanticCustomError(
                "custom:sender_too_long", f"Kolom 'sender' paling banyak {SENDER_ID_LENGTH} karakter."
            )
        _check_characters(value, "invalid_sender", "Kolom 'sender'")
        return value

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("custom:empty_text", "Pesan tidak boleh kosong.")
        _check_characters(value, "invalid_text", "Pesan")
        return value

    @field_validator("message_id")
    @classmethod
    def _message_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise PydanticCustomError("custom:empty_message_id", "Kolom 'message_id' tidak boleh kosong.")
        if len(value) > PLATFORM_MESSAGE_ID_LENGTH:
            raise PydanticCustomError(
                "custom:message_id_too_long",
                f"Kolom 'message_id' paling banyak {PLATFORM_MESSAGE_ID_LENGTH} karakter.",
            )
        _check_characters(value, "invalid_message_id", "Kolom 'message_id'")
        return value


class ChatButton(BaseModel):
    title: str
    payload: str


class ChatMessage(BaseModel):
    text: str
    buttons: list[ChatButton] | None = None


class ChatResponse(BaseModel):
    messages: list[ChatMessage]


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def to_chat_message(reply: OutboundMessage) -> ChatMessage | None:
    """The web chat shows text and buttons; replies with neither (image/custom only) are stored, not shown."""
    if not reply.text and not reply.buttons:
        return None
    buttons = [ChatButton(title=b.title, payload=b.payload) for b in reply.buttons] or None
    return ChatMessage(text=reply.text, buttons=buttons)


@router.post(
    "/chat",
    response_model=ChatResponse,
    response_model_exclude_none=True,
    responses={
        status.HTTP_400_BAD_REQUEST: {"description": "The body is not JSON."},
        status.HTTP_409_CONFLICT: {
            "description": "Same message_id still being answered, or used by another sender."
        },
        status.HTTP_422_UNPROCESSABLE_ENTITY: {"description": "The JSON does not fit the contract."},
    },
)
async def chat(payload: ChatRequest, settings: SettingsDep, gateway: GatewayDep) -> ChatResponse:
    if len(payload.text) > settings.max_text_length:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "text_too_long",
            f"Pesan terlalu panjang. Panjang maksimal {settings.max_text_length} karakter.",
            fields=["text"],
        )
    try:
        replies = await gateway.handle_inbound(Channel.WEB, payload.sender, payload.text, payload.message_id)
    except GatewayError as error:
        raise ApiError(status.HTTP_409_CONFLICT, error.code, error.detail) from error
    return ChatResponse(messages=[m for m in map(to_chat_message, replies) if m is not None])


class ChatUpdate(ChatMessage):
    id: int


class ChatUpdates(BaseModel):
    messages: list[ChatUpdate]
    last_id: int


@router.get("/chat/{sender}/updates", response_model=ChatUpdates, response_model_exclude_none=True)
async def chat_updates(
    sender: Annotated[str, Path(min_length=1, max_length=SENDER_ID_LENGTH)],
    gateway: GatewayDep,
    after: Annotated[DbBigId, Query()] = 0,
) -> ChatUpdates:
    """Messages for a web-chat sender newer than `after` (e.g. a complaint code sent later); poll it."""
    replies = await gateway.updates_for(Channel.WEB, sender, after)
    shown = [
        ChatUpdate(id=reply.id, **message.model_dump())
        for reply in replies
        if (message := to_chat_message(reply)) is not None
    ]
    return ChatUpdates(messages=shown, last_id=max([after, *(reply.id for reply in replies)]))
