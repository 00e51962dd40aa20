"""A keyed background-worker pool and a periodic job, shared by the inbox, the delivery worker and sweepers.

`KeyedWorkerPool` runs at most one worker per key (a chat): `kick(key)` makes sure one is running; the
worker calls `step(key)` until it reports nothing to do. A step returns `None` (idle: the worker ends, unless
it was kicked meanwhile), `AGAIN` (look again at once) or `Wait(seconds)`. A step that raises is logged and
tried again after a growing pause (a database outage), so a worker never dies silently and its key is never
left without one. `spawn` runs other background tasks of the component with the same logging.

`Periodic` runs a job every `interval` seconds (a sweep, a heartbeat); a round that raises is logged and
the next round still comes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.workers.claims import is_transient

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Wait:
    seconds: float


class _Again:
    def __repr__(self) -> str:
        return "AGAIN"


AGAIN = _Again()
StepResult = Wait | _Again | None


@dataclass(frozen=True)
class Backoff:
    first_seconds: float = 0.2
    max_seconds: float = 5.0

    def delay(self, failures: int) -> float:
        return float(min(self.first_seconds * 2 ** max(failures - 1, 0), self.max_seconds))


def log_failure(what: str, error: BaseException) -> None:
    if is_transient(error):
        logger.warning("%s: database unavailable (%s); trying again", what, type(error).__name__)
    else:
        logger.error("%s failed", what, exc_info=error)


class KeyedWorkerPool(Generic[K]):
    def __init__(
        self, name: str, step: Callable[[K], Awaitable[StepResult]], backoff: Backoff | None = None
    ) -> None:
        self.name = name
        self._step = step
        self.backoff = backoff or Backoff()
        self._workers: dict[K, asyncio.Task[None]] = {}
        self._again: set[K] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self.step_failures = 0  # steps that raised since start (a measure of trouble, for tests and logs)

    @property
    def closing(self) -> bool:
        return self._closing

    def busy(self, key: K) -> bool:
        return key in self._workers

    def keys(self) -> list[K]:
        return list(self._workers)

    @property
    def tasks(self) -> set[asyncio.Task[Any]]:
        return self._tasks

    def open(self) -> None:
        self._closing = False

    def kick(self, key: K) -> None:
        """Make sure `key` is being worked on (cheap and idempotent)."""
        if key in self._workers:
            self._again.add(key)
            return
        if self._closing:
            return
        self._workers[key] = self.spawn(self._run(key), f"{self.name}-worker")

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log_failure(f"{self.name} task {task.get_name()}", task.exception())  # type: ignore[arg-type]

    async def _run(self, key: K) -> None:
        failures = 0
        try:
            while True:
                self._again.discard(key)
                try:
                    result = await self._step(key)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    failures += 1
                    self.step_failures += 1
                    log_failure(f"{self.name} step", error)
                    await asyncio.sleep(self.backoff.delay(failures))
                    continue
                failures = 0
                if isinstance(result, Wait):
                    await asyncio.sleep(result.seconds)
                elif result is None:
                    if key in self._again:
                        continue
                    return  # no await between this check and the removal below: no kick is lost
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until no task is running (tests, graceful shutdown)."""
        deadline = time.monotonic() + timeout
        while self._tasks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} still busy")
            await asyncio.wait(list(self._tasks), timeout=max(deadline - time.monotonic(), 0.01))

    async def close(self) -> None:
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Periodic:
    """`job` every `interval` seconds (first after `first_delay`, default `interval`), until closed."""

    def __init__(
        self,
        name: str,
        job: Callable[[], Awaitable[Any]],
        interval: float,
        first_delay: float | None = None,
    ) -> None:
        self.name = name
        self.job = job
        self.interval = interval
        self.first_delay = interval if first_delay is None else first_delay
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def close(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def run_once(self) -> bool:
        """One round; False when it raised (logged)."""
        try:
            await self.job()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # one failed round (a database outage) must not stop the job
            log_failure(self.name, error)
            return False
        return True

    async def _loop(self) -> None:
        await asyncio.sleep(self.first_delay)
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval)
