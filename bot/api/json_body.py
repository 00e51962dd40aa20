"""JSON bodies that routes parse themselves (the webhooks, which must see the raw bytes first).

`json.loads` recurses once per nesting level: 2,000 nested brackets raise RecursionError, which is no
ValueError and would surface as a 500. The nesting is measured on the structural characters first
(outside strings) and refused past a limit far above any real payload; only then is the body parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.api.errors import INVALID_JSON_DETAIL, ApiError

# Telegram updates and Meta's webhook bodies nest fewer than 10 levels.
MAX_JSON_DEPTH = 64
# A JSON string: quotes around anything but an unescaped quote (linear, no backtracking).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")


class JsonTooDeep(ValueError):
    pass


def nested_deeper_than(raw: bytes, max_depth: int) -> bool:
    """Whether arrays/objects in `raw` nest deeper than `max_depth` (brackets inside strings do not
    count). Stops at the first bracket past the limit."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for char in brackets:
        depth += 1 if char in b"[{" else -1
        if depth > max_depth:
            return True
    return False


def loads_bounded(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing (JsonTooDeep) a document nested deeper than `max_depth`."""
    if nested_deeper_than(raw, max_depth):
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw)
    except RecursionError:  # cannot happen within the limit; kept so it never becomes a 500
        raise JsonTooDeep("JSON nested too deeply") from None


def parse_json_object(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """The body as a JSON object, else ApiError 400 in the common shape."""
    try:
        body = loads_bounded(raw, max_depth)
    except JsonTooDeep:
        raise ApiError(400, "json_too_deep", "Isi permintaan terlalu bertingkat.") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", INVALID_JSON_DETAIL) from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "Isi permintaan harus berupa objek JSON.")
    return body
