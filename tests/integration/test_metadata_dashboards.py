"""Dashboards as studio documents on SQLite and PostgreSQL: a change passes the dashboard
loader's checks (its messages in the error envelope), is stored as a version, served at
once by the dashboard data endpoint, refused when stale, and reverted like objects."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from app.core import Services
from app.metadata.studio import MetadataRefused
from app.objectql import Context
from components.admin import dashboard_docs as docs
from components.admin.saving import save_dashboard
from tests.conftest import make_team
from tests.integration.api_support import Api
from tests.integration.studio_support import backend, fresh_database, studio_services, svc

__all__ = ["backend", "svc"]  # fixtures

SYSTEM = Context.system()
URL = "/api/metadata/dashboards/sales"
DEALS_OPEN: dict[str, Any] = {
    "name": "deals_open", "kind": "kpi", "title": "Open deals",
    "position": {"x": 0, "y": 9, "w": 3, "h": 1},
    "query": {"object": "opportunity",
              "filters": [["stage", "not in", ["closed_won", "closed_lost"]]],
              "aggregate": {"n": ["count", "id"]}},
    "value": "n", "format": "number"}


@pytest.fixture
def api(svc: Services) -> Api:
    return Api(svc, make_team(svc.ql))


def _send(api: Api, method: str, url: str, body: Any, version: int | None,
          as_: str = "admin") -> Any:
    headers = {"If-Match": f'"{version}"'} if version is not None else {}
    return api.request(method, url, as_=as_, json=body, headers=headers)


def _open_deals_oracle(svc: Services) -> int:
    with svc.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM opportunity WHERE stage NOT IN "
            "('closed_won', 'closed_lost')")).scalar() or 0)


def _deals(api: Api) -> None:
    account = api.account()
    for stage in ("prospecting", "qualification", "closed_won", "negotiation"):
        api.opportunity(account["id"], stage=stage)
    api.opportunity(account["id"], stage="closed_lost", loss_reason="price")


def test_apply_serves_the_new_definition_and_data_at_once(api: Api, svc: Services) -> None:
    _deals(api)
    got = api.get(URL, as_="admin")
    assert got.status_code == 200 and got.headers["etag"] == '"0"'
    document = got.json()
    assert document["name"] == "sales" and document["widgets"][0]["name"] == "revenue"
    document["widgets"][0]["title"] = "Bookings"
    document["widgets"].append(DEALS_OPEN)
    saved = _send(api, "PUT", URL, document, 0)
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"1"'
    summary = saved.json()["version"]["summary"]
    assert "dashboard sales: added widget deals_open, changed widget revenue" in summary
    # the dashboard serves the new definition and the new widget's figure, no restart
    definition = api.get("/api/ui/dashboard/sales", as_="rep_a").json()
    assert definition["widgets"][0]["title"] == "Bookings"
    data = api.get("/api/dashboards/sales/data?widgets=deals_open", as_="admin").json()
    assert data["widgets"]["deals_open"]["value"] == _open_deals_oracle(svc) == 3
    # the history shows a readable diff of the YAML
    diff = api.get("/api/metadata/versions/1", as_="admin").json()["diff"]
    assert "dashboards/sales.dashboard.yml" in diff and "+  title: Bookings" in diff


def test_refused_with_the_loader_message_changes_nothing(api: Api) -> None:
    document = api.get(URL, as_="admin").json()
    broken = {**DEALS_OPEN, "query": {**DEALS_OPEN["query"],
                                      "aggregate": {"n": ["sum", "bogus"]}}}
    document["widgets"].append(broken)
    refused = _send(api, "PUT", URL, document, 0)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "metadata_refused"
    detail = error["details"][0]
    assert detail["message"] == "unknown field 'bogus' on opportunity"
    assert detail["field"] == "sales.deals_open.bogus"
    assert "sales.dashboard.yml:" in detail["where"]  # file and line, as check-metadata
    # a widget off the 12-column grid: the loader's own words
    document["widgets"][-1] = {**DEALS_OPEN, "position": {"x": 10, "y": 9, "w": 3, "h": 1}}
    grid = _send(api, "PUT", URL, document, 0).json()["error"]["details"]
    assert [d["message"] for d in grid] == ["x + w must fit the 12-column grid"]
    assert api.get("/api/metadata/versions", as_="admin").json()["current"] == 0
    unknown = api.get("/api/dashboards/sales/data?widgets=deals_open", as_="admin")
    assert unknown.status_code == 400  # nothing of the refused change is live


def test_stale_version_conflicts_and_revert_restores(api: Api) -> None:
    original = api.get(URL, as_="admin").json()
    patched = _send(api, "PATCH", URL, {"widgets": {"revenue": {"title": "Bookings"},
                                                    "deals_open": DEALS_OPEN}}, 0)
    assert patched.status_code == 200, patched.text
    names = [w["name"] for w in patched.json()["document"]["widgets"]]
    assert names == [w["name"] for w in original["widgets"]] + ["deals_open"]
    # the second admin, still on version 0, gets the first one's diff, nothing overwritten
    stale = _send(api, "PUT", URL, original, 0)
    assert stale.status_code == 409
    assert "+  title: Bookings" in stale.json()["error"]["their_diff"]
    assert _send(api, "PUT", URL, original, None).status_code == 428
    assert api.get("/api/ui/dashboard/sales", as_="admin").json()["widgets"][0][
        "title"] == "Bookings"
    # revert to the shipped YAML: a new version, the old definition served again
    reverted = api.post("/api/metadata/versions/0/revert", as_="admin")
    assert reverted.status_code == 200 and reverted.json()["version"]["number"] == 2
    assert api.get(URL, as_="admin").json() == original
    assert api.get("/api/dashboards/sales/data?widgets=deals_open",
                   as_="admin").status_code == 400
    # and forward again: version 1's widget and its figure come back
    assert api.post("/api/metadata/versions/1/revert", as_="admin").status_code == 200
    data = api.get("/api/dashboards/sales/data?widgets=deals_open", as_="admin").json()
    assert data["widgets"]["deals_open"]["value"] == 0


def test_new_dashboard_admins_only_and_in_openapi(api: Api) -> None:
    new = {"name": "pipeline_only", "label": "Pipeline only", "widgets": [DEALS_OPEN]}
    for who in ("rep_a", "manager", "viewer"):
        assert api.get(URL, as_=who).status_code == 403
        assert _send(api, "POST", "/api/metadata/dashboards", new, 0, as_=who
                     ).status_code == 403
        assert _send(api, "PUT", URL, new, 0, as_=who).status_code == 403
    created = _send(api, "POST", "/api/metadata/dashboards", new, 0)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/metadata/dashboards/pipeline_only"
    listed = api.get("/api/metadata/dashboards", as_="admin").json()["dashboards"]
    assert listed == ["my_day", "pipeline_only", "sales"]
    data = api.get("/api/dashboards/pipeline_only/data", as_="rep_a")
    assert data.status_code == 200 and data.json()["widgets"]["deals_open"]["value"] == 0
    assert _send(api, "POST", "/api/metadata/dashboards", new, 1).status_code == 409
    assert api.get("/api/metadata/dashboards/nope", as_="admin").status_code == 404
    paths = api.get("/api/openapi.json").json()["paths"]
    assert {"get", "put", "patch"} <= set(paths["/api/metadata/dashboards/{name}"])
    assert {"get", "post"} <= set(paths["/api/metadata/dashboards"])


def test_studio_checks_a_dashboard_without_applying(svc: Services) -> None:
    studio = svc.studio
    document = studio.dashboard_document("sales")
    document["widgets"][0]["query"]["object"] = "nothing"
    problems = studio.check_dashboard("sales", document)
    assert [p.message for p in problems] == ["unknown object 'nothing'"]
    with pytest.raises(MetadataRefused):
        studio.save_dashboard(SYSTEM, "sales", document, base_version=0)
    assert studio.version() == 0 and studio.check_dashboard(
        "sales", studio.dashboard_document("sales")) == []


def test_other_process_serves_the_changed_dashboard(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url, studio_services(url) as one, \
            studio_services(url) as two:
        two.start_watching()
        document = one.studio.dashboard_document("sales")
        document["widgets"][0]["title"] = "Bookings"
        one.studio.save_dashboard(SYSTEM, "sales", document, base_version=0)
        started = time.monotonic()
        while two.ql.registry.dashboards["sales"].widgets[0].title != "Bookings":
            assert time.monotonic() - started < 5, "the other process never caught up"
            time.sleep(0.02)
        assert time.monotonic() - started <= 2.0


def test_yaml_editor_messages_name_the_line_of_the_admins_text(svc: Services) -> None:
    studio = svc.studio
    text = "# my notes\n" + docs.to_text(studio.dashboard_document("sales"))
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "object: opportunity")
    lines[at] = lines[at].replace("opportunity", "nothing")
    problems = studio.check_dashboard_text("sales", "\n".join(lines))
    assert [(p.line, p.object, p.message) for p in problems] == [
        (at + 1, "sales.revenue", "unknown object 'nothing'")]
    assert studio.check_dashboard_text("sales", text) == []
    # the editor's save: the refusal names the widget, so the row shows it
    refused = save_dashboard(svc, SYSTEM, "sales", yaml.safe_load("\n".join(lines)),
                             base_version=0, comment="")
    assert not refused.ok and refused.problems[0].object == "sales.revenue"
    rows = docs.widget_rows(studio.dashboard_document("sales"))
    rows[0]["title"] = "Bookings"
    saved = save_dashboard(svc, SYSTEM, "sales",
                           docs.apply_rows(studio.dashboard_document("sales"), rows),
                           base_version=0, comment="retitle")
    assert saved.ok and saved.version == 1
    assert svc.ql.registry.dashboards["sales"].widgets[0].title == "Bookings"
    stale = save_dashboard(svc, SYSTEM, "sales", studio.dashboard_document("sales"),
                           base_version=0, comment="")
    assert stale.conflict and "+  title: Bookings" in (stale.conflict_diff or "")
