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
    assert {"ix_opportunity_owner", "ix_opportunity_account", "ix_opportunity_stage",
            "ix_opportunity_close_date"} <= names
    assert "ux_account_name_ci" in account_indexes  # case-insensitive unique name
    assert "ix_account_owner_name" in account_indexes  # my_accounts: owner = $user by name


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
