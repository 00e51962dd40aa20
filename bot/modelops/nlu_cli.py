"""`bot nlu inbox|label|dismiss|export`, `bot train`, `bot evaluate`: the retraining loop from a terminal.

They work on the database directly (DATABASE_URL). `bot train` queues a run and works the queue in this
process (printing progress) unless `--queue-only`; a deploy of the result goes through `bot model deploy`
(only the service process can switch Rasa), after `bot evaluate` said the candidate is not worse.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bot.settings import get_settings

CLI_ACTOR = "cli"


def _database() -> Any:
    from bot.db import Database

    return Database(get_settings().database_url)


def _inbox(args: argparse.Namespace) -> int:
    from bot.modelops import inbox

    database = _database()
    try:
        with database.session() as session:
            groups = inbox.inbox(session, order=args.order, days=args.days)
            rows = inbox.export_rows(groups)
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
            return 0
        if not rows:
            print("inbox empty: no unsure messages waiting")
        for row in rows:
            print(
                f"[{row['count']:>3}] {row['text'][:70]:<70}  guess={row['model_guess'] or '-'}  "
                f"reasons={row['reasons']}  ids={row['message_ids']}"
            )
    finally:
        database.dispose()
    return 0


def _label(args: argparse.Namespace) -> int:
    from bot.modelops import inbox, trainingdata

    database = _database()
    try:
        with database.session() as session:
            if args.dismiss:
                count = inbox.dismiss(session, args.ids, args.by)
                print(f"{count} message(s) dismissed")
            else:
                if not args.label:
                    print("give --label LABEL (or --dismiss)", file=sys.stderr)
                    return 2
                examples = inbox.label(session, args.ids, args.label, args.by, new_label=args.new)
                print(f"{len(args.ids)} message(s) labelled {examples[0].label}; {len(examples)} example(s)")
    except (inbox.InboxError, trainingdata.TrainingDataError) as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0


def _export(args: argparse.Namespace) -> int:
    from bot.modelops import trainingdata

    database = _database()
    try:
        with database.session() as session:
            patch = trainingdata.export_patch(session)
    finally:
        database.dispose()
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(patch)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(patch)
    return 0


def _train(args: argparse.Namespace) -> int:
    from bot.modelops import jobs
    from bot.modelops.training_models import RunStatus, TrainingRun

    settings = get_settings()
    database = _database()
    try:
        with database.session() as session:
            run = jobs.request_run(session, args.by, args.config, holdout=not args.full_data)
            run_id = run.id
        print(f"training run #{run_id} queued ({args.config})")
        if args.queue_only:
            return 0
        worker = jobs.TrainingWorker(database, settings.rasa_models_dir)
        worker.kick()
        last = ""
        while True:
            with database.session() as session:
                row = session.get_one(TrainingRun, run_id)
                line = f"#{row.id} {row.status} {row.progress}% {row.stage}"
                status, error, model = row.status, row.error, row.model_path
            if line != last:
                print(line, flush=True)
                last = line
            if status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
                break
            time.sleep(2)
        worker.join(5)
        if status != RunStatus.SUCCEEDED:
            print(error or status, file=sys.stderr)
            return 1
        print(model)
        return 0
    except jobs.TrainingError as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    finally:
        database.dispose()


def _evaluate(args: argparse.Namespace) -> int:
    from bot.modelops import evaluation

    database = _database()
    try:
        with database.session() as session:
            row = evaluation.evaluate(session, args.model, args.by)
            report, verdict, evaluation_id = row.report, row.not_worse, row.id
    except evaluation.EvaluationError as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    if args.json:
        print(json.dumps({"id": evaluation_id, "not_worse": verdict, **report}, indent=2, ensure_ascii=False))
    else:
        for key in ("intent_accuracy", "macro_f1", "faq_accuracy"):
            live = (report.get("live") or {}).get(key)
            print(f"{key:<16} live={_fmt(live)}  candidate={_fmt(report['candidate'].get(key))}")
        print(f"changed predictions: {len(report['changed'])}; gate on: {report['gate_on']}")
        print(
            f"evaluation #{evaluation_id}: {'NOT WORSE - may deploy' if verdict else 'WORSE - deploy needs a reason'}"
        )
    return 0 if verdict else 3


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def add_nlu_commands(commands: Any) -> None:
    nlu = commands.add_parser("nlu", help="NLU inbox and training data (retraining loop)")
    sub = nlu.add_subparsers(dest="nlu_command", required=True)
    listing = sub.add_parser("inbox", help="unsure citizen messages grouped by similarity (masked)")
    listing.add_argument("--order", choices=["terbanyak", "terbaru"], default="terbanyak")
    listing.add_argument("--days", type=int, default=90)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_inbox)
    label = sub.add_parser("label", help="label inbox messages (ids from `bot nlu inbox`) or dismiss them")
    label.add_argument("ids", nargs="+", type=int)
    label.add_argument("--label", help="intent name or faq/<topic>")
    label.add_argument("--new", action="store_true", help="the label is new (not in nlu_data yet)")
    label.add_argument("--dismiss", action="store_true")
    label.add_argument("--by", default=CLI_ACTOR)
    label.set_defaults(handler=_label)
    export = sub.add_parser("export", help="database examples as a ready-to-commit YAML file")
    export.add_argument("--out", help="file to write (default: standard output)")
    export.set_defaults(handler=_export)

    train = commands.add_parser("train", help="train a model on nlu_data + database examples (queued)")
    train.add_argument("--config", default="config.ci.yml")
    train.add_argument("--full-data", action="store_true", help="do not hold the evaluation split out")
    train.add_argument("--queue-only", action="store_true", help="only queue; the service works the queue")
    train.add_argument("--by", default=CLI_ACTOR)
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="score a candidate model against the live one")
    evaluate.add_argument("model", help="registered model name or id")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--by", default=CLI_ACTOR)
    evaluate.set_defaults(handler=_evaluate)
