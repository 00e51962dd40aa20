"""Blue/green deploys against fake Rasa servers: no turn fails during a switch, later turns reach the new
server, a candidate that never becomes ready leaves the live one untouched, drain waits for turns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.gateway.gateway import Gateway
from bot.modelops.deployer import DeployBusy, Deployer
from bot.modelops.models import DeploymentKind, ModelDeployment, ModelStatus, RasaModel
from bot.modelops.registry import RegistryError
from tests.modelops.fake_rasa_fleet import Fleet

FAILED_REPLY_MARK = "gangguan"


def statuses(database: Database) -> dict[str, str]:
    with database.session() as session:
        return {m.name: m.status for m in session.scalars(select(RasaModel))}


def deployments(database: Database) -> list[ModelDeployment]:
    with database.session() as session:
        return list(session.scalars(select(ModelDeployment).order_by(ModelDeployment.id)))


async def chat(gateway: Gateway, sender: str, text: str = "halo") -> str:
    replies = await gateway.handle_inbound("web", sender, text)
    return " | ".join(r.text for r in replies)


async def test_start_up_serves_the_model_and_marks_it_live(
    make_deployer: Callable[..., Deployer], gateway: Gateway, registered: dict[str, int], database: Database
) -> None:
    deployer = make_deployer()

    outcome = await deployer.start_up(registered["blue"])

    assert outcome.succeeded, outcome.detail
    assert (await chat(gateway, "warga-1")).startswith("ci-aaaaaaaaaaaaaaaa: giliran 1")
    assert statuses(database)["ci-aaaaaaaaaaaaaaaa"] == ModelStatus.LIVE
    [row] = deployments(database)
    assert (row.kind, row.status, row.stage) == (DeploymentKind.STARTUP, "succeeded", "done")


async def test_deploy_under_steady_turns_loses_none_and_moves_later_turns(
    make_deployer: Callable[..., Deployer],
    gateway: Gateway,
    fleet: Fleet,
    registered: dict[str, int],
    database: Database,
) -> None:
    deployer = make_deployer()
    assert (await deployer.start_up(registered["blue"])).succeeded
    fleet.delays["ci-bbbbbbbbbbbbbbbb"] = 1.0  # the candidate loads while citizens keep chatting
    fleet.turn_seconds = 0.05
    answers: list[tuple[float, str]] = []
    stop = asyncio.Event()

    async def citizen(n: int) -> None:
        while not stop.is_set():
            answers.append((time.monotonic(), await chat(gateway, f"warga-{n}")))
            await asyncio.sleep(0.02)

    citizens = [asyncio.create_task(citizen(n)) for n in range(4)]
    await asyncio.sleep(0.3)
    outcome = await deployer.deploy(registered["green"], "admin")
    switched_at = time.monotonic()
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*citizens)

    assert outcome.succeeded, outcome.detail
    assert answers and not [a for _, a in answers if FAILED_REPLY_MARK in a or not a]
    after = [a for t, a in answers if t > switched_at + 0.1]
    assert after and all(a.startswith("ci-bbbbbbbbbbbbbbbb:") for a in after)
    old, new = fleet.launched
    assert old.turns and new.turns
    assert not old.running and old.stopped_with_in_flight == 0
    # One conversation, two servers: the turn counter kept counting (shared tracker store).
    total = len(old_and_new_turns(fleet, "web:warga-0"))
    assert fleet.trackers["web:warga-0"]["turns"] == total
    assert [a for _, a in answers if a.endswith(f"giliran {total}")]
    assert statuses(database) == {
        "ci-aaaaaaaaaaaaaaaa": ModelStatus.RETIRED,
        "ci-bbbbbbbbbbbbbbbb": ModelStatus.LIVE,
        "ci-cccccccccccccccc": ModelStatus.CANDIDATE,
    }
    last = deployments(database)[-1]
    assert (last.kind, last.status, last.requested_by, last.previous_model_id) == (
        "deploy",
        "succeeded",
        "admin",
        registered["blue"],
    )


def old_and_new_turns(fleet: Fleet, key: str) -> list[object]:
    return [t for server in fleet.launched for t in server.turns if t.get("sender") == key]


async def test_a_candidate_that_never_loads_leaves_the_live_model_serving(
    make_deployer: Callable[..., Deployer],
    gateway: Gateway,
    fleet: Fleet,
    registered: dict[str, int],
    database: Database,
) -> None:
    deployer = make_deployer(start_timeout=1.0)
    assert (await deployer.start_up(registered["blue"])).succeeded
    fleet.never_ready.add("ci-cccccccccccccccc")

    outcome = await deployer.deploy(registered["broken"], "admin")

    assert not outcome.succeeded
    assert "tidak siap dalam 1 detik" in (outcome.detail or "")
    assert (await chat(gateway, "warga-9")).startswith("ci-aaaaaaaaaaaaaaaa:")
    blue, broken = fleet.launched
    assert blue.running and not broken.running
    assert statuses(database)["ci-aaaaaaaaaaaaaaaa"] == ModelStatus.LIVE
    assert statuses(database)["ci-cccccccccccccccc"] == ModelStatus.CANDIDATE
    last = deployments(database)[-1]
    assert (last.status, last.stage) == ("failed", "failed") and last.finished_at is not None
    assert not deployer.busy


async def test_a_candidate_that_crashes_is_reported_and_the_next_deploy_works(
    make_deployer: Callable[..., Deployer], fleet: Fleet, registered: dict[str, int], gateway: Gateway
) -> None:
    deployer = make_deployer()
    assert (await deployer.start_up(registered["blue"])).succeeded
    fleet.crash.add("ci-cccccccccccccccc")

    failed = await deployer.deploy(registered["broken"], "admin")
    ok = await deployer.deploy(registered["green"], "admin")

    assert not failed.succeeded and "rusak" in (failed.detail or "")
    assert ok.succeeded
    assert (await chat(gateway, "warga-2")).startswith("ci-bbbbbbbbbbbbbbbb:")


async def test_drain_waits_for_the_turn_in_flight_on_the_old_server(
    make_deployer: Callable[..., Deployer], gateway: Gateway, fleet: Fleet, registered: dict[str, int]
) -> None:
    deployer = make_deployer()
    assert (await deployer.start_up(registered["blue"])).succeeded
    fleet.turn_seconds = 1.5  # a slow turn that started before the switch

    slow = asyncio.create_task(chat(gateway, "warga-lambat"))
    await asyncio.sleep(0.3)
    fleet.turn_seconds = 0.0
    outcome = await deployer.deploy(registered["green"], "admin")
    answer = await slow

    assert outcome.succeeded
    assert answer.startswith("ci-aaaaaaaaaaaaaaaa: giliran 1")  # finished on the old server, not cut
    old = fleet.launched[0]
    assert old.stopped_with_in_flight == 0


async def test_one_deploy_at_a_time_and_rollback_to_the_previous_model(
    make_deployer: Callable[..., Deployer],
    gateway: Gateway,
    fleet: Fleet,
    registered: dict[str, int],
    database: Database,
) -> None:
    deployer = make_deployer()
    with pytest.raises(RegistryError, match="Belum ada model sebelumnya"):
        await deployer.begin_rollback(None, "admin")
    assert (await deployer.start_up(registered["blue"])).succeeded
    fleet.delays["ci-bbbbbbbbbbbbbbbb"] = 0.5

    await deployer.begin(registered["green"], "admin")
    with pytest.raises(DeployBusy):
        await deployer.begin(registered["broken"], "admin")
    assert (await deployer.wait()) is not None
    with pytest.raises(RegistryError, match="sudah aktif"):
        await deployer.begin("ci-bbbbbbbbbbbbbbbb", "admin")

    await deployer.begin_rollback(None, "admin")
    outcome = await deployer.wait()

    assert outcome is not None and outcome.succeeded
    assert (await chat(gateway, "warga-3")).startswith("ci-aaaaaaaaaaaaaaaa:")
    assert statuses(database)["ci-aaaaaaaaaaaaaaaa"] == ModelStatus.LIVE
    assert statuses(database)["ci-bbbbbbbbbbbbbbbb"] == ModelStatus.RETIRED
    assert [d.kind for d in deployments(database)] == ["startup", "deploy", "rollback"]
    assert len(fleet.running()) == 1


async def test_unknown_model_is_refused_without_a_deployment_row(
    make_deployer: Callable[..., Deployer], registered: dict[str, int], database: Database
) -> None:
    deployer = make_deployer()
    with pytest.raises(RegistryError, match="tidak terdaftar"):
        await deployer.begin("<script>alert(1)</script>", "admin")
    assert deployments(database) == [] and not deployer.busy


def test_ports_must_be_two_different_numbers() -> None:
    from bot.modelops.deployer import parse_ports

    assert parse_ports("5005, 5006") == (5005, 5006)
    for bad in ("5005", "5005,5005", "a,b", "1,2,3"):
        with pytest.raises(ValueError):
            parse_ports(bad)


async def test_a_service_restart_serves_the_live_model_again_and_keeps_who_deployed_it(
    make_deployer: Callable[..., Deployer], gateway: Gateway, registered: dict[str, int], database: Database
) -> None:
    first = make_deployer()
    assert (await first.start_up(registered["blue"])).succeeded
    assert (await first.deploy(registered["green"], "admin-utama")).succeeded
    await first.close()

    restarted = make_deployer()
    outcome = await restarted.start_up(registered["green"])

    assert outcome.succeeded
    assert (await chat(gateway, "warga-5")).startswith("ci-bbbbbbbbbbbbbbbb:")
    with database.session() as session:
        green = session.get(RasaModel, registered["green"])
        assert green is not None and (green.status, green.deployed_by) == ("live", "admin-utama")
