"""Field level security, trigger elevation and password hashes: what each role can see and
set, in every response shape, on every configured backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.auth.passwords import set_password
from app.metadata.permissions import FieldPermission
from app.metadata.registry import Registry
from app.objectql.errors import NotFound, PermissionDenied, QueryError
from tests.integration.security_support import (
    ACME_REVENUE,
    CONTRACT_B_VALUE,
    GLOBEX_REVENUE,
    World,
    build_world,
    sample,
    unique,
)

HIDDEN = {"account": "annual_revenue", "contract": "contract_value"}
SECRETS = (GLOBEX_REVENUE, ACME_REVENUE, CONTRACT_B_VALUE)


# One worker per module under xdist, so the world is built once per backend.
pytestmark = pytest.mark.xdist_group("security_fields")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(request, tmp_path_factory)


def walk(value: Any) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) pair in a nested response, lists and dicts alike."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item
            yield from walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield None, item
            yield from walk(item)


def secret_texts(value: float) -> set[str]:
    return {str(value), f"{value:,}", f"{value:.2f}", f"{value:,.2f}", str(float(value)),
            repr(float(value))}


def assert_no_leak(response: Any) -> None:
    texts = {t for v in SECRETS for t in secret_texts(v)}
    for key, value in walk(response):
        assert key not in ("annual_revenue", "contract_value"), key
        assert not (key or "").endswith((".annual_revenue", ".contract_value")), key
        assert value not in SECRETS, (key, value)
        if isinstance(value, str):
            assert not any(t in value for t in texts), (key, value)


def assert_refused(call: Callable[[], Any]) -> QueryError:
    with pytest.raises(QueryError) as refused:
        call()
    error = refused.value
    assert_no_leak([error.message, error.to_dict()])
    return error


# -- the viewer never sees revenue or contract values -----------------------------------------

def test_viewer_records_never_carry_hidden_fields(world: World) -> None:
    ql, viewer, w = world.ql, world.team.viewer, world
    responses = [
        ql.find(viewer, "account", limit=500).records,
        ql.find(viewer, "contract", limit=500).records,
        ql.get(viewer, "account", w["acc_b"]),
        ql.get(viewer, "contract", w["ctr_b"]),
        ql.related(viewer, "contract", "account", w["acc_b"]).records,
        ql.query(viewer, {"object": "account", "limit": 100}),
        ql.find(viewer, "opportunity", expand={"account": None}, limit=500).records,
        ql.find(viewer, "contract", expand={"account": ["name", "industry"],
                                            "opportunity": ["name", "amount"]}).records,
        ql.find(viewer, "account", view="all", limit=500).records,
        ql.find(viewer, "contract", view="all", limit=500).records,
    ]
    assert_no_leak(responses)
    assert ql.get(viewer, "account", w["acc_b"])["name"] == "Globex"
    admin = ql.get(world.team.admin, "account", w["acc_b"])
    assert admin["annual_revenue"] == GLOBEX_REVENUE  # the data is there, just not for them
    assert ql.get(world.team.rep_b, "contract", w["ctr_b"])["contract_value"] == \
        CONTRACT_B_VALUE


REFUSED: dict[str, Callable[[Any, Any, World], Any]] = {
    "explicit field": lambda ql, v, w: ql.find(v, "account", fields=["name", "annual_revenue"]),
    "get field": lambda ql, v, w: ql.get(v, "contract", w["ctr_b"], fields=["contract_value"]),
    "expand": lambda ql, v, w: ql.find(v, "opportunity",
                                       expand={"account": ["name", "annual_revenue"]}),
    "dotted path": lambda ql, v, w: ql.find(v, "opportunity",
                                            fields=["name", "account.annual_revenue"]),
    "deep dotted path": lambda ql, v, w: ql.find(v, "activity",
                                                 fields=["opportunity.account.annual_revenue"]),
    "sum": lambda ql, v, w: ql.aggregate(v, "account",
                                         aggregate={"t": ("sum", "annual_revenue")}),
    "max": lambda ql, v, w: ql.aggregate(v, "contract",
                                         aggregate={"t": ("max", "contract_value")}),
    "count of field": lambda ql, v, w: ql.aggregate(v, "account",
                                                    aggregate={"n": ("count", "annual_revenue")}),
    "sum via lookup": lambda ql, v, w: ql.aggregate(
        v, "opportunity", aggregate={"t": ("sum", "account.annual_revenue")}),
    "group_by": lambda ql, v, w: ql.aggregate(v, "account", group_by=["annual_revenue"]),
    "group_by via lookup": lambda ql, v, w: ql.aggregate(v, "contact",
                                                         group_by=["account.annual_revenue"]),
    "filter equals": lambda ql, v, w: ql.find(
        v, "account", filters=[["annual_revenue", "=", GLOBEX_REVENUE]]),
    "filter range": lambda ql, v, w: ql.find(
        v, "account", filters=[["annual_revenue", "between", [5_000_000, 6_000_000]]]),
    "filter in or-group": lambda ql, v, w: ql.find(
        v, "account", filters=[["name", "=", "Globex"], "or",
                               ["annual_revenue", ">", 5_432_116]]),
    "filter via lookup": lambda ql, v, w: ql.find(
        v, "contact", filters=[["account.annual_revenue", ">", 5_000_000]]),
    "filter contract": lambda ql, v, w: ql.find(
        v, "contract", filters=[["contract_value", "=", CONTRACT_B_VALUE]]),
    "count filter": lambda ql, v, w: ql.count(v, "account",
                                              filters=[["annual_revenue", ">", 0]]),
    "aggregate filter": lambda ql, v, w: ql.aggregate(
        v, "account", filters=[["annual_revenue", "<", 6_000_000]]),
    "sort": lambda ql, v, w: ql.find(v, "account", sort=[["annual_revenue", "desc"]]),
    "sort shorthand": lambda ql, v, w: ql.find(v, "contract", sort="-contract_value"),
    "sort via lookup": lambda ql, v, w: ql.find(v, "opportunity",
                                                sort=[["account.annual_revenue", "asc"]]),
    "json query": lambda ql, v, w: ql.query(v, {"object": "account",
                                                "filters": [["annual_revenue", ">", 1]]}),
    "json aggregate": lambda ql, v, w: ql.query(v, {"object": "contract", "group_by": [
        "status"], "aggregate": {"total": ["sum", "contract_value"]}}),
    "list view filtering on it": lambda ql, v, w: ql.find(v, "account", view="high_value"),
}


@pytest.mark.parametrize("shape", REFUSED)
def test_viewer_cannot_reach_hidden_fields(world: World, shape: str) -> None:
    error = assert_refused(lambda: REFUSED[shape](world.ql, world.team.viewer, world))
    # Refused exactly like a field that does not exist: nothing says it is there.
    assert "unknown field" in error.message
    REFUSED[shape](world.ql, world.team.admin, world)  # the same query is fine for admin


def test_a_hidden_field_is_refused_like_a_missing_one(world: World) -> None:
    ql, viewer = world.ql, world.team.viewer
    hidden = assert_refused(lambda: ql.find(viewer, "account", fields=["annual_revenue"]))
    missing = assert_refused(lambda: ql.find(viewer, "account", fields=["annual_revenu"]))
    assert hidden.message.replace("annual_revenue", "X") == \
        missing.message.replace("annual_revenu", "X")
    assert hidden.details == [{"field": "annual_revenue", "message": "unknown field"}]


def test_search_never_matches_a_hidden_field(world: World) -> None:
    ql, viewer, admin = world.ql, world.team.viewer, world.team.admin
    assert ql.find(viewer, "account", search=str(GLOBEX_REVENUE)).records == []
    # annual_revenue is not searchable, so hide a searchable field to prove the rule:
    # website is the only field holding "acme.example" on Acme Corp. Permission sets are
    # part of the metadata snapshot, so the change goes live the way an admin's would.
    original = ql.registry
    perms = original.permissions["viewer"]
    hidden = perms.model_copy(update={"fields": {**perms.fields, "account": {
        **perms.fields.get("account", {}), "website": FieldPermission(read=False, edit=False)}}})
    ql.apply_registry(Registry(dict(original), {**original.permissions, "viewer": hidden}))
    try:
        assert [r["name"] for r in ql.find(admin, "account", search="acme.example").records] \
            == ["Acme Corp"]
        assert ql.find(viewer, "account", search="acme.example").records == []
        assert ql.count(viewer, "account", search="acme.example") == (0, False)
        assert "website" not in ql.get(viewer, "account", world["acc_a"])
    finally:
        ql.apply_registry(original)


def test_history_leaves_hidden_fields_out(world: World) -> None:
    ql, t, w = world.ql, world.team, world
    account = w.add("account", {"name": unique("Hooli"), "phone": "+1 555 0190",
                                "industry": "technology", "annual_revenue": GLOBEX_REVENUE},
                    t.rep_b)
    ql.update(t.rep_b, "account", account, {"annual_revenue": ACME_REVENUE, "type": "partner"})
    ql.update(t.admin, "account", account, {"annual_revenue": 1})
    seen = ql.history(t.viewer, "account", account)
    assert [e["action"] for e in seen] == ["update", "update", "insert"]
    assert_no_leak(seen)
    assert [list(e["changes"]) for e in seen[:2]] == [[], ["type"]]
    admin_view = ql.history(t.admin, "account", account)
    assert admin_view[1]["changes"]["annual_revenue"] == [GLOBEX_REVENUE, ACME_REVENUE]
    assert admin_view[1]["user_id"] == t.rep_b.user_id
    contract = ql.history(t.viewer, "contract", w["ctr_b"])
    assert contract and "status" in contract[-1]["changes"]
    assert_no_leak(contract)


def test_viewer_writes_are_refused_before_any_field_is_considered(world: World) -> None:
    ql, viewer = world.ql, world.team.viewer
    for call in (lambda: ql.update(viewer, "account", world["acc_b"],
                                   {"annual_revenue": 1}),
                 lambda: ql.insert(viewer, "account", {"name": "X", "annual_revenue": 1})):
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert_no_leak(refused.value.to_dict())
    assert world.ql.get(world.system, "account", world["acc_b"])["annual_revenue"] == \
        GLOBEX_REVENUE


# -- probability: read-only for reps, but the stage trigger still sets it -------------------

def test_rep_cannot_set_probability_but_the_stage_does(world: World) -> None:
    ql, rep, w = world.ql, world.team.rep_a, world
    data = sample(w, "opportunity", rep)
    with pytest.raises(PermissionDenied) as refused:
        ql.insert(rep, "opportunity", {**data, "probability": 95})
    assert "probability" in refused.value.message
    assert refused.value.details == [{"field": "probability", "message": "not editable"}]
    deal = ql.insert(rep, "opportunity", data)  # stage qualification
    assert (deal["probability"], deal["forecast_category"]) == (20, "pipeline")
    with pytest.raises(PermissionDenied, match="probability"):
        ql.update(rep, "opportunity", deal["id"], {"stage": "negotiation", "probability": 5})
    assert ql.get(rep, "opportunity", deal["id"])["stage"] == "qualification"
    moved = ql.update(rep, "opportunity", deal["id"], {"stage": "negotiation"})
    assert (moved["probability"], moved["forecast_category"]) == (80, "commit")
    assert moved["expected_revenue"] == 12_000 * 80 / 100
    entry = ql.history(rep, "opportunity", deal["id"])[0]
    assert entry["user_id"] == rep.user_id
    assert entry["changes"]["probability"] == [20, 80]
    # A manager's role has no such restriction.
    assert ql.update(world.team.manager, "opportunity", deal["id"],
                     {"probability": 65})["probability"] == 65


# -- trigger elevation ------------------------------------------------------------------------

def test_rep_winning_a_deal_gets_the_contract_the_role_cannot_create(world: World) -> None:
    ql, t, w = world.ql, world.team, world
    data = sample(w, "opportunity", t.rep_a)
    deal = ql.insert(t.rep_a, "opportunity", data)
    with pytest.raises(PermissionDenied):
        ql.insert(t.rep_a, "contract", sample(w, "contract", t.rep_a))
    won = ql.update(t.rep_a, "opportunity", deal["id"], {"stage": "closed_won"})
    assert won["probability"] == 100
    contracts = ql.find(t.rep_a, "contract", filters=[["opportunity", "=", deal["id"]]],
                        fields=["owner", "created_by", "modified_by", "contract_value",
                                "status", "account"]).records
    assert len(contracts) == 1
    contract = contracts[0]
    assert contract["owner"] == contract["created_by"] == contract["modified_by"] == \
        t.rep_a.user_id
    assert (contract["contract_value"], contract["status"]) == (12_000, "draft")
    assert contract["account"] == data["account"]
    audit = ql.history(t.admin, "contract", contract["id"])
    assert [(e["action"], e["user_id"]) for e in audit] == [("insert", t.rep_a.user_id)]
    account = ql.history(t.admin, "account", data["account"])[0]
    assert account["user_id"] == t.rep_a.user_id
    assert account["changes"]["customer_status"] == ["prospect", "active_customer"]
    # The elevation was for the trigger only: the rep still cannot change the contract.
    with pytest.raises(PermissionDenied):
        ql.update(t.rep_a, "contract", contract["id"], {"status": "in_approval"})
    # Rep B's team mate does not see it; their manager does.
    with pytest.raises(NotFound):
        ql.get(t.rep_b, "contract", contract["id"])
    assert ql.get(t.manager, "contract", contract["id"])["id"] == contract["id"]
    note = ql.find(t.manager, "notification", filters=[["link", "=",
                                                        f"/o/opportunity/{deal['id']}"]])
    assert len(note.records) == 1


# -- password hashes --------------------------------------------------------------------------

def test_nobody_ever_receives_a_password_hash(world: World) -> None:
    ql, t = world.ql, world.team
    members = [t.admin, t.manager, t.rep_a, t.rep_b, t.viewer]
    for member in members:
        set_password(world.services.engine, str(member.user_id), "correct horse battery")
    user = ql.object("user")
    for ctx in [*members, t.system]:
        responses: list[Any] = [
            ql.find(ctx, "user", limit=500).records,
            ql.find(ctx, "user", fields=list(user.all_fields), limit=500).records,
            ql.query(ctx, {"object": "user", "search": "test.local"}),
            [ql.get(ctx, "user", str(m.user_id)) for m in members],
            ql.find(ctx, "opportunity", limit=500, expand={
                "owner": None, "created_by": ["name", "email", "role", "manager"]}).records,
        ]
        assert responses[0], ctx.role
        for key, value in walk(responses):
            assert "password" not in (key or "").lower(), (ctx.role, key)
            assert not (isinstance(value, str) and value.startswith("$argon2")), (ctx.role,
                                                                               key)
        for probe in ({"fields": ["password_hash"]},
                      {"filters": [["password_hash", "!=", None]]},
                      {"sort": "password_hash"}):
            with pytest.raises(QueryError, match="unknown field"):
                ql.find(ctx, "user", **probe)  # type: ignore[arg-type]
