"""The model registry: what it stores about a file, nothing twice, which model is live or the rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.modelops import registry
from bot.modelops.models import ModelStatus, RasaModel
from bot.modelops.registry import RegistryError
from tests.modelops.conftest import write_model


def test_register_reads_the_file_and_its_sidecar_and_never_stores_it_twice(
    database: Database, tmp_path: Path
) -> None:
    path = write_model(tmp_path, "ci-0123456789abcdef", "2026-11-20T08:00:00+00:00")
    (tmp_path / "ci-0123456789abcdef.meta.json").write_text(
        json.dumps({"config": "config.ci.yml", "trained_by": "ci", "metrics": {"intent_f1": 0.91}})
    )
    info = registry.inspect_model_file(path)
    with database.session() as session:
        first, created = registry.register(session, info)
        again, created_again = registry.register(session, registry.inspect_model_file(path))

    assert created and not created_again and first.id == again.id
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(RasaModel)) == 1
        model = session.get(RasaModel, first.id)
        assert model is not None
        assert (model.name, model.config, model.data_hash, model.trained_by) == (
            "ci-0123456789abcdef",
            "config.ci.yml",
            "0123456789abcdef",
            "ci",
        )
        assert model.metrics == {"intent_f1": 0.91}
        assert model.created_at.isoformat() == "2026-11-20T08:00:00+00:00"
        assert model.sha256 == info.sha256 and len(model.sha256) == 64
        assert model.status == ModelStatus.CANDIDATE


def test_a_copy_under_another_name_is_the_same_model_and_new_content_gets_a_distinct_name(
    database: Database, tmp_path: Path
) -> None:
    original = write_model(tmp_path, "ci-1111111111111111")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "ci-2222222222222222.tar.gz").write_bytes(original.read_bytes())
    retrained = tmp_path / "again"
    retrained.mkdir()
    write_model(retrained, "ci-1111111111111111", "2026-11-25T08:00:00+00:00")
    with database.session() as session:
        a, _ = registry.register(session, registry.inspect_model_file(original))
        b, created_b = registry.register(
            session, registry.inspect_model_file(copy / "ci-2222222222222222.tar.gz")
        )
        c, created_c = registry.register(
            session, registry.inspect_model_file(retrained / "ci-1111111111111111.tar.gz")
        )
        assert a.id == b.id and not created_b
        assert created_c and c.name.startswith("ci-1111111111111111@")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.tar.gz", None, "tidak ditemukan"),
        ("model.zip", b"PK", "berakhiran .tar.gz"),
        ("fake.tar.gz", b"<script>alert(1)</script>", "bukan arsip model"),
    ],
)
def test_bad_files_are_refused_politely(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RegistryError, match=message):
        registry.inspect_model_file(path)


def test_metrics_must_be_a_small_object() -> None:
    assert registry.validate_metrics({"f1": 0.9}) == {"f1": 0.9}
    with pytest.raises(RegistryError):
        registry.validate_metrics([1, 2])
    with pytest.raises(RegistryError):
        registry.validate_metrics({"x": "y" * 70_000})


def test_one_live_model_and_the_rollback_target_is_the_one_live_before(
    database: Database, registered: dict[str, int]
) -> None:
    with database.session() as session:
        for key in ("blue", "green", "broken"):
            model = session.get(RasaModel, registered[key])
            assert model is not None
            registry.mark_live(session, model, "admin")
            session.flush()
    with database.session() as session:
        live = registry.live_model(session)
        target = registry.rollback_target(session)
        assert live is not None and live.id == registered["broken"]
        assert target is not None and target.id == registered["green"]
        assert (
            session.scalar(
                select(func.count()).select_from(RasaModel).where(RasaModel.status == ModelStatus.LIVE.value)
            )
            == 1
        )
        assert registry.find_model(session, "ci-bbbbbbbbbbbbbbbb.tar.gz") is not None
        assert registry.find_model(session, str(registered["blue"])) is not None
        assert registry.find_model(session, "nope") is None
