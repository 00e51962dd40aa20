"""The four faults of the fault-injection suite, each run on a fresh `Stack` (tests/faults/harness.py).

Each scenario streams updates through the real service, injects its fault, waits until every update is
answered (or a deadline passes) and returns a `Result`: what the citizens got and how long after the fault
ended the last answer came. tests/faults asserts on small runs; benchmarks/faults.py runs the issue's sizes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.faults.harness import (
    Driver,
    Outcome,
    Postgres,
    Stack,
    Storm,
    all_answered_at,
    make_updates,
    wait_answered,
)


@dataclass(frozen=True)
class Result:
    fault: str
    outcome: Outcome
    recovery_seconds: float | None  # last answer, after the fault ended
    backlog_seconds: float | None  # the updates due by the end of the fault all answered, after it ended
    in_flight_at_fault: int = 0  # sends claimed but not recorded when the service was killed
    redeliveries: int = 0  # webhook posts the service did not acknowledge (Telegram would retry them)

    def row(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            **{k: v for k, v in asdict(self.outcome).items() if k != "last_answer_at"},
            "recovery_seconds": _round(self.recovery_seconds),
            "backlog_seconds": _round(self.backlog_seconds),
            "in_flight_at_fault": self.in_flight_at_fault,
            "redeliveries": self.redeliveries,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _after(moment: float, at: float | None) -> float | None:
    return None if at is None else max(at - moment, 0.0)


def kill_service(
    postgres: Postgres,
    workdir: Path,
    *,
    updates: int,
    chats: int,
    rate: float,
    kill_at: float,
    down_for: float,
) -> Result:
    """SIGKILL of the service mid-stream, a new process `down_for` seconds later."""
    stream = make_updates(updates, chats)
    with Stack(postgres, workdir, "faults_kill") as stack:
        assert stack.service is not None
        driver = Driver(stack.service, stream, rate).start()
        time.sleep(kill_at)
        stack.service.kill()
        in_flight = stack.count(
            "SELECT count(*) FROM messages WHERE direction = 'out' AND status = 'sending'"
        )
        time.sleep(down_for)
        stack.service.start()
        restarted = time.monotonic()
        driver.join(updates / rate + 120)
        result = wait_answered(stack.bot_api, stream, timeout=120)
        backlog = all_answered_at(stack.bot_api, driver.due_by(restarted))
    return Result(
        f"`kill -9` of the service at {kill_at:g} s, restart at {kill_at + down_for:g} s",
        result,
        result.recovery_after(restarted),
        _after(restarted, backlog),
        in_flight,
        driver.redeliveries,
    )


def restart_postgres(
    postgres: Postgres,
    workdir: Path,
    *,
    updates: int,
    chats: int,
    rate: float,
    crash_at: float,
    down_for: float,
) -> Result:
    """PostgreSQL crash-stopped mid-stream (immediate shutdown), started again `down_for` seconds later."""
    stream = make_updates(updates, chats)
    with Stack(postgres, workdir, "faults_pg") as stack:
        assert stack.service is not None
        driver = Driver(stack.service, stream, rate).start()
        time.sleep(crash_at)
        postgres.crash()
        time.sleep(down_for)
        postgres.start()
        restarted = time.monotonic()
        driver.join(updates / rate + 120)
        result = wait_answered(stack.bot_api, stream, timeout=120)
        backlog = all_answered_at(stack.bot_api, driver.due_by(restarted))
    return Result(
        f"PostgreSQL crash-stopped {down_for:g} s",
        result,
        result.recovery_after(restarted),
        _after(restarted, backlog),
        redeliveries=driver.redeliveries,
    )


def bot_api_storm(
    postgres: Postgres,
    workdir: Path,
    *,
    updates: int,
    chats: int,
    rate: float,
    retry_after: int,
    flood_for: float,
    errors_for: float,
) -> Result:
    """The Bot API answers 429 (retry_after) for `flood_for` seconds, then 500 for `errors_for` seconds."""
    stream = make_updates(updates, chats)
    with Stack(postgres, workdir, "faults_storm") as stack:
        assert stack.service is not None
        now = time.monotonic()
        stack.bot_api.storms = [
            Storm(now, now + flood_for, 429, retry_after),
            Storm(now + flood_for, now + flood_for + errors_for, 500),
        ]
        ended = now + flood_for + errors_for
        driver = Driver(stack.service, stream, rate).start()
        driver.join(updates / rate + 60)
        result = wait_answered(stack.bot_api, stream, timeout=max(ended - time.monotonic(), 0) + 90)
        backlog = all_answered_at(stack.bot_api, driver.due_by(ended))
    return Result(
        f"Bot API 429 (`retry_after={retry_after}`) for {flood_for:g} s, then 500 for {errors_for:g} s",
        result,
        result.recovery_after(ended),
        _after(ended, backlog),
        redeliveries=driver.redeliveries,
    )


def rasa_down_quick_follow_up(
    postgres: Postgres, workdir: Path, *, chats: int, down_for: float, follow_up_after: float
) -> Result:
    """Each chat writes while Rasa is down (one apology each), then again `follow_up_after` s after it is back."""
    first = make_updates(chats, chats, tag="pertama")
    second = make_updates(chats, chats, first_id=1000, tag="lagi")
    with Stack(postgres, workdir, "faults_rasa") as stack:
        assert stack.service is not None
        stack.rasa.mode = "error"
        Driver(stack.service, first, rate=20).start().join(30)
        deadline = time.monotonic() + 30
        while len(stack.bot_api.sent) < chats and time.monotonic() < deadline:  # the apologies
            time.sleep(0.1)
        time.sleep(down_for)
        stack.rasa.mode = "ok"
        back = time.monotonic()
        time.sleep(follow_up_after)
        Driver(stack.service, second, rate=20).start().join(30)
        result = wait_answered(stack.bot_api, first + second, timeout=60)
        backlog = all_answered_at(stack.bot_api, first)
    return Result(
        f"Rasa down; the citizen writes again {follow_up_after:g} s after it is back",
        result,
        result.recovery_after(back),
        _after(back, backlog),
    )
