"""The metadata studio service on SQLite and PostgreSQL: a change is checked like
`hotcrm check-metadata`, stored as a version, applied live without losing a row, and
reversible; stale or data-losing changes are refused and change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from app.core import Services
from app.metadata import MetadataError, load_registry
from app.metadata.documents import dump
from app.metadata.studio import MetadataConflict, MetadataRefused
from app.objectql import Context
from app.objectql.errors import PermissionDenied
from tests.conftest import METADATA, make_team
from tests.integration.studio_support import backend, region_field, svc

__all__ = ["backend", "svc"]  # fixtures

SYSTEM = Context.system()


def _accounts(svc: Services, n: int) -> list[str]:
    return [svc.ql.insert(SYSTEM, "account", {
        "name": f"Account {i:03}", "phone": "555-0100",
        "billing_postal_code": f"{i}" if i % 2 else "n/a"})["id"] for i in range(n)]


def _raw(svc: Services, sql: str) -> list[tuple]:
    with svc.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _with_region(svc: Services) -> dict:
    doc = svc.studio.object_document("account")
    doc["fields"]["region"] = region_field()
    return doc


def test_field_added_online_keeps_every_row_and_rollback_restores_hidden_data(
        svc: Services) -> None:
    studio = svc.studio
    ids = _accounts(svc, 40)
    before = _raw(svc, "SELECT id, name, phone FROM account ORDER BY id")
    info = studio.save_object(SYSTEM, "account", _with_region(svc), base_version=0,
                              comment="add region")
    assert (info.number, studio.version(), info.comment) == (1, 1, "add region")
    assert "account: added field region" in info.summary
    # every row is still there, unchanged, and the new field is live at once
    assert _raw(svc, "SELECT id, name, phone FROM account ORDER BY id") == before
    assert svc.ql.update(SYSTEM, "account", ids[0], {"region": "emea"})["region"] == "emea"
    svc.ql.update(SYSTEM, "account", ids[1], {"region": "apac"})
    # hide it: the field leaves the metadata, its column and values stay
    doc = studio.object_document("account")
    del doc["fields"]["region"]
    hidden = studio.save_object(SYSTEM, "account", doc, base_version=1, comment="hide")
    assert "hid field region" in hidden.summary
    assert "region" not in svc.ql.registry["account"].fields
    assert "region" not in svc.ql.get(SYSTEM, "account", ids[0])
    assert set(studio.hidden_fields("account")) == {"region"}
    assert _raw(svc, f"SELECT region FROM account WHERE id = '{ids[0]}'") == [("emea",)]
    # revert to version 1: the field comes back with its data
    back = studio.revert(SYSTEM, 1, comment="undo hide")
    assert back.number == 3 and studio.version() == 3
    assert "reverted to version 1" in back.summary
    assert svc.ql.get(SYSTEM, "account", ids[0])["region"] == "emea"
    assert svc.ql.get(SYSTEM, "account", ids[1])["region"] == "apac"
    assert svc.ql.count(SYSTEM, "account")[0] == 40
    assert [v.number for v in studio.versions()] == [3, 2, 1, 0]
    assert "+  region:" in studio.diff(1) and "-  region:" in studio.diff(2)


def test_a_restart_serves_baseline_plus_latest_version(svc: Services) -> None:
    svc.studio.save_object(SYSTEM, "account", _with_region(svc), base_version=0)
    from app.config import Settings
    from app.core import build_services

    again = build_services(Settings(database_url=str(svc.engine.url.render_as_string(
        hide_password=False)), metadata_dir=METADATA, redis_url=None))
    try:
        assert again.studio.version() == 1
        assert "region" in again.ql.registry["account"].fields
        assert again.studio.object_document("account")["fields"]["region"]["label"] == "Region"
    finally:
        again.close()


def test_refused_with_the_same_messages_as_check_metadata(svc: Services,
                                                          tmp_path: Path) -> None:
    doc = svc.studio.object_document("account")
    doc["fields"]["region"] = {"type": "picklist", "label": "Region"}
    doc["fields"]["score"] = {"type": "formula", "format": "number", "formula": "nope +"}
    doc["list_views"]["all"]["columns"].append("no_such_field")
    # the same document as a file, checked the way `hotcrm check-metadata` does
    copy = tmp_path / "metadata"
    shutil.copytree(METADATA, copy)
    (copy / "objects" / "account.object.yml").write_text(dump(doc))
    with pytest.raises(MetadataError) as from_files:
        load_registry(copy)
    with pytest.raises(MetadataRefused) as refused:
        svc.studio.save_object(SYSTEM, "account", doc, base_version=0)
    expected = [(p.line, p.object, p.field, p.message) for p in from_files.value.problems]
    assert [(p.line, p.object, p.field, p.message) for p in refused.value.problems] == expected
    assert len(expected) == 3
    assert any("unknown field type 'picklist'" in m for *_, m in expected)
    assert svc.studio.check_object("account", doc) == refused.value.problems
    # nothing became live, nothing was stored
    assert svc.studio.version() == 0 and svc.studio.versions()[0].number == 0
    assert "region" not in svc.ql.registry["account"].fields


def test_second_admin_gets_a_conflict_with_the_first_admins_diff(svc: Services) -> None:
    first = _with_region(svc)
    second = svc.studio.object_document("account")
    second["fields"]["fax"]["label"] = "Fax number"
    svc.studio.save_object(SYSTEM, "account", first, base_version=0, comment="region")
    with pytest.raises(MetadataConflict) as conflict:
        svc.studio.save_object(SYSTEM, "account", second, base_version=0)
    assert conflict.value.current_version == 1
    assert "+  region:" in conflict.value.their_diff and "region" in conflict.value.their_diff
    assert conflict.value.status == 409
    # nothing overwritten: region is still there, the label unchanged
    assert svc.ql.registry["account"].fields["fax"].label == "Fax"
    assert "region" in svc.ql.registry["account"].fields


def test_refused_type_change_changes_nothing(svc: Services) -> None:
    ids = _accounts(svc, 12)  # odd rows hold digits as postal code, even rows "n/a"
    doc = svc.studio.object_document("account")
    doc["fields"]["billing_postal_code"] = {"type": "number", "label": "Postal code"}
    before = _raw(svc, "SELECT id, billing_postal_code FROM account ORDER BY id")
    with pytest.raises(MetadataRefused) as refused:
        svc.studio.save_object(SYSTEM, "account", doc, base_version=0)
    message = refused.value.problems[0].message
    assert "cannot change type from text to number: 6 stored value(s)" in message
    assert ids[0] in message  # names some of the records
    assert _raw(svc, "SELECT id, billing_postal_code FROM account ORDER BY id") == before
    assert svc.ql.registry["account"].fields["billing_postal_code"].type == "text"
    assert svc.studio.version() == 0


def test_type_change_that_converts_every_value_is_applied(svc: Services) -> None:
    ids = _accounts(svc, 6)
    for record_id in ids:
        svc.ql.update(SYSTEM, "account", record_id, {"billing_postal_code": "42"})
    doc = svc.studio.object_document("account")
    doc["fields"]["billing_postal_code"] = {"type": "number", "label": "Postal code",
                                            "scale": 0}
    svc.studio.save_object(SYSTEM, "account", doc, base_version=0)
    found = svc.ql.find(SYSTEM, "account", fields=["billing_postal_code"]).records
    assert [r["billing_postal_code"] for r in found] == [42] * 6


def test_new_unique_constraint_refused_naming_duplicates(svc: Services) -> None:
    _accounts(svc, 5)  # phone 555-0100 five times
    doc = svc.studio.object_document("account")
    doc["fields"]["phone"]["unique"] = True
    with pytest.raises(MetadataRefused) as refused:
        svc.studio.save_object(SYSTEM, "account", doc, base_version=0)
    assert "1 value(s) are used by more than one record: '555-0100' (5 records)" \
        in refused.value.problems[0].message
    assert svc.studio.version() == 0


def test_only_admins_change_metadata(svc: Services) -> None:
    team = make_team(svc.ql)
    for who in (team.rep_a, team.manager, team.viewer):
        with pytest.raises(PermissionDenied):
            svc.studio.save_object(who, "account", _with_region(svc), base_version=0)
        with pytest.raises(PermissionDenied):
            svc.studio.revert(who, 0)
    info = svc.studio.save_object(team.admin, "account", _with_region(svc), base_version=0)
    assert info.author == team.admin.user_id and info.author_name == "Ada Admin"


def test_permission_set_change_applies_live(svc: Services) -> None:
    team = make_team(svc.ql)
    svc.ql.insert(team.rep_a, "account", {"name": "Mine", "phone": "555-0100"})
    doc = svc.studio.permissions_document("sales_rep")
    doc["objects"]["account"] = {**doc["objects"]["account"], "create": False}
    svc.studio.save_permissions(team.admin, "sales_rep", doc, base_version=0)
    with pytest.raises(PermissionDenied):
        svc.ql.insert(team.rep_a, "account", {"name": "Another", "phone": "555-0100"})
    svc.studio.revert(team.admin, 0)
    assert svc.ql.insert(team.rep_a, "account", {"name": "Another", "phone": "555-0100"})["id"]


def test_a_page_holding_the_old_definition_does_not_poison_the_new_plans(
        svc: Services) -> None:
    """A live page keeps the ObjectDef it was drawn with; reading with it after a change
    must not leave the old field list in the plan cache (the rep then saw an empty
    Region after re-applying it, and everyone got 'unknown field' after a revert)."""
    team = make_team(svc.ql)
    account = svc.ql.insert(team.rep_a, "account", {"name": "Held", "phone": "555-0100"})
    held = svc.ql.object("account")
    svc.studio.save_object(SYSTEM, "account", _with_region(svc), base_version=0)
    assert "region" not in svc.ql.readable_fields(team.rep_a, held)  # the page's old view
    svc.ql.update(team.rep_a, "account", account["id"], {"region": "emea"})
    assert svc.ql.get(team.rep_a, "account", account["id"])["region"] == "emea"
    held = svc.ql.object("account")
    svc.studio.revert(SYSTEM, 0)
    assert "region" in svc.ql.readable_fields(team.rep_a, held)
    assert "region" not in svc.ql.get(team.rep_a, "account", account["id"])
