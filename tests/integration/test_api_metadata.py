"""The ⚑ metadata API over REST: admins change objects and permission sets as documents
with optimistic versions; a custom object gets its table, REST endpoints and OpenAPI
schema at once; everyone else gets 403; every error is the envelope."""

from __future__ import annotations

from typing import Any

import pytest

from app.core import Services
from tests.conftest import make_team
from tests.integration.api_support import Api
from tests.integration.studio_support import backend, region_field, svc

__all__ = ["backend", "svc"]  # fixtures

PROJECT: dict[str, Any] = {
    "name": "project", "label": "Project", "plural_label": "Projects", "icon": "work",
    "name_field": "name", "sharing_model": "public_read",
    "fields": {
        "name": {"type": "text", "label": "Name", "required": True, "max_length": 120},
        "account": {"type": "lookup", "label": "Account", "reference_to": "account",
                    "delete_behavior": "set_null"},
        "budget": {"type": "currency", "label": "Budget"},
    },
    "list_views": {"all": {"label": "All projects", "columns": ["name", "account.name",
                                                                "budget"]}},
    "page_layouts": {"default": {"sections": [{"label": "Project", "fields": [
        "name", "account", "budget"]}]}},
}


@pytest.fixture
def api(svc: Services) -> Api:
    return Api(svc, make_team(svc.ql))


def _put(api: Api, url: str, body: Any, version: int | None, as_: str = "admin",
         **params: str) -> Any:
    headers = {"If-Match": f'"{version}"'} if version is not None else {}
    return api.request("PUT", url, as_=as_, json=body, headers=headers, params=params)


def test_round_trip_put_conflict_and_revert(api: Api) -> None:
    got = api.get("/api/metadata/objects/account", as_="admin")
    assert got.status_code == 200 and got.headers["etag"] == '"0"'
    document = got.json()
    assert "owner" not in document["fields"]  # the YAML shape: no system fields
    document["fields"]["region"] = region_field()
    document["list_views"]["all"]["columns"].append("region")
    saved = _put(api, "/api/metadata/objects/account", document, 0, comment="add region")
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"1"'
    assert saved.json()["version"]["comment"] == "add region"
    # a rep can use the field at once, through the ordinary record API
    created = api.account(region="emea")
    assert created["region"] == "emea"
    # the second admin, still on version 0, gets a conflict carrying the first one's diff
    stale = _put(api, "/api/metadata/objects/account", got.json(), 0)
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["code"] == "metadata_conflict" and "+  region:" in error["their_diff"]
    # no version at all: refused, never a silent overwrite
    assert _put(api, "/api/metadata/objects/account", document, None).status_code == 428
    history = api.get("/api/metadata/versions", as_="admin").json()
    assert history["current"] == 1
    assert [v["number"] for v in history["versions"]] == [1, 0]
    assert "+  region:" in api.get("/api/metadata/versions/1", as_="admin").json()["diff"]
    reverted = api.post("/api/metadata/versions/0/revert", as_="admin")
    assert reverted.status_code == 200 and reverted.json()["version"]["number"] == 2
    record = api.get(f"/api/objects/account/{created['id']}", as_="rep_a").json()
    assert "region" not in record


def test_refused_change_is_422_with_the_loader_messages(api: Api) -> None:
    document = api.get("/api/metadata/objects/account", as_="admin").json()
    document["fields"]["region"] = {"type": "picklist"}
    response = _put(api, "/api/metadata/objects/account", document, 0)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "metadata_refused"
    assert error["details"][0]["field"] == "account.region"
    assert "unknown field type 'picklist'" in error["details"][0]["message"]
    assert "account.object.yml:" in error["details"][0]["where"]
    assert api.get("/api/metadata/versions", as_="admin").json()["current"] == 0


def test_patch_hides_a_field_and_keeps_its_data(api: Api) -> None:
    patch = {"fields": {"region": region_field()}}
    response = api.request("PATCH", "/api/metadata/objects/account", as_="admin",
                           json=patch, headers={"If-Match": '"0"'})
    assert response.status_code == 200, response.text
    account = api.account(region="apac")
    hide = api.request("PATCH", "/api/metadata/objects/account", as_="admin",
                       json={"fields": {"region": None}}, params={"base_version": "1"})
    assert hide.status_code == 200 and "region" not in hide.json()["document"]["fields"]
    assert "region" not in api.get(f"/api/objects/account/{account['id']}", as_="rep_a").json()
    assert api.post("/api/metadata/versions/1/revert", as_="admin").status_code == 200
    assert api.get(f"/api/objects/account/{account['id']}",
                   as_="rep_a").json()["region"] == "apac"


def test_custom_object_gets_table_rest_and_openapi_at_once(api: Api) -> None:
    created = api.post("/api/metadata/objects", as_="admin", json=PROJECT,
                       headers={"If-Match": '"0"'})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/metadata/objects/project"
    account = api.account()
    project = api.post("/api/objects/project", as_="admin",
                       json={"name": "Rollout", "account": account["id"], "budget": 1200})
    assert project.status_code == 201, project.text
    listed = api.get("/api/objects/project", as_="admin",
                     params={"expand": "account"}).json()["records"]
    assert listed[0]["account"]["name"] == "Acme Corp"
    spec = api.get("/api/openapi.json").json()
    assert "/api/objects/project" in spec["paths"] and "Project" in spec["components"][
        "schemas"]
    assert spec["components"]["schemas"]["ProjectCreate"]["properties"]["budget"]
    assert "put" in spec["paths"]["/api/metadata/objects/{name}"]
    assert "post" in spec["paths"]["/api/metadata/objects"]
    assert "post" in spec["paths"]["/api/metadata/versions/{number}/revert"]
    again = api.post("/api/metadata/objects", as_="admin", json=PROJECT,
                     headers={"If-Match": '"1"'})
    assert again.status_code == 409


def test_non_admins_get_403(api: Api) -> None:
    document = api.get("/api/metadata/objects/account", as_="rep_a").json()
    document["fields"]["region"] = region_field()
    for who in ("rep_a", "manager", "viewer"):
        assert _put(api, "/api/metadata/objects/account", document, 0,
                    as_=who).status_code == 403
        assert api.post("/api/metadata/objects", as_=who, json=PROJECT,
                        headers={"If-Match": '"0"'}).status_code == 403
        assert api.get("/api/metadata/versions", as_=who).status_code == 403
        assert api.post("/api/metadata/versions/0/revert", as_=who).status_code == 403
        assert _put(api, "/api/metadata/permissions/sales_rep", {"role": "sales_rep"}, 0,
                    as_=who).status_code == 403
    assert api.get("/api/metadata/versions").status_code == 401


def test_permission_set_over_rest(api: Api) -> None:
    current = api.get("/api/metadata/permissions/viewer", as_="admin").json()
    current["objects"]["account"] = {"read": False}
    saved = _put(api, "/api/metadata/permissions/viewer", current, 0)
    assert saved.status_code == 200, saved.text
    assert api.get("/api/objects/account", as_="viewer").status_code == 403
