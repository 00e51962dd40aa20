"""`POST /api/v1/triage`: what the bot would make of one message (intent from Rasa, category from triage).

Used server-side by the officer's walk-in intake form, so it requires the service token. The category comes
from the local classifier and is always returned; the intent needs Rasa, and when Rasa does not answer the
endpoint still answers, with intent "unknown" and `intent_available: false`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from bot.api.deps import ServiceAuth, SettingsDep
from bot.api.errors import ApiError
from bot.triage.categories import LOW_CONFIDENCE_THRESHOLD, category_label
from bot.triage.model import Prediction, TriageClassifier, load_classifier

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["triage"])

UNKNOWN_INTENT = "unknown"
# The intake form waits on this call; a slow Rasa must not hold it for the 30 s of a chat turn.
RASA_PARSE_TIMEOUT_SECONDS = 5.0

_load_lock = threading.Lock()


class TriageRequest(BaseModel):
    text: str = Field(description="The citizen's message, as written (at most `max_text_length` characters).")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("custom:empty_text", "Teks aduan tidak boleh kosong.")
        return value


class Alternative(BaseModel):
    category: str
    category_label: str
    confidence: float


class TriageResponse(BaseModel):
    intent: str = Field(description='Rasa intent name, or "unknown" when Rasa did not answer.')
    intent_confidence: float | None = None
    intent_available: bool = Field(description="False when Rasa could not be asked.")
    category: str = Field(description="Best complaint category code, whatever its confidence.")
    category_label: str
    confidence: float = Field(description="Probability of `category` (0-1).")
    low_confidence: bool = Field(
        description=f"True below {LOW_CONFIDENCE_THRESHOLD}: the category is a guess and should be confirmed."
    )
    alternatives: list[Alternative] = Field(description="The three best categories, best first.")


def classifier_for(app: FastAPI) -> TriageClassifier:
    """The app's classifier, loaded once (from the disk cache, or trained) on first use.

    Call it from a thread in the app's lifespan to warm up, so that the first triage request is fast.
    """
    classifier: TriageClassifier | None = getattr(app.state, "triage_classifier", None)
    if classifier is None:
        with _load_lock:
            classifier = getattr(app.state, "triage_classifier", None)
            if classifier is None:
                classifier = load_classifier()
                app.state.triage_classifier = classifier
    return classifier


def get_triage_classifier(request: Request) -> TriageClassifier:
    # A plain `def`: FastAPI runs it in the threadpool, so a first-time training does not block the loop.
    return classifier_for(request.app)


ClassifierDep = Annotated[TriageClassifier, Depends(get_triage_classifier)]


async def parse_intent(rasa_url: str, text: str) -> tuple[str, float | None] | None:
    """Rasa's intent for `text`, or None when Rasa is down, slow or answers something unexpected."""
    try:
        # Rasa is on a private network: never pick up HTTP(S)_PROXY from the environment.
        async with httpx.AsyncClient(timeout=RASA_PARSE_TIMEOUT_SECONDS, trust_env=False) as client:
            response = await client.post(f"{rasa_url.rstrip('/')}/model/parse", json={"text": text})
            response.raise_for_status()
            body: Any = response.json()
    except (httpx.HTTPError, ValueError) as error:
        logger.warning("Rasa /model/parse unavailable: %s", type(error).__name__)
        return None
    intent = body.get("intent") if isinstance(body, dict) else None
    if not isinstance(intent, dict) or not isinstance(intent.get("name"), str) or not intent["name"]:
        logger.warning("Rasa /model/parse answered without an intent name")
        return None
    confidence = intent.get("confidence")
    return intent["name"], float(confidence) if isinstance(confidence, int | float) else None


def _response(intent: tuple[str, float | None] | None, prediction: Prediction) -> TriageResponse:
    return TriageResponse(
        intent=intent[0] if intent else UNKNOWN_INTENT,
        intent_confidence=intent[1] if intent else None,
        intent_available=intent is not None,
        category=prediction.category,
        category_label=category_label(prediction.category),
        confidence=prediction.confidence,
        low_confidence=prediction.confidence < LOW_CONFIDENCE_THRESHOLD,
        alternatives=[
            Alternative(category=code, category_label=category_label(code), confidence=probability)
            for code, probability in prediction.alternatives
        ],
    )


@router.post(
    "/triage",
    response_model=TriageResponse,
    dependencies=[ServiceAuth],
    responses={
        status.HTTP_401_UNAUTHORIZED: {"description": "Missing or wrong service token."},
        status.HTTP_422_UNPROCESSABLE_ENTITY: {"description": "Empty, too long or malformed text."},
    },
)
async def triage(payload: TriageRequest, settings: SettingsDep, classifier: ClassifierDep) -> TriageResponse:
    text = payload.text
    if len(text) > settings.max_text_length:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "text_too_long",
            f"Teks aduan terlalu panjang. Panjang maksimal {settings.max_text_length} karakter.",
            fields=["text"],
        )
    intent, prediction = await asyncio.gather(
        parse_intent(settings.rasa_url, text), run_in_threadpool(classifier.predict, text)
    )
    return _response(intent, prediction)
