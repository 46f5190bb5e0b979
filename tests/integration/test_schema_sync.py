"""Schema follows metadata: new fields become columns and indexes; nothing is dropped;
broken metadata never replaces the live registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect

from app.core import build_services
from app.metadata import MetadataError, load_registry
from app.objectql import Context
from app.storage.sync import _index_names

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def meta(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "metadata", tmp_path / "metadata")
    return tmp_path / "metadata"


def _add_field(meta: Path, text: str) -> None:
    path = meta / "objects" / "account.object.yml"
    path.write_text(path.read_text().replace("fields:\n", f"fields:\n{text}", 1))


def test_generated_tables_have_indexes_for_lists(tmp_path: Path) -> None:
    services = build_services(database_url=f"sqlite:///{tmp_path / 'a.db'}",
                              metadata_dir=ROOT / "metadata")
    with services.engine.connect() as conn:
        names = _index_names(conn, "opportunity")
        account_indexes = _index_names(conn, "account")
    # One index per list need; (owner) alone is served by (owner, close_date) and so on.
    # Sort indexes end in the id tie-break; boards cover what their totals sum.
    assert {"ix_opportunity_owner_close_date_id", "ix_opportunity_account_close_date_id",
            "ix_opportunity_stage_close_date_id__amount_owner",
            "ix_opportunity_close_date_id"} <= names
    assert "ix_opportunity_owner" not in names
    assert "ux_account_name_ci" in account_indexes  # case-insensitive unique name
    assert "ix_account_owner_name_id" in account_indexes  # my_accounts: owner = $user by name


def test_new_field_adds_column_and_keeps_removed_columns(tmp_path: Path, meta: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    services = build_services(database_url=url, metadata_dir=meta)
    system = Context.system()
    acc = services.ql.insert(system, "account", {"name": "Acme", "phone": "555-0100"})
    _add_field(meta, "  tier:\n    type: select\n    label: Tier\n    index: true\n"
                     "    options:\n      - {value: gold, label: Gold}\n")
    services.reload_metadata()
    columns = {c["name"] for c in inspect(services.engine).get_columns("account")}
    assert "tier" in columns
    with services.engine.connect() as conn:
        assert "ix_account_tier" in _index_names(conn, "account")
        # Analysed when built: without statistics SQLite guesses ten rows per key and may
        # prefer the new index to every planned one.
        assert conn.exec_driver_sql("SELECT stat FROM sqlite_stat1 "
                                    "WHERE idx = 'ix_account_tier'").scalar_one()
    services.ql.update(system, "account", acc["id"], {"tier": "gold"})
    assert services.ql.get(system, "account", acc["id"])["tier"] == "gold"
    # Removing the field from metadata hides it but keeps the column and its data.
    path = meta / "objects" / "account.object.yml"
    text = path.read_text()
    start = text.index("  tier:\n")
    end = text.index("      - {value: gold, label: Gold}\n") + len("      - {value: gold, "
                                                                       "label: Gold}\n")
    path.write_text(text[:start] + text[end:])
    report = services.ql.apply_registry(load_registry(meta))
    assert "account.tier" in report.orphan_columns
    assert "tier" in {c["name"] for c in inspect(services.engine).get_columns("account")}
    assert "tier" not in services.ql.get(system, "account", acc["id"])
    services.engine.dispose()


def test_broken_metadata_keeps_the_live_registry(tmp_path: Path, meta: Path) -> None:
    services = build_services(database_url=f"sqlite:///{tmp_path / 'c.db'}",
                              metadata_dir=meta)
    before = services.ql.registry
    _add_field(meta, "  broken:\n    type: nonsense\n")
    with pytest.raises(MetadataError) as caught:
        services.reload_metadata()
    assert "nonsense" in str(caught.value)
    assert services.ql.registry is before
    assert services.ql.insert(Context.system(), "account",
                              {"name": "Still works", "phone": "555-0101"})["id"]
    services.engine.dispose()


def test_schema_sync_on_postgres_is_idempotent(services) -> None:
    report = services.ql.sync_schema()
    assert not report.changed


def test_sync_rebuilds_misshapen_indexes_and_drops_unwanted_ones(services) -> None:
    """An index of ours with the wrong columns or order (built by an older version) is
    rebuilt; one metadata no longer asks for is dropped; a second sync changes nothing."""
    engine = services.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_account_owner_name_id")
        conn.exec_driver_sql("CREATE INDEX ix_account_owner_name_id ON account (owner, name)")
        conn.exec_driver_sql("CREATE INDEX ix_account_owner ON account (owner)")
    report = services.ql.sync_schema()
    assert report.rebuilt_indexes == ["ix_account_owner_name_id"]
    assert report.dropped_indexes == ["ix_account_owner"]
    with engine.connect() as conn:
        names = _index_names(conn, "account")
        if engine.dialect.name == "postgresql":
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_account_owner_name_id'"
            ).scalar_one()
            assert "(owner NULLS FIRST, name NULLS FIRST, id NULLS FIRST)" in definition
    assert "ix_account_owner" not in names and "ix_account_owner_name_id" in names
    assert not services.ql.sync_schema().changed


def test_object_tables_are_vacuumed_early_on_postgres(services) -> None:
    """Index-only counts and board totals need a fresh visibility map: object tables are
    autovacuumed after 1% of their rows changed."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL storage parameters")
    with services.engine.connect() as conn:
        options = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'opportunity'").scalar_one()
    assert "autovacuum_vacuum_scale_factor=0.01" in options
    assert "autovacuum_vacuum_insert_scale_factor=0.01" in options
