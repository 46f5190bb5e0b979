"""`hotcrm metadata export|import|history|rollback`: the studio's versions from the command
line, through the same service (checks, versions, live apply, other processes told)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from app.metadata import documents

CLI_CONTEXT_NAME = "hotcrm metadata (command line)"


def add_parser(sub: Any) -> None:
    meta = sub.add_parser("metadata", help="export, import, history and rollback of "
                                           "metadata versions")
    actions = meta.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write the live metadata as YAML files")
    export.add_argument("--dir", type=Path, required=True)
    imp = actions.add_parser("import", help="apply a directory of YAML files as one version")
    imp.add_argument("--dir", type=Path, required=True)
    imp.add_argument("--comment", default="")
    history = actions.add_parser("history", help="list metadata versions, newest first")
    history.add_argument("--limit", type=int, default=50)
    history.add_argument("--diff", type=int, metavar="N", help="print version N's diff")
    rollback = actions.add_parser("rollback", help="make version N live again (0 = the "
                                                   "shipped YAML), as a new version")
    rollback.add_argument("number", type=int)
    rollback.add_argument("--comment", default="")


def run(args: argparse.Namespace) -> int:
    from app.core import build_services
    from app.metadata.studio import MetadataConflict, MetadataRefused
    from app.objectql import Context, ObjectQLError

    services = build_services()
    ctx = Context(user_id=None, role="admin", is_system=True, name=CLI_CONTEXT_NAME)
    try:
        if args.action == "export":
            return _export(services.studio, args.dir, services.settings.metadata_dir)
        if args.action == "import":
            return _import(services.studio, ctx, args.dir, args.comment)
        if args.action == "history":
            return _history(services.studio, args.limit, args.diff)
        info = services.studio.revert(ctx, args.number, comment=args.comment)
        print(f"Version {info.number} is live: {info.summary}")
        return 0
    except MetadataRefused as refused:
        print(f"Refused: {len(refused.problems)} problem(s):", file=sys.stderr)
        for problem in refused.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except MetadataConflict as conflict:
        print(conflict.message, file=sys.stderr)
        return 3
    except ObjectQLError as exc:  # an unknown version number
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        services.close()


def _export(studio: Any, target: Path, source: Path) -> int:
    """Objects and permission sets as the studio has them (a file the studio never changed
    is copied as shipped, comments and all); other metadata (dashboards ...) copied."""
    target.mkdir(parents=True, exist_ok=True)
    overlay = studio.overlay()
    live = studio.live_documents()
    written = 0
    for kind in documents.KINDS:
        folder = target / kind
        folder.mkdir(exist_ok=True)
        for name, doc in sorted(live[kind].items()):
            shipped = studio.baseline_text(kind, name)
            text = shipped if name not in overlay[kind] and shipped is not None \
                else documents.dump(doc)
            (folder / f"{name}{documents.SUFFIX[kind]}").write_text(text, encoding="utf-8")
            written += 1
    for extra in sorted(Path(source).iterdir()) if Path(source).is_dir() else []:
        if extra.is_dir() and extra.name not in documents.KINDS:
            shutil.copytree(extra, target / extra.name, dirs_exist_ok=True)
    print(f"Exported metadata version {studio.version()} ({written} files) to {target}")
    return 0


def _import(studio: Any, ctx: Any, source: Path, comment: str) -> int:
    changed: documents.Documents = documents.empty()
    for kind in documents.KINDS:
        folder = source / kind
        for path in sorted(folder.glob(f"*{documents.SUFFIX[kind]}")) if folder.is_dir() \
                else []:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            changed[kind][path.name.removesuffix(documents.SUFFIX[kind])] = data
    live = studio.live_documents()
    if not documents.changed_names(live, {k: {**live[k], **{n: documents.normalized(d)
                                                            for n, d in changed[k].items()}}
                                          for k in documents.KINDS}):
        print(f"Nothing changed: version {studio.version()} is live")
        return 0
    info = studio.save_documents(ctx, changed, base_version=studio.version(),
                                 comment=comment or f"import from {source}")
    print(f"Version {info.number} is live: {info.summary}")
    return 0


def _history(studio: Any, limit: int, diff: int | None) -> int:
    if diff is not None:
        print(studio.diff(diff), end="")
        return 0
    for v in studio.versions(limit):
        when = v.at.strftime("%Y-%m-%d %H:%M") if v.at else "shipped"
        who = v.author_name or v.author or "-"
        live = " (live)" if v.number == studio.version() else ""
        print(f"{v.number:>5}{live:<7} {when:<16} {who:<24} {v.comment or '-'} | {v.summary}")
    return 0
