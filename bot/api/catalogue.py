"""`POST /api/v1/catalogue/answer` (service token): the catalogue's answer to one citizen question.

The action server calls it before answering an FAQ, a fallback or an out-of-scope turn, so local facts take
precedence over the national FAQ in every channel. `outcome` is `answered`, `ambiguous` (buttons to choose
an agency or a service), `missing` (the agency is known, the fact is not: the messages say so and offer an
officer) or `no_match` (no message: the caller answers as it would without a catalogue).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, status
from pydantic import BaseModel, Field, field_validator

from bot.api.deps import ServiceAuth, SettingsDep
from bot.api.errors import ApiError
from bot.catalogue.aspects import Aspect, parse_aspect
from bot.catalogue.service import CatalogueAnswerer

router = APIRouter(prefix="/api/v1/catalogue", tags=["catalogue"])


class AnswerRequest(BaseModel):
    text: str = Field(
        default="", description="The citizen's message as written (may be empty with `agency`)."
    )
    agency: str | None = Field(default=None, max_length=64, description="Agency id chosen with a button.")
    service: str | None = Field(default=None, max_length=64, description="Service id chosen with a button.")
    aspects: list[str] = Field(default_factory=list, max_length=12, description="e.g. ['jam', 'syarat'].")
    record: bool = Field(default=True, description="Record unanswered questions for the admins.")

    @field_validator("aspects", mode="before")
    @classmethod
    def _aspects(cls, value: object) -> object:
        if isinstance(value, str):  # "jam,syarat" as a button's entity carries it
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class ButtonOut(BaseModel):
    title: str
    payload: str


class MessageOut(BaseModel):
    text: str
    buttons: list[ButtonOut] | None = None


class AnswerResponse(BaseModel):
    outcome: str = Field(description="answered | ambiguous | missing | no_match")
    agency: str | None = None
    service: str | None = None
    aspects: list[str]
    missing: list[str]
    candidates: list[str]
    messages: list[MessageOut]


def catalogue_answerer(app: FastAPI) -> CatalogueAnswerer:
    answerer: CatalogueAnswerer = app.state.catalogue
    return answerer


def get_answerer(request: Request) -> CatalogueAnswerer:
    return catalogue_answerer(request.app)


AnswererDep = Annotated[CatalogueAnswerer, Depends(get_answerer)]


def _aspects(values: list[str]) -> list[Aspect]:
    parsed = [parse_aspect(value.strip().lower()) for value in values]
    if any(aspect is None for aspect in parsed):
        known = ", ".join(aspect.value for aspect in Aspect)
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "unknown_aspect",
            f"Aspek pertanyaan tidak dikenal. Pilihan: {known}.",
            fields=["aspects"],
        )
    return [aspect for aspect in parsed if aspect is not None]


@router.post(
    "/answer",
    response_model=AnswerResponse,
    response_model_exclude_none=True,
    dependencies=[ServiceAuth],
    responses={
        status.HTTP_401_UNAUTHORIZED: {"description": "Missing or wrong service token."},
        status.HTTP_422_UNPROCESSABLE_ENTITY: {"description": "Empty or too long text, unknown aspect."},
    },
)
def answer(payload: AnswerRequest, settings: SettingsDep, answerer: AnswererDep) -> AnswerResponse:
    # A plain `def`: FastAPI runs it in the threadpool (the catalogue is read from the database).
    if len(payload.text) > settings.max_text_length:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "text_too_long",
            f"Teks terlalu panjang. Panjang maksimal {settings.max_text_length} karakter.",
            fields=["text"],
        )
    if not payload.text.strip() and not payload.agency:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "empty_text",
            "Teks pertanyaan tidak boleh kosong.",
            fields=["text"],
        )
    result = answerer.answer(
        payload.text,
        agency_id=payload.agency,
        service_id=payload.service,
        aspects=_aspects(payload.aspects) or None,
        record=payload.record,
    )
    return AnswerResponse(
        outcome=result.outcome.value,
        agency=result.agency_id,
        service=result.service_id,
        aspects=[aspect.value for aspect in result.aspects],
        missing=[aspect.value for aspect in result.missing],
        candidates=result.candidates,
        messages=[
            MessageOut(
                text=reply.text,
                buttons=[ButtonOut(**button) for button in reply.buttons] if reply.buttons else None,
            )
            for reply in result.messages
        ],
    )
