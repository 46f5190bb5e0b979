"""Operations: the first admin of a fresh container, and backup → restore round trips
that bring back every record (SQLite online backup; pg_dump/pg_restore on PostgreSQL)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.auth.passwords import verify_password
from app.core import Services, build_services
from app.objectql import Context
from app.ops.backup import BackupError, backup, restore
from app.ops.bootstrap import ensure_admin
from tests.conftest import METADATA

SYSTEM = Context.system()


def test_first_admin_is_created_once_and_never_reset(services: Services) -> None:
    ql = services.ql
    first = ensure_admin(ql, "ops@example.com", "first-secret-1")
    assert first.created
    admin = ql.find_one(SYSTEM, "user", fields=["id", "role"],
                        filters=[["email", "=", "ops@example.com"]])
    assert admin is not None and admin["role"] == "admin"
    assert verify_password(ql, admin["id"], "first-secret-1")
    # A replica restarting with another password changes nothing.
    again = ensure_admin(ql, "ops@example.com", "other-secret-2")
    assert not again.created and "already" in again.reason
    assert verify_password(ql, admin["id"], "first-secret-1")
    assert ql.count(SYSTEM, "user", filters=[["role", "=", "admin"]])[0] == 1
    # The creation is in the audit trail like any other write.
    assert ql.history(SYSTEM, "user", admin["id"])


def test_first_admin_does_not_promote_an_existing_user(services: Services) -> None:
    ql = services.ql
    ql.insert(SYSTEM, "user", {"email": "rep@example.com", "name": "Rep", "role": "sales_rep"})
    result = ensure_admin(ql, "rep@example.com", "long-enough-1")
    assert not result.created
    user = ql.find_one(SYSTEM, "user", fields=["role"],
                       filters=[["email", "=", "rep@example.com"]])
    assert user is not None and user["role"] == "sales_rep"


def _fill(services: Services) -> dict[str, int]:
    ql = services.ql
    for i in range(25):
        account = ql.insert(SYSTEM, "account", {"name": f"Backup Co {i}", "industry": "retail",
                                                  "phone": "+1 555 0100"})
        ql.insert(SYSTEM, "contact", {"first_name": "Pat", "last_name": f"Doe {i}",
                                      "account": account["id"], "email": f"pat{i}@example.com"})
    return {name: ql.count(SYSTEM, name)[0] for name in ("account", "contact")}


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        result = {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                  for name in ("account", "contact")}
    engine.dispose()
    return result


def test_sqlite_backup_restores_every_record(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    services = build_services(database_url=url, metadata_dir=METADATA)
    expected = _fill(services)
    copy = backup(url, tmp_path / "backups" / "hotcrm.bak")
    # Damage the live database after the backup, then restore into it.
    services.ql.delete(SYSTEM, "account", services.ql.find(
        SYSTEM, "account", fields=["id"], limit=1).records[0]["id"])
    services.engine.dispose()
    restore(url, copy)
    assert _counts(url) == expected
    # Restoring into a fresh path works too (a new machine).
    fresh = f"sqlite:///{tmp_path / 'fresh' / 'hotcrm.db'}"
    restore(fresh, copy)
    assert _counts(fresh) == expected


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError):
        restore(f"sqlite:///{tmp_path / 'x.db'}", junk)
    with pytest.raises(BackupError, match="no backup file"):
        restore(f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "missing.bak")


def test_postgres_backup_and_restore_round_trip(postgres_url: str, tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    name = f"hotcrm_ops_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        services = build_services(database_url=url, metadata_dir=METADATA)
        expected = _fill(services)
        copy = backup(url, tmp_path / "pg.dump")
        with services.engine.begin() as conn:
            conn.execute(text("DELETE FROM contact"))
        services.engine.dispose()
        restore(url, copy)
        assert _counts(url) == expected
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_cli_backup_reports_its_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    build_services(database_url=url, metadata_dir=METADATA).engine.dispose()
    env = {"HOTCRM_DATABASE_URL": url, "HOTCRM_DATA_DIR": str(tmp_path),
           "HOTCRM_METADATA_DIR": str(METADATA), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "app.cli", "backup", "--to",
                           str(tmp_path / "cli.bak")], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Backup written to" in done.stdout and (tmp_path / "cli.bak").stat().st_size > 0
