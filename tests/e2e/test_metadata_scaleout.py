"""Two real server processes on one database: a metadata change applied through one is
served by the other within 2 s — announced over Redis, or found by polling without it."""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.devserver import api, running_server, token_for
from tests.conftest import _missing

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("scaleout")]
REGION = {"type": "select", "label": "Region",
          "options": [{"value": "emea", "label": "EMEA"}, {"value": "amer", "label": "Americas"}]}


@pytest.fixture(params=["polling", "redis"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    admin_url = os.environ.get("HOTCRM_TEST_DATABASE_URL")
    if not admin_url:
        _missing("PostgreSQL (HOTCRM_TEST_DATABASE_URL)")
    env = {"HOTCRM_SECRET_KEY": secrets.token_urlsafe(48)}
    if request.param == "redis":
        redis_url = os.environ.get("HOTCRM_TEST_REDIS_URL")
        if not redis_url:
            _missing("Redis (HOTCRM_TEST_REDIS_URL)")
        env["HOTCRM_REDIS_URL"] = str(redis_url)
    name = f"hotcrm_meta_{uuid.uuid4().hex[:10]}"
    admin = create_engine(str(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(str(admin_url)).set(database=name).render_as_string(hide_password=False)
    try:
        with ExitStack() as stack:
            bases = []
            for replica in ("a", "b"):  # a seeds the demo org, b starts on it
                (tmp_path / replica).mkdir()
                base, _proc = stack.enter_context(running_server(
                    tmp_path / replica, database_url=url, extra_env=env))
                bases.append(base)
            yield bases[0], bases[1]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _status(base: str, path: str, token: str, method: str = "GET",
            body: dict | None = None) -> int:
    try:
        api(base, path, token, method=method, body=body, headers={"If-Match": '"0"'})
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def test_change_through_one_process_is_served_by_the_other_within_2s(
        pair: tuple[str, str]) -> None:
    a, b = pair
    admin_a, rep_b = token_for(a, "admin"), token_for(b, "alice")
    request = urllib.request.Request(f"{b}/api/metadata/objects/account",
                                     headers={"Authorization": f"Bearer {admin_a}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["ETag"] == '"0"'
        document = json.load(response)
    assert "region" not in document["fields"]
    document["fields"]["region"] = REGION
    # a rep may not change metadata on either process
    assert _status(b, "/api/metadata/objects/account", rep_b, "PUT", document) == 403
    saved = api(a, "/api/metadata/objects/account?comment=e2e", admin_a, method="PUT",
                body=document, headers={"If-Match": '"0"'})
    served_by_a = time.monotonic()
    assert saved["version"]["number"] == 1
    while "region" not in api(b, "/api/metadata/objects/account", rep_b)["fields"]:
        assert time.monotonic() - served_by_a < 2.0, "b did not serve version 1 within 2 s"
        time.sleep(0.05)
    created = api(b, "/api/objects/account", rep_b, method="POST",
                  body={"name": f"Region test {uuid.uuid4().hex[:6]}", "phone": "555-0100",
                        "region": "emea"})
    assert created["region"] == "emea"
    spec = api(b, "/api/openapi.json")
    assert "region" in spec["components"]["schemas"]["Account"]["properties"]
