"""Which indexes metadata asks for (app/storage/indexes.py), without a database."""

from __future__ import annotations

from pathlib import Path

from app.metadata import load_registry
from app.storage.indexes import IndexSpec, equality_fields, index_specs

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(ROOT / "metadata")


def _serving(specs: list[IndexSpec], keys: list[str]) -> IndexSpec | None:
    return next((s for s in specs if list(s.keys[:len(keys)]) == keys), None)


def test_every_list_view_has_an_index_for_its_filters_and_order() -> None:
    for obj in REGISTRY.business_objects:
        specs = index_specs(obj)
        for name, view in obj.list_views.items():
            sort = [f for f, _ in view.sort]
            eq = equality_fields(obj, view.filters)
            wanted = [*eq, *sort, "id"]
            assert _serving(specs, wanted), f"{obj.name}/{name} needs {wanted}"
            if obj.sharing_model == "private":
                mine = ["owner", *[f for f in eq if f != "owner"], *sort, "id"]
                assert _serving(specs, mine), f"{obj.name}/{name} (a rep's) needs {mine}"


def test_descending_sorts_share_the_ascending_index() -> None:
    # activity_date desc (the view) is a backward scan of (owner, activity_date, id).
    specs = {s.name: s for s in index_specs(REGISTRY["activity"])}
    spec = specs["ix_activity_owner_activity_date_id"]
    assert spec.keys == ("owner", "activity_date", "id") and not any(spec.descending)


def test_boards_cover_their_totals_and_prefixes_are_not_duplicated() -> None:
    specs = {s.name: s for s in index_specs(REGISTRY["opportunity"])}
    board = specs["ix_opportunity_owner_stage_close_date_id__amount"]
    assert board.include == ("amount",)
    assert specs["ix_opportunity_stage_close_date_id__amount_owner"].include == (
        "amount", "owner")  # a manager's team board stays index-only
    # (owner) and (stage) alone are served by the longer indexes that start with them.
    assert "ix_opportunity_owner" not in specs and "ix_opportunity_stage" not in specs
    keys = [s.keys for s in specs.values() if not s.unique]
    assert len(keys) == len(set(keys))


def test_related_lists_read_in_the_childs_default_order() -> None:
    specs = {s.name for s in index_specs(REGISTRY["contact"])}
    assert "ix_contact_account_last_name_first_name_id" in specs
