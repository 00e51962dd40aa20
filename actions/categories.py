"""The complaint categories as the bot service lists them, cached in the action server.

The complaint form needs the list on several turns (the category question, its buttons, the summary). The
service builds it from its routing configuration, which changes only when the service restarts, so one
request per `ACTION_CATEGORY_CACHE_SECONDS` is enough. When the service cannot be reached, the last list
received is used however old it is: a form with category buttons is better than one without.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Dict, List, Optional

from actions.service_client import ServiceUnavailable, request

Category = Dict[str, str]
DEFAULT_CACHE_SECONDS = 300.0


def cache_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("ACTION_CATEGORY_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)))
    except ValueError:
        return DEFAULT_CACHE_SECONDS


class CategoryCache:
    """The last category list received from the service, and when."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._categories: Optional[List[Category]] = None
        self._fetched_at = 0.0

    async def get(self) -> List[Category]:
        if self._categories is not None and self._clock() - self._fetched_at < cache_seconds():
            return list(self._categories)
        try:
            response = await request("GET", "/api/v1/categories", retry_delays=(0.5,))
        except ServiceUnavailable:
            return list(self._categories or [])
        categories = [dict(c) for c in response.body.get("categories") or [] if isinstance(c, dict)]
        if response.status == 200 and categories:
            self._categories, self._fetched_at = categories, self._clock()
            return list(categories)
        return list(self._categories or [])

    def clear(self) -> None:
        self._categories = None


CATEGORIES = CategoryCache()


async def fetch_categories() -> List[Category]:
    """The complaint categories (code, label, unit), at most `ACTION_CATEGORY_CACHE_SECONDS` old while the
    service answers; the last known list, or none, while it does not."""
    return await CATEGORIES.get()
