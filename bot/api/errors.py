"""One JSON shape for every error the API returns: `{"error": <code>, "detail": <Indonesian message>}`.

Validation errors add `"fields"` (the request fields at fault). Status codes: 400 for a body that is not
JSON, 422 for JSON that does not fit the contract, 409 for conflicts, 503 when a dependency is down.
The `detail` is written for whoever reads it on the other side (often shown to a citizen as is), so it is
short, polite Indonesian and never echoes the rejected input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

INTERNAL_ERROR_DETAIL = "Terjadi kesalahan pada sistem kami. Silakan coba beberapa saat lagi."

_STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Permintaan tidak valid."),
    401: ("unauthorized", "Autentikasi diperlukan."),
    403: ("forbidden", "Anda tidak memiliki akses."),
    404: ("not_found", "Alamat yang diminta tidak ditemukan."),
    405: ("method_not_allowed", "Metode permintaan tidak diizinkan untuk alamat ini."),
    409: ("conflict", "Permintaan bertentangan dengan data yang ada."),
    413: ("payload_too_large", "Isi permintaan terlalu besar."),
    415: ("unsupported_media_type", "Jenis isi permintaan tidak didukung."),
    422: ("invalid_request", "Isi permintaan tidak valid."),
    429: ("too_many_requests", "Terlalu banyak permintaan. Silakan coba lagi nanti."),
    500: ("internal_error", INTERNAL_ERROR_DETAIL),
    503: ("service_unavailable", "Layanan sedang tidak tersedia. Silakan coba beberapa saat lagi."),
}
# Starlette's English default details, replaced by the Indonesian text of the status.
_DEFAULT_PHRASES = {"Not Found", "Method Not Allowed", "Unauthorized", "Forbidden", "Bad Request"}
INVALID_JSON_DETAIL = "Isi permintaan bukan JSON yang valid."
# FastAPI's own 400 for a body it cannot decode (e.g. invalid UTF-8): the same error as malformed JSON.
_FASTAPI_BODY_ERROR = "There was an error parsing the body"


class ApiError(Exception):
    """Raise from a route for an error with a specific code; rendered in the common shape."""

    def __init__(self, status_code: int, code: str, detail: str, fields: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.fields = list(fields)


def error_response(
    status_code: int,
    code: str,
    detail: str,
    fields: Sequence[str] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if fields:
        body["fields"] = list(fields)
    return JSONResponse(body, status_code=status_code, headers=headers)


def _field_name(loc: Sequence[Any]) -> str:
    # ("body", "text") -> "text"; ("query", "limit") -> "limit"; ("body",) -> "body"
    parts = [str(part) for part in loc[1:]] if len(loc) > 1 else [str(part) for part in loc]
    return ".".join(parts)


def describe_validation_error(error: dict[str, Any]) -> tuple[str, str]:
    """(code, Indonesian detail) for one pydantic/FastAPI validation error."""
    kind = str(error.get("type", ""))
    loc = tuple(error.get("loc", ()))
    field = _field_name(loc)
    if kind == "json_invalid":
        return "invalid_json", INVALID_JSON_DETAIL
    if loc == ("body",):
        if kind == "missing":
            return "missing_body", "Isi permintaan kosong. Kirim sebuah objek JSON."
        return "invalid_body", "Isi permintaan harus berupa objek JSON."
    if kind == "missing":
        return "missing_field", f"Kolom '{field}' wajib diisi."
    if kind == "string_type":
        return "wrong_type", f"Kolom '{field}' harus berupa teks."
    if kind in {"int_type", "int_parsing", "float_type", "float_parsing"}:
        return "wrong_type", f"Kolom '{field}' harus berupa angka."
    if kind in {"bool_type", "bool_parsing"}:
        return "wrong_type", f"Kolom '{field}' harus bernilai true atau false."
    if kind in {"string_too_long", "too_long"}:
        return "too_long", f"Kolom '{field}' terlalu panjang."
    if kind in {"string_too_short", "too_short"}:
        return "too_short", f"Kolom '{field}' terlalu pendek."
    if kind.startswith("custom:"):
        # Our own validators (PydanticCustomError("custom:<code>", "<Indonesian message>")).
        return kind.removeprefix("custom:"), str(error.get("msg", ""))
    return "invalid_value", f"Nilai kolom '{field}' tidak valid."


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.detail, exc.fields)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    described = [describe_validation_error(error) for error in errors]
    if not described:
        return error_response(422, "invalid_request", _STATUS_CODES[422][1])
    code, detail = described[0]
    if code == "invalid_json":
        return error_response(status.HTTP_400_BAD_REQUEST, code, detail)
    details = dict.fromkeys(detail for _, detail in described)
    fields = dict.fromkeys(_field_name(tuple(error.get("loc", ()))) for error in errors)
    return error_response(status.HTTP_422_UNPROCESSABLE_ENTITY, code, " ".join(details), list(fields))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, default_detail = _STATUS_CODES.get(exc.status_code, ("error", "Permintaan tidak dapat diproses."))
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == status.HTTP_400_BAD_REQUEST and exc.detail == _FASTAPI_BODY_ERROR:
        return error_response(exc.status_code, "invalid_json", INVALID_JSON_DETAIL)
    if isinstance(exc.detail, dict) and "error" in exc.detail:
        return JSONResponse(exc.detail, status_code=exc.status_code, headers=headers)
    detail = (
        exc.detail if isinstance(exc.detail, str) and exc.detail not in _DEFAULT_PHRASES else default_detail
    )
    return error_response(exc.status_code, code, detail, headers=headers)


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    # The traceback is logged by the server; the client learns nothing about the internals.
    logger.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", INTERNAL_ERROR_DETAIL)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
