"""`hotcrm backup` / `hotcrm restore`.

SQLite: the online backup API copies a consistent snapshot page by page while the server
keeps serving (readers and writers are not blocked for the whole copy). PostgreSQL: the
standard `pg_dump -Fc` / `pg_restore --clean` pair, which is what a DBA would run anyway;
we only pass the connection settings from the configured URL.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    pass


def backup(database_url: str, target: Path) -> Path:
    url = make_url(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst, pages=1024)
        return target
    if url.get_backend_name() == "postgresql":
        _run_pg(["pg_dump", "-Fc", "--no-owner", "-f", str(target)], url)
        return target
    raise BackupError(f"backup does not support {url.get_backend_name()}")


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with the backup (stop the servers first)."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(source) as src:
            try:
                intact = src.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            except sqlite3.DatabaseError:
                intact = False
            if not intact:
                raise BackupError(f"{source} is not an intact SQLite database")
            target = _sqlite_path(url)
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(target) as dst:
                src.backup(dst)
        return
    if url.get_backend_name() == "postgresql":
        _run_pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 "-d", url.database or ""], url, source)
        return
    raise BackupError(f"restore does not support {url.get_backend_name()}")


def _sqlite_path(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return url.database


def _run_pg(command: list[str], url: URL, stdin_file: Path | None = None) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    env = dict(os.environ)
    env.update({key: str(value) for key, value in {
        "PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username,
        "PGPASSWORD": url.password, "PGDATABASE": url.database}.items() if value})
    args = [*command, str(stdin_file)] if stdin_file else command
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")
