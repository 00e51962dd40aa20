"""FAQ answers edited in the dashboard reach citizens without a new model.

The bot service merges bot/knowledge/faq.yml with the answers stored in its database; the action server
asks for that merge (service token) at most every CACHE_SECONDS and answers from the file whenever the
service is slow or unreachable: a citizen always gets an answer, at worst the committed one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, Optional, Tuple

import aiohttp
import yaml

from actions.service_client import auth_headers, service_url
from bot.knowledge.faq import FaqAnswer, KnowledgeBaseError, load_knowledge_base, parse_knowledge_base

logger = logging.getLogger(__name__)

CACHE_SECONDS = 30.0
FETCH_TIMEOUT_SECONDS = 2.0
ANSWERS_PATH = "/api/v1/faq/answers"

_cache: Optional[Tuple[float, Dict[str, FaqAnswer]]] = None


async def _fetch() -> Optional[Dict[str, Any]]:
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(f"{service_url()}{ANSWERS_PATH}", headers=auth_headers()) as response:
            if response.status != 200:
                return None
            body = await response.json(content_type=None)
    topics = body.get("topics") if isinstance(body, dict) else None
    return topics if isinstance(topics, dict) and topics else None


async def knowledge_base() -> Dict[str, FaqAnswer]:
    """The knowledge base the citizen should see now: the service's merge, else the file."""
    global _cache
    now = time.monotonic()
    if _cache is not None and now - _cache[0] < CACHE_SECONDS:
        return dict(_cache[1])
    try:
        topics = await _fetch()
        merged = (
            parse_knowledge_base(yaml.safe_dump(topics, allow_unicode=True), "service") if topics else None
        )
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KnowledgeBaseError) as error:
        logger.warning("FAQ answers from the service unavailable (%s); using the file", type(error).__name__)
        merged = None
    if merged is None:
        merged = load_knowledge_base()
        _cache = (now - CACHE_SECONDS + 5.0, merged)  # retry the service soon, not at every turn
    else:
        _cache = (now, merged)
    return dict(merged)


def clear_cache() -> None:
    global _cache
    _cache = None
