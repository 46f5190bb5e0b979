"""How the studio's editors save (components/admin/saving.py over the real studio): a new
object as the "New object" dialog builds it goes live; the loader's problems come back
per field; a second admin saving from an old version gets a conflict with the first
admin's diff and changes nothing. Its own SQLite database: metadata changes stay here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import Services, build_services
from app.objectql import Context
from components.admin import documents
from components.admin.saving import check_object, revert, save_object
from tests.conftest import METADATA

ADMIN = Context(user_id=None, role="admin", name="Test Admin")


@pytest.fixture(scope="module")
def studio_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    path: Path = tmp_path_factory.mktemp("studio") / "studio.db"
    services = build_services(database_url=f"sqlite:///{path}", metadata_dir=METADATA)
    yield services
    services.close()


def test_a_new_object_and_a_lookup_go_live(studio_services: Services) -> None:
    studio = studio_services.studio
    doc = documents.new_object("project", "Project", "Projects", "work", "Project name",
                               "private")
    assert check_object(studio_services, "project", doc) == []
    created = save_object(studio_services, ADMIN, "project", doc,
                          base_version=studio.version(), comment="Create project")
    assert created.ok, created.text()
    live = studio.object_document("project")
    with_lookup = documents.put_field(live, "account", {
        "type": "lookup", "label": "Account", "reference_to": "account",
        "delete_behavior": "set_null"})
    with_lookup = documents.place_in_layout(with_lookup, "account", "Details")
    saved = save_object(studio_services, ADMIN, "project", with_lookup,
                        base_version=studio.version(), comment="Add account")
    assert saved.ok, saved.text()
    account = studio.object_document("account")
    related = documents.add_related_list(account, "project", "account", ["name", "owner"])
    assert save_object(studio_services, ADMIN, "account", related,
                       base_version=studio.version(), comment="Projects on accounts").ok
    ql = studio_services.ql
    acme = ql.insert(Context.system(), "account", {"name": "Acme", "phone": "+1 555 0100"})
    ql.insert(Context.system(), "project", {"name": "Apollo", "account": acme["id"]})
    assert [r["name"] for r in ql.related(Context.system(), "project", "account",
                                          acme["id"]).records] == ["Apollo"]
    assert revert(studio_services, ADMIN, 0, "back to the shipped YAML").ok


def test_problems_come_back_next_to_their_field(studio_services: Services) -> None:
    studio = studio_services.studio
    doc = documents.put_field(studio.object_document("account"), "region", {
        "type": "select", "label": "Region",
        "options": [{"value": "North America", "label": "North America"}]})
    before = studio.version()
    outcome = save_object(studio_services, ADMIN, "account", doc, base_version=before,
                          comment="bad option value")
    assert not outcome.ok and not outcome.conflict
    assert any("snake_case" in m for m in outcome.about_field("region")), outcome.text()
    assert studio.version() == before
    assert "region" not in studio.object_document("account")["fields"]


def test_the_second_admin_gets_a_conflict_with_the_first_admins_diff(
        studio_services: Services) -> None:
    studio = studio_services.studio
    base = studio.version()
    loaded = studio.object_document("account")
    first = documents.put_field(loaded, "region", {
        "type": "select", "label": "Region", "options": [{"value": "emea", "label": "EMEA"}]})
    assert save_object(studio_services, ADMIN, "account", first, base_version=base,
                       comment="first admin").ok
    second = documents.put_field(loaded, "tier", {"type": "text", "label": "Tier"})
    outcome = save_object(studio_services, ADMIN, "account", second, base_version=base,
                          comment="second admin")
    assert outcome.conflict and not outcome.ok
    assert "region" in (outcome.conflict_diff or "")
    assert f"version {base}" in outcome.text()
    fields = studio.object_document("account")["fields"]
    assert "region" in fields and "tier" not in fields
    assert revert(studio_services, ADMIN, base, "undo").ok


def test_a_rep_cannot_save(studio_services: Services) -> None:
    studio = studio_services.studio
    rep = Context(user_id=None, role="sales_rep", name="Rita Rep")
    doc = documents.put_field(studio.object_document("account"), "tier",
                              {"type": "text", "label": "Tier"})
    outcome = save_object(studio_services, rep, "account", doc,
                          base_version=studio.version(), comment="sneaky")
    assert not outcome.ok and "may not change metadata" in outcome.text()
