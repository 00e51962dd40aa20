"""`bot catalogue import FILE [--dry-run]` and `bot catalogue export [--output FILE]`.

Import validates the whole file first and lists every error with its line; only a valid file is stored, in
one transaction (all or nothing). `--dry-run` only validates. Export writes the stored catalogue in the same
format, so export → edit → import round-trips.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.catalogue.schema import CatalogueError, parse_catalogue
from bot.settings import get_settings


def _import(args: argparse.Namespace) -> int:
    from bot.catalogue.store import import_catalogue, load_catalogue
    from bot.db import Database

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{path}: berkas tidak dapat dibaca ({error.__class__.__name__})", file=sys.stderr)
        return 2
    try:
        catalogue = parse_catalogue(text)
    except CatalogueError as error:
        for issue in error.issues:
            where = f"{path}:{issue.line}" if issue.line else str(path)
            print(f"{where}: {issue.message}", file=sys.stderr)
        print(f"{len(error.issues)} kesalahan; katalog tidak diimpor.", file=sys.stderr)
        return 1
    services = sum(len(agency.services) for agency in catalogue.agencies)
    summary = f"{catalogue.office.name}: {len(catalogue.agencies)} instansi, {services} layanan"
    if args.dry_run:
        print(f"{path}: valid ({summary}); tidak ada yang disimpan (--dry-run).")
        return 0
    database = Database(get_settings().database_url)
    try:
        with database.session() as session:
            if args.if_empty and load_catalogue(session) is not None:
                print("Katalog sudah ada; tidak diimpor ulang (--if-empty).")
                return 0
            revision = import_catalogue(session, catalogue, actor=args.actor)
    except SQLAlchemyError as error:
        print(
            f"Basis data tidak dapat ditulis ({error.__class__.__name__}); sudah `bot db upgrade`?",
            file=sys.stderr,
        )
        return 1
    finally:
        database.dispose()
    print(f"Katalog diimpor ({summary}); revisi {revision}.")
    return 0


def _export(args: argparse.Namespace) -> int:
    from bot.catalogue.store import export_yaml, load_catalogue
    from bot.db import Database

    database = Database(get_settings().database_url)
    try:
        with database.session() as session:
            catalogue = load_catalogue(session)
    except SQLAlchemyError as error:
        print(
            f"Basis data tidak dapat dibaca ({error.__class__.__name__}); sudah `bot db upgrade`?",
            file=sys.stderr,
        )
        return 1
    finally:
        database.dispose()
    if catalogue is None:
        print("Belum ada katalog tersimpan (impor dulu dengan `bot catalogue import FILE`).", file=sys.stderr)
        return 1
    text = export_yaml(catalogue)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Katalog diekspor ke {args.output}.")
    else:
        sys.stdout.write(text)
    return 0


def add_catalogue_commands(commands: Any) -> None:
    catalogue = commands.add_parser("catalogue", help="service catalogue of the office (YAML import/export)")
    sub = catalogue.add_subparsers(dest="catalogue_command", required=True)
    load = sub.add_parser("import", help="validate FILE and replace the stored catalogue with it (atomic)")
    load.add_argument("file")
    load.add_argument("--dry-run", action="store_true", help="only validate and list the errors with lines")
    load.add_argument("--actor", default="cli", help="name recorded in the audit trail (default: cli)")
    load.add_argument(
        "--if-empty", action="store_true", help="only when no catalogue is stored yet (make run)"
    )
    load.set_defaults(handler=_import)
    dump = sub.add_parser("export", help="write the stored catalogue as YAML (stdout or --output FILE)")
    dump.add_argument("--output", "-o")
    dump.set_defaults(handler=_export)
