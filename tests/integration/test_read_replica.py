"""Read replica routing against a real PostgreSQL streaming standby.

The test starts its own small PostgreSQL cluster (initdb) and a standby cloned from it
with pg_basebackup, streaming WAL — the same setup an operator runs. The shared test
server cannot serve as the primary: its pg_hba admits no replication connections.
Pausing WAL replay on the standby makes "which database answered" visible: a record
saved on the primary is missing from the replica until replay resumes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.config import Settings
from app.core import Services, build_services
from app.devserver import ROOT, free_port
from app.objectql import Context
from tests.conftest import _missing

pytestmark = [pytest.mark.xdist_group("replica")]

BINARIES = ("initdb", "pg_ctl", "pg_basebackup")


@dataclass
class Pair:
    primary: str
    replica: str
    standby_dir: Path
    run: Callable[..., None]

    def sql(self, url: str, statement: str) -> object:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.execute(text(statement))
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()


def catch_up(pair: Pair, seconds: float = 30) -> None:
    """Wait until the standby has replayed everything the primary has written so far.

    The insert position, not the write position: with synchronous_commit=off (the default)
    a commit record can still sit in the WAL buffer, behind pg_current_wal_lsn()."""
    target = pair.sql(pair.primary, "SELECT pg_current_wal_insert_lsn()::text")
    _wait(lambda: bool(pair.sql(pair.replica, "SELECT pg_last_wal_replay_lsn() >= "
                                              f"'{target}'::pg_lsn")), seconds)


def _runner(owner: str | None) -> Callable[..., None]:
    def run(*command: str) -> None:
        full = ["runuser", "-u", owner, "--", *command] if owner else list(command)
        done = subprocess.run(full, capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, f"{' '.join(command)}: {done.stderr[-2000:]}"
    return run


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    if not all(shutil.which(b) for b in BINARIES):
        _missing("PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)")
    # PostgreSQL refuses to run as root; CI containers often are root.
    owner = "postgres" if os.geteuid() == 0 else None
    # Not under pytest's tmp tree: its parent is private to root, out of the owner's reach.
    root = Path(tempfile.mkdtemp(prefix="hotcrm-replica-"))
    if owner:
        shutil.chown(root, owner)
    run = _runner(owner)
    primary_dir, standby_dir = root / "primary", root / "standby"
    primary_port, standby_port = free_port(), free_port()
    run("initdb", "-D", str(primary_dir), "-U", "postgres", "-A", "trust", "--no-sync",
        "-E", "UTF8")
    settings = (f"port={primary_port}\nlisten_addresses='127.0.0.1'\n"
                f"unix_socket_directories='{root}'\nfsync=off\nfull_page_writes=off\n"
                "shared_buffers=16MB\nmax_connections=40\nwal_level=replica\n")
    (primary_dir / "postgresql.auto.conf").write_text(settings)
    started: list[Path] = []
    try:
        run("pg_ctl", "-D", str(primary_dir), "-l", str(root / "primary.log"), "-w", "start")
        started.append(primary_dir)
        base = f"postgresql+psycopg://postgres@127.0.0.1:{primary_port}"
        Pair("", "", standby_dir, run).sql(f"{base}/postgres", "CREATE DATABASE hotcrm")
        run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
            "-D", str(standby_dir), "-R", "-X", "stream", "--no-sync",
            "--checkpoint=fast")  # a spread checkpoint waits ~90 s on an idle primary
        with (standby_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port={standby_port}\nhot_standby=on\n")
        run("pg_ctl", "-D", str(standby_dir), "-l", str(root / "standby.log"), "-w", "start")
        started.append(standby_dir)
        yield Pair(f"{base}/hotcrm",
                   f"postgresql+psycopg://postgres@127.0.0.1:{standby_port}/hotcrm",
                   standby_dir, run)
    finally:
        for data in reversed(started):
            subprocess.run(["runuser", "-u", owner, "--"] * bool(owner) + [
                "pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True, check=False, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def services(pair: Pair) -> Iterator[Services]:
    built = build_services(Settings(database_url=pair.primary, redis_url=None,
                                    metadata_dir=ROOT / "metadata",
                                    replica_url=pair.replica, replica_sticky_seconds=3))
    catch_up(pair)  # the tables exist on the standby too
    yield built
    built.close()


def _user(services: Services, name: str) -> Context:
    record = services.ql.insert(Context.system(), "user", {
        "email": f"{name}.{uuid.uuid4().hex[:6]}@hotcrm.local", "name": name,
        "role": "admin"})
    return Context.system(record["id"])


def _names(services: Services, ctx: Context, marker: str) -> set[str]:
    ql = services.ql
    with ql.replica_reads(ctx):
        found = ql.find(ctx, "account", fields=["name"],
                        filters=[["name", "startswith", marker]], limit=50)
    return {r["name"] for r in found.records}


def _wait(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.05)


def test_lists_read_the_replica_while_saves_and_record_reads_use_the_primary(
        pair: Pair, services: Services) -> None:
    writer, reader = _user(services, "Writer"), _user(services, "Reader")
    marker = f"Replica {uuid.uuid4().hex[:6]}"
    ql = services.ql
    ql.insert(writer, "account", {"name": f"{marker} one", "phone": "+1 555 0100"})
    catch_up(pair)
    assert _names(services, reader, marker) == {f"{marker} one"}
    pair.sql(pair.replica, "SELECT pg_wal_replay_pause()")
    try:
        second = ql.insert(writer, "account", {"name": f"{marker} two",
                                               "phone": "+1 555 0101"})
        # The reader's list comes from the paused standby: the new account is not there.
        assert _names(services, reader, marker) == {f"{marker} one"}
        # A record page reads the primary; so does the writer's own list (read your writes).
        assert ql.get(reader, "account", second["id"])["name"] == f"{marker} two"
        assert _names(services, writer, marker) == {f"{marker} one", f"{marker} two"}
        # Reads outside a replica block (triggers, permissions, saves) use the primary.
        assert ql.count(reader, "account", filters=[["name", "startswith", marker]])[0] == 2
    finally:
        pair.sql(pair.replica, "SELECT pg_wal_replay_resume()")
    catch_up(pair)
    assert len(_names(services, reader, marker)) == 2


def test_the_writer_returns_to_the_replica_after_the_sticky_window(
        pair: Pair, services: Services) -> None:
    writer = _user(services, "Sticky")
    marker = f"Sticky {uuid.uuid4().hex[:6]}"
    routing = services.ql.routing
    pair.sql(pair.replica, "SELECT pg_wal_replay_pause()")
    routing.sticky_seconds = 0.6
    try:
        services.ql.insert(writer, "account", {"name": f"{marker} a", "phone": "+1 555 0102"})
        assert routing.recently_wrote(writer.user_id)
        time.sleep(0.7)
        assert _names(services, writer, marker) == set(), "still reading the primary"
    finally:
        routing.sticky_seconds = 3
        pair.sql(pair.replica, "SELECT pg_wal_replay_resume()")


def test_reads_fall_back_to_the_primary_when_the_replica_is_down(
        pair: Pair, services: Services) -> None:
    reader = _user(services, "Fallback")
    marker = f"Fallback {uuid.uuid4().hex[:6]}"
    services.ql.insert(Context.system(), "account", {"name": f"{marker} x",
                                                     "phone": "+1 555 0103"})
    services.ql.routing.replica.dispose()  # type: ignore[union-attr]
    pair.run("pg_ctl", "-D", str(pair.standby_dir), "-m", "fast", "-w", "stop")
    try:
        assert _names(services, reader, marker) == {f"{marker} x"}
    finally:
        pair.run("pg_ctl", "-D", str(pair.standby_dir), "-l",
                 str(pair.standby_dir.parent / "standby.log"), "-w", "start")
