"""Schemathesis against the in-process API: every operation of our OpenAPI document,
called as a sales rep with generated input, never answers 500 and always answers in the
shape the document promises (SQLite; the subject is the HTTP contract)."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app import runtime  # noqa: E402
from app.api.openapi import build_openapi  # noqa: E402
from app.core import Services  # noqa: E402
from app.metadata import load_registry  # noqa: E402
from tests.conftest import METADATA, make_team  # noqa: E402
from tests.integration.api_support import Api, api_app  # noqa: E402

# The document depends on metadata only, so it can be built at import time; the test
# below checks that the served /api/openapi.json is this same document.
DOCUMENT = build_openapi(load_registry(METADATA))
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = api_app()
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]


@pytest.fixture
def as_rep(sqlite_services: Services) -> tuple[dict[str, str], dict[str, str]]:
    """The rep's Authorization header, and ids of records the rep owns by object."""
    api = Api(sqlite_services, make_team(sqlite_services.ql))
    acc = api.account()
    opp = api.opportunity(acc["id"])
    return api.auth("rep_a"), {"account": acc["id"], "opportunity": opp["id"]}


def test_served_document_is_the_one_under_test(sqlite_services: Services) -> None:
    runtime.install(sqlite_services)
    api = Api(sqlite_services, make_team(sqlite_services.ql))
    assert api.get("/api/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_openapi_document(
        case: Any, as_rep: tuple[dict[str, str], dict[str, str]]) -> None:
    headers, owned = as_rep
    # Generated ids only ever meet a 404; aim the record operations of two objects at
    # records the rep owns, so updates run the whole write path.
    object_name = case.path.split("/")[3] if case.path.startswith("/api/objects/") else ""
    if "record_id" in (case.path_parameters or {}) and object_name in owned:
        case.path_parameters["record_id"] = owned[object_name]
    case.call_and_validate(headers=headers, checks=CHECKS)
