"""The action server's client for the bot service API (service token, retries with backoff)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

import aiohttp

RETRY_DELAYS_SECONDS: Sequence[float] = (0.5, 1.0, 2.0)
REQUEST_TIMEOUT_SECONDS = 5.0


class ServiceUnavailable(Exception):
    """The bot service could not be reached or answered with a server error."""


@dataclass
class ServiceResponse:
    status: int
    body: Dict[str, Any]


def service_url() -> str:
    return os.environ.get("SERVICE_URL", "http://127.0.0.1:8000").rstrip("/")


def auth_headers() -> Dict[str, str]:
    return {"Authorization": f"Bearer {os.environ.get('SERVICE_TOKEN', '')}"}


async def request(
    method: str,
    path: str,
    *,
    json: Optional[Dict[str, Any]] = None,
    params: Optional[Dict[str, str]] = None,
    retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
) -> ServiceResponse:
    """One API call; connection failures and 5xx are retried, 4xx are returned to the caller.

    Retrying is safe because every write the actions make carries an idempotency key.
    """
    attempts = [0.0, *retry_delays]
    last_error: Optional[BaseException] = None
    for delay in attempts:
        if delay:
            await asyncio.sleep(delay)
        try:
            timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.request(
                    method, f"{service_url()}{path}", json=json, params=params, headers=auth_headers()
                ) as response:
                    if response.status >= 500:
                        last_error = ServiceUnavailable(f"HTTP {response.status}")
                        continue
                    body = await response.json(content_type=None) if response.content_length != 0 else {}
                    return ServiceResponse(response.status, body or {})
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            last_error = error
    raise ServiceUnavailable(str(last_error))
