"""The survey's button payloads, e.g. `/skm_jawab{"survey":12,"elemen":3,"nilai":4}`: short (Telegram's
callback data is 64 bytes), never sent to Rasa (the survey interceptor answers them), and parsed strictly."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum


class SurveyCommand(StrEnum):
    START = "skm_mulai"
    ANSWER = "skm_jawab"
    DECLINE = "skm_tolak"


@dataclass(frozen=True)
class SurveyPayload:
    command: SurveyCommand
    survey_id: int
    element: int | None = None
    score: int | None = None


PREFIX = "/skm_"
_PAYLOAD = re.compile(r"^/(skm_[a-z]+)(\{.{0,200}\})?$", re.DOTALL)


def _encode(command: SurveyCommand, fields: dict[str, int]) -> str:
    return f"/{command.value}{json.dumps(fields, separators=(',', ':'))}"


def start_payload(survey_id: int) -> str:
    return _encode(SurveyCommand.START, {"survey": survey_id})


def decline_payload(survey_id: int) -> str:
    return _encode(SurveyCommand.DECLINE, {"survey": survey_id})


def answer_payload(survey_id: int, element: int, score: int) -> str:
    return _encode(SurveyCommand.ANSWER, {"survey": survey_id, "elemen": element, "nilai": score})


def is_survey_payload(text: str) -> bool:
    return text.strip().startswith(PREFIX)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse(text: str) -> SurveyPayload | None:
    """The payload a survey button sent, or None when the text is not a well-formed survey payload."""
    match = _PAYLOAD.match(text.strip())
    if match is None:
        return None
    try:
        command = SurveyCommand(match.group(1))
        fields = json.loads(match.group(2) or "{}")
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    survey_id = _int(fields.get("survey"))
    if survey_id is None:
        return None
    if command is SurveyCommand.ANSWER:
        element, score = _int(fields.get("elemen")), _int(fields.get("nilai"))
        if element is None or score is None:
            return None
        return SurveyPayload(command, survey_id, element, score)
    return SurveyPayload(command, survey_id)
