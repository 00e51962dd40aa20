"""`bot model list|register|deploy|rollback`.

`list` and `register` work on the database directly (DATABASE_URL), with or without a running service.
`deploy` and `rollback` ask the running service (SERVICE_URL, default http://127.0.0.1:8000) over its
admin API with SERVICE_TOKEN: only the process that owns the gateway can switch it to another Rasa server.
They print the progress and exit 0 when the new model is live, 1 when the deploy failed (the old model
then still serves).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bot.settings import get_settings, require_secrets

POLL_SECONDS = 1.0
DEFAULT_SERVICE_URL = "http://127.0.0.1:8000"


def _list(args: argparse.Namespace) -> int:
    from bot.db import Database
    from bot.modelops import registry

    database = Database(get_settings().database_url)
    try:
        with database.session() as session:
            models = registry.list_models(session)
            if args.json:
                print(json.dumps([_row(m) for m in models], indent=2, default=str))
                return 0
            if not models:
                print("no models registered; `bot model register models/<name>.tar.gz`")
                return 0
            print(f"{'ID':>4}  {'STATUS':<9}  {'NAME':<32}  {'TRAINED (UTC)':<16}  METRICS")
            for m in models:
                metrics = ", ".join(
                    f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in (m.metrics or {}).items()
                )
                print(
                    f"{m.id:>4}  {m.status:<9}  {m.name:<32}  {m.created_at:%Y-%m-%d %H:%M}  {metrics[:60] or '-'}"
                )
    finally:
        database.dispose()
    return 0


def _row(model: Any) -> dict[str, Any]:
    return {
        key: getattr(model, key)
        for key in (
            "id",
            "name",
            "status",
            "path",
            "sha256",
            "created_at",
            "trained_by",
            "metrics",
            "deployed_at",
        )
    }


def _register(args: argparse.Namespace) -> int:
    from bot.db import Database
    from bot.modelops import registry
    from bot.modelops.registry import RegistryError

    try:
        metrics = (
            registry.validate_metrics(json.loads(Path(args.metrics).read_text())) if args.metrics else None
        )
        info = registry.inspect_model_file(Path(args.path))
    except (RegistryError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    database = Database(get_settings().database_url)
    try:
        with database.session() as session:
            model, created = registry.register(session, info, trained_by=args.trained_by, metrics=metrics)
            print(
                f"{'registered' if created else 'already registered'}: #{model.id} {model.name} ({model.status})"
            )
    finally:
        database.dispose()
    return 0


def _service_url(args: argparse.Namespace) -> str:
    return str(args.url or os.environ.get("SERVICE_URL") or DEFAULT_SERVICE_URL).rstrip("/")


def _follow(args: argparse.Namespace, path: str, body: dict[str, Any]) -> int:
    import logging

    import httpx

    settings = get_settings()
    require_secrets(settings, f"bot model {args.model_command}")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise
    url = _service_url(args)
    headers = {"Authorization": f"Bearer {settings.service_token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30, trust_env=False) as http:
        try:
            response = http.post(path, json=body)
        except httpx.HTTPError as error:
            print(f"error: the service at {url} does not answer ({type(error).__name__})", file=sys.stderr)
            return 2
        if response.status_code != 202:
            print(
                f"error: {response.status_code} {response.json().get('detail', response.text)}",
                file=sys.stderr,
            )
            return 2
        deployment = response.json()
        print(f"{deployment['kind']} #{deployment['id']} of {deployment['model_name']} started")
        stage = ""
        while deployment["status"] == "running":
            if deployment["stage_label"] != stage:
                stage = deployment["stage_label"]
                print(f"  {stage}")
            time.sleep(POLL_SECONDS)
            deployment = http.get(f"/api/v1/models/deployments/{deployment['id']}").json()
    ok = deployment["status"] == "succeeded"
    print(f"{'done' if ok else 'FAILED'}: {deployment.get('detail') or deployment['stage_label']}")
    return 0 if ok else 1


def _actor() -> str:
    return f"cli:{os.environ.get('USER') or 'unknown'}"[:120]


def _deploy(args: argparse.Namespace) -> int:
    from urllib.parse import quote

    return _follow(args, f"/api/v1/models/{quote(args.model, safe='')}/deploy", {"requested_by": _actor()})


def _rollback(args: argparse.Namespace) -> int:
    return _follow(args, "/api/v1/models/rollback", {"model": args.model, "requested_by": _actor()})


def add_model_commands(commands: Any) -> None:
    model = commands.add_parser("model", help="model registry and blue/green deploys of Rasa models")
    sub = model.add_subparsers(dest="model_command", required=True)
    listing = sub.add_parser("list", help="registered models, their metrics and which is live")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    register = sub.add_parser("register", help="add a trained model file (.tar.gz) to the registry")
    register.add_argument("path")
    register.add_argument("--trained-by", help="who trained it")
    register.add_argument("--metrics", help="JSON file with the model's metrics (an object)")
    register.set_defaults(handler=_register)
    for name, handler, help_text in (
        ("deploy", _deploy, "deploy a registered model (name or id) with zero downtime"),
        ("rollback", _rollback, "go back to the previous model, or to the one named"),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("model", nargs=None if name == "deploy" else "?", help="model name or id")
        command.add_argument(
            "--url", help=f"the running service (default SERVICE_URL or {DEFAULT_SERVICE_URL})"
        )
        command.set_defaults(handler=handler)
