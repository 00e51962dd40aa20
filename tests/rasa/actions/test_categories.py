"""The action server's category list: fetched from the real service, cached, kept while the service is down."""

from __future__ import annotations

import pytest

from actions import categories
from actions.categories import CategoryCache
from tests.rasa.actions.conftest import Service

DEAD_SERVICE = "http://127.0.0.1:9"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_one_request_serves_the_form_until_the_cache_expires(
    service_env: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_request = categories.request

    async def counted(method: str, path: str, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(path)
        return await real_request(method, path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(categories, "request", counted)
    monkeypatch.setenv("ACTION_CATEGORY_CACHE_SECONDS", "60")
    clock = Clock()
    cache = CategoryCache(clock)

    first = await cache.get()
    assert {"infrastruktur", "kependudukan"} <= {c["code"] for c in first}
    assert all(c["label"] for c in first)
    clock.now += 59
    assert await cache.get() == first
    assert calls == ["/api/v1/categories"]

    clock.now += 2
    assert await cache.get() == first
    assert len(calls) == 2


async def test_the_last_list_is_used_while_the_service_is_down(
    service_env: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTION_CATEGORY_CACHE_SECONDS", "60")
    clock = Clock()
    cache = CategoryCache(clock)
    known = await cache.get()

    monkeypatch.setenv("SERVICE_URL", DEAD_SERVICE)
    clock.now += 3600
    assert await cache.get() == known


async def test_no_list_yet_and_the_service_down_gives_no_categories(
    service_env: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICE_URL", DEAD_SERVICE)
    assert await CategoryCache(Clock()).get() == []


async def test_a_returned_list_cannot_be_changed_through_the_cache(service_env: Service) -> None:
    cache = CategoryCache(Clock())
    (await cache.get()).clear()
    assert await cache.get()


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("-5", 0.0), ("abc", 300.0), ("12.5", 12.5)])
def test_cache_seconds_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: float
) -> None:
    monkeypatch.setenv("ACTION_CATEGORY_CACHE_SECONDS", value)
    assert categories.cache_seconds() == expected
