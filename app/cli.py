"""`hotcrm` console script: run, seed, check-metadata, create-user, backup, restore,
metadata (export, import, history, rollback)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from app.config import get_settings
from app.metadata import MetadataError, load_registry
from app.metadata.system_objects import ROLES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotcrm", description="HotCRM command line")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the web server (UI + REST API)")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    seed = sub.add_parser("seed", help="load demo or benchmark data")
    seed.add_argument("--scale", default="demo",
                      help="demo | large | N (N accounts with 3 contacts, 2 opportunities "
                           "and 10 activities each)")
    seed.add_argument("--random-seed", type=int, default=42)
    check = sub.add_parser("check-metadata", help="validate metadata/*.object.yml")
    check.add_argument("--dir", type=Path, help="metadata directory (default: configured)")
    user = sub.add_parser("create-user", help="create a user with a password")
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--password", required=True)
    user.add_argument("--manager", help="the manager's email")
    backup = sub.add_parser("backup", help="write a consistent copy of the database")
    backup.add_argument("--to", type=Path, required=True, dest="path",
                        help="backup file (SQLite copy, or pg_dump custom format)")
    restore = sub.add_parser("restore", help="replace the database with a backup "
                                             "(stop the servers first)")
    restore.add_argument("--from", type=Path, required=True, dest="path")
    from app.cli_metadata import add_parser as add_metadata_parser

    add_metadata_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"run": _run, "seed": _seed, "check-metadata": _check,
                "create-user": _create_user, "backup": _backup,
                "restore": _restore, "metadata": _metadata}[args.command](args)
    except MetadataError as exc:
        print(f"Metadata has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2


def _metadata(args: argparse.Namespace) -> int:
    from app.cli_metadata import run as run_metadata

    return run_metadata(args)


def _run(args: argparse.Namespace) -> int:
    from app.server import run

    run(args.host, args.port)
    return 0


def _check(args: argparse.Namespace) -> int:
    directory = args.dir or get_settings().metadata_dir
    registry = load_registry(directory)  # MetadataError is reported by main()
    objects = registry.business_objects
    fields = sum(len(o.fields) for o in objects)
    print(f"OK: {len(objects)} objects, {fields} fields, {len(registry.dashboards)} "
          f"dashboards in {directory}")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from app.core import build_services
    from app.seed import seed_scale

    services = build_services()
    started = time.perf_counter()
    counts = seed_scale(services, args.scale, args.random_seed)
    elapsed = time.perf_counter() - started
    print(", ".join(f"{n:,} {k}" for k, n in counts.items()) + f" in {elapsed:.1f} s")
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from app.auth.passwords import WeakPassword, set_password
    from app.core import build_services
    from app.objectql import Context, ObjectQLError

    services = build_services()
    ql, system = services.ql, Context.system()
    data = {"email": args.email, "name": args.name, "role": args.role}
    if args.manager:
        manager = ql.find_one(system, "user", fields=["id"],
                              filters=[["email", "=", args.manager]])
        if manager is None:
            print(f"No user with email {args.manager}", file=sys.stderr)
            return 1
        data["manager"] = manager["id"]
    if len(args.password) < 8:
        print("Passwords need at least 8 characters", file=sys.stderr)
        return 1
    try:
        with ql.transaction():
            user = ql.insert(system, "user", data)
            set_password(ql, user["id"], args.password)
    except (ObjectQLError, WeakPassword) as exc:
        print(f"Cannot create user: {exc}", file=sys.stderr)
        return 1
    print(f"Created {args.role} {args.email} ({user['id']})")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from app.ops.backup import BackupError, backup

    try:
        path = backup(get_settings().database_url, args.path)
    except (BackupError, OSError) as exc:
        print(f"Backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"Backup written to {path} ({path.stat().st_size:,} bytes)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from app.ops.backup import BackupError, restore

    try:
        restore(get_settings().database_url, args.path)
    except (BackupError, OSError) as exc:
        print(f"Restore failed: {exc}", file=sys.stderr)
        return 1
    print(f"Restored from {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
