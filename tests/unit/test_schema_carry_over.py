"""build_schema's `previous`: tables of unchanged ObjectDefs are carried over, changed
ones built anew — and every table still comes after the tables it references (sync
creates tables in that order; the tests empty them in reverse)."""

from __future__ import annotations

from sqlalchemy import Table

from app.metadata import load_registry
from app.metadata.registry import Registry
from app.storage.schema import build_schema
from tests.conftest import METADATA


def test_a_kept_table_sorts_after_the_rebuilt_table_it_references() -> None:
    registry = load_registry(METADATA)
    first = build_schema(registry, "postgresql")
    # contract's foreign key to opportunity resolves to the first schema's table.
    assert _target(first.table("contract"), "opportunity") is first.table("opportunity")
    objects = dict(registry.items())
    objects["opportunity"] = registry["opportunity"].model_copy(deep=True)  # "changed"
    second = build_schema(Registry(objects, registry.permissions, registry.dashboards),
                          "postgresql", (registry, first))
    assert second.table("contract") is first.table("contract")
    assert second.table("account") is first.table("account")
    assert second.table("opportunity") is not first.table("opportunity")
    order = [table.name for table in second.all_tables]
    assert len(order) == len(set(order)) == len(first.all_tables)
    for table in second.all_tables:
        for fk in table.foreign_keys:
            target = fk.target_fullname.split(".")[0]
            if target != table.name:
                assert order.index(target) < order.index(table.name), (table.name, target)
    # The rebuilt table's key to a kept table names that very table.
    assert _target(second.table("opportunity"), "account") is first.table("account")


def _target(table: Table, column: str) -> Table:
    (key,) = table.c[column].foreign_keys
    return key.column.table
