"""The web-chat channel, through the same gateway path as Telegram and WhatsApp.

Public: `POST /api/v1/chat` and `GET /api/v1/chat/updates` for the caller's session (bot/api/chat_sessions.py);
the sender id is the session's, never the client's. Server to server (service token): `POST /api/v1/chat/relay`
and `POST /api/v1/chat/relay/updates`, which name the sender in the body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import AfterValidator, BaseModel, Field
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from bot.api.chat_sessions import WebCallerDep
from bot.api.deps import ServiceAuth, SettingsDep
from bot.api.errors import ApiError
from bot.conversations.models import PLATFORM_MESSAGE_ID_LENGTH, SENDER_ID_LENGTH, Channel
from bot.gateway.gateway import Gateway, GatewayError, OutboundMessage
from bot.ids import DbBigId
from bot.settings import Settings

# Metadata key of the caller's client key (a keyed hash of the address) on public web-chat turns.
CLIENT_KEY_METADATA = "client_key"

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


def _valid_sender(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("custom:empty_sender", "Kolom 'sender' tidak boleh kosong.")
    if len(value) > SENDER_ID_LENGTH:
        raise PydanticCustomError(
            "custom:sender_too_long", f"Kolom 'sender' paling banyak {SENDER_ID_LENGTH} karakter."
        )
    _check_characters(value, "invalid_sender", "Kolom 'sender'")
    return value


def _valid_text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("custom:empty_text", "Pesan tidak boleh kosong.")
    _check_characters(value, "invalid_text", "Pesan")
    return value


def _valid_message_id(value: str | None) -> str | None:
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


def _refuse_sender(_: object) -> None:
    raise PydanticCustomError(
        "custom:sender_not_allowed",
        "Kolom 'sender' tidak diterima: identitas percakapan ditentukan oleh sesi (token), "
        "bukan oleh isi permintaan.",
    )


SenderId = Annotated[
    str,
    AfterValidator(_valid_sender),
    Field(description="Web-chat sender id chosen by the integration (1-128 characters)."),
]
ChatText = Annotated[
    str,
    AfterValidator(_valid_text),
    Field(description="The citizen's message, as written; HTML is stored as is."),
]
MessageId = Annotated[
    str | None,
    AfterValidator(_valid_message_id),
    Field(description="Client-side id of this message: a retry with the same id is answered once."),
]


class ChatRequest(BaseModel):
    """One citizen message on the public web chat; who sent it comes from the session, never the body."""

    text: ChatText
    message_id: MessageId = None
    # Not part of the contract: declared only so that a client still sending it learns why it is refused.
    sender: Annotated[Any, AfterValidator(_refuse_sender), SkipJsonSchema()] = None


class RelayRequest(BaseModel):
    """A message relayed by a trusted integration (service token), which names the web-chat sender."""

    sender: SenderId
    text: ChatText
    message_id: MessageId = None


class RelayUpdatesRequest(BaseModel):
    sender: SenderId
    after: DbBigId = Field(default=0, description="Only messages with a larger id.")


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


async def _turn(
    settings: Settings,
    gateway: Gateway,
    sender_id: str,
    text: str,
    message_id: str | None,
    metadata: dict[str, Any] | None = None,
) -> ChatResponse:
    if len(text) > settings.max_text_length:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "text_too_long",
            f"Pesan terlalu panjang. Panjang maksimal {settings.max_text_length} karakter.",
            fields=["text"],
        )
    try:
        replies = await gateway.handle_inbound(Channel.WEB, sender_id, text, message_id, metadata)
    except GatewayError as error:
        raise ApiError(status.HTTP_409_CONFLICT, error.code, error.detail) from error
    return ChatResponse(messages=[m for m in map(to_chat_message, replies) if m is not None])


class ChatUpdate(ChatMessage):
    id: int


class ChatUpdates(BaseModel):
    messages: list[ChatUpdate]
    last_id: int


async def _updates(gateway: Gateway, sender_id: str, after: int) -> ChatUpdates:
    replies = await gateway.updates_for(Channel.WEB, sender_id, after)
    shown = [
        ChatUpdate(id=reply.id, **message.model_dump())
        for reply in replies
        if (message := to_chat_message(reply)) is not None
    ]
    return ChatUpdates(messages=shown, last_id=max([after, *(reply.id for reply in replies)]))


_TURN_RESPONSES: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: {"description": "The body is not JSON."},
    status.HTTP_401_UNAUTHORIZED: {"description": "No live session token (service token on /chat/relay)."},
    status.HTTP_409_CONFLICT: {
        "description": "Same message_id still being answered, or used by another sender."
    },
    status.HTTP_422_UNPROCESSABLE_ENTITY: {"description": "The JSON does not fit the contract."},
}


@router.post(
    "/chat", response_model=ChatResponse, response_model_exclude_none=True, responses=_TURN_RESPONSES
)
async def chat(
    payload: ChatRequest, caller: WebCallerDep, settings: SettingsDep, gateway: GatewayDep
) -> ChatResponse:
    """One turn of the caller's session (`Authorization: Bearer <token>` or the `layanan_chat` cookie).

    The client key travels in the turn's metadata to the action server, which counts wrong tracking codes
    per address too: a new session does not reset that count."""
    metadata = {CLIENT_KEY_METADATA: caller.client_key}
    return await _turn(settings, gateway, caller.sender_id, payload.text, payload.message_id, metadata)


@router.get("/chat/updates", response_model=ChatUpdates, response_model_exclude_none=True)
async def chat_updates(
    caller: WebCallerDep, gateway: GatewayDep, after: Annotated[DbBigId, Query()] = 0
) -> ChatUpdates:
    """Messages for the caller's session newer than `after` (e.g. a complaint code sent later); poll it."""
    return await _updates(gateway, caller.sender_id, after)


@router.post(
    "/chat/relay",
    response_model=ChatResponse,
    response_model_exclude_none=True,
    responses=_TURN_RESPONSES,
    dependencies=[ServiceAuth],
)
async def relay(payload: RelayRequest, settings: SettingsDep, gateway: GatewayDep) -> ChatResponse:
    """Server to server (service token): one web-chat turn of a sender the integration names."""
    return await _turn(settings, gateway, payload.sender, payload.text, payload.message_id)


@router.post(
    "/chat/relay/updates",
    response_model=ChatUpdates,
    response_model_exclude_none=True,
    dependencies=[ServiceAuth],
)
async def relay_updates(payload: RelayUpdatesRequest, gateway: GatewayDep) -> ChatUpdates:
    """Server to server (service token): the updates of a named web-chat sender (no ids in URLs)."""
    return await _updates(gateway, payload.sender, payload.after)
