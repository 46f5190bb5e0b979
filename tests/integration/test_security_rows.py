"""Object and row level security as the permission sets and sharing models define them,
through every read and write path of ObjectQL, on every configured backend."""

from __future__ import annotations

from typing import Any

import pytest

from app.metadata.permissions import ACTIONS
from app.objectql import Context
from app.objectql.errors import NotFound, PermissionDenied
from tests.integration.security_support import (
    BUSINESS_OBJECTS,
    EDITS,
    ROLES,
    World,
    build_world,
    sample,
    unique,
)

# One worker per module under xdist, so the world is built once per backend.
pytestmark = pytest.mark.xdist_group("security_rows")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(request, tmp_path_factory)


def ids(records: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in records}


def visible(w: World, ctx: Context, obj: str, **kw: Any) -> set[str]:
    return ids(w.ql.find(ctx, obj, fields=["id"], limit=500, **kw).records)


# -- object level: the permission matrix ----------------------------------------------------

# Written down from the issue, independently of the YAML, so a wrong permission file fails.
SPOT_CHECKS: dict[tuple[str, str, str], bool] = {
    ("sales_rep", "contract", "read"): True,
    ("sales_rep", "contract", "create"): False,
    ("sales_rep", "contract", "edit"): False,
    ("sales_rep", "contract", "delete"): False,
    ("sales_rep", "account", "delete"): False,
    ("sales_rep", "account", "create"): True,
    ("sales_rep", "opportunity", "edit"): True,
    **{("sales_rep", "lead", action): True for action in ("create", "read", "edit", "delete")},
    **{("viewer", obj, "create"): False for obj in BUSINESS_OBJECTS},
    **{("viewer", obj, "read"): True for obj in BUSINESS_OBJECTS},
    **{("admin", obj, action): True for obj in BUSINESS_OBJECTS for action in ACTIONS},
}


def test_every_role_has_a_permission_set(world: World) -> None:
    assert set(world.ql.registry.permissions) == set(ROLES)


def _attempt(w: World, role: str, obj: str, action: str) -> bool:
    """Do `action` on `obj` as `role` with a realistic record; True if it was allowed."""
    ctx = w.actor(role)
    try:
        if action == "create":
            created = w.ql.insert(ctx, obj, sample(w, obj, ctx))
            stored = w.ql.get(w.system, obj, created["id"], fields=["owner", "created_by"])
            assert stored["owner"] == stored["created_by"] == ctx.user_id
            return True
        record_id = w.add(obj, sample(w, obj, ctx), owner=ctx)
        if action == "read":
            assert w.ql.get(ctx, obj, record_id)["id"] == record_id
            assert record_id in visible(w, ctx, obj)
        elif action == "edit":
            changes = EDITS[obj]
            w.ql.update(ctx, obj, record_id, changes)
            stored = w.ql.get(w.system, obj, record_id, fields=list(changes))
            assert {k: stored[k] for k in changes} == changes
        else:
            w.ql.delete(ctx, obj, record_id)
            with pytest.raises(NotFound):
                w.ql.get(w.system, obj, record_id)
        return True
    except PermissionDenied as exc:
        assert exc.status == 403
        assert role in exc.message
        return False


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("obj", BUSINESS_OBJECTS)
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world: World, role: str, obj: str, action: str) -> None:
    expected = world.ql.registry.permissions[role].object(obj).allows(action)
    if (role, obj, action) in SPOT_CHECKS:
        assert expected == SPOT_CHECKS[role, obj, action], "permission file disagrees"
    assert _attempt(world, role, obj, action) == expected


def test_denied_object_action_writes_nothing(world: World) -> None:
    before = world.ql.count(world.system, "contract")
    data = sample(world, "contract", world.team.rep_a)
    with pytest.raises(PermissionDenied, match="may not create contracts"):
        world.ql.insert(world.team.rep_a, "contract", data)
    with pytest.raises(PermissionDenied):
        world.ql.insert_many(world.team.viewer, "account", [sample(world, "account",
                                                                   world.team.viewer)])
    with pytest.raises(PermissionDenied):
        world.ql.bulk_insert(world.team.viewer, "email", [sample(world, "email",
                                                                 world.team.viewer)])
    assert world.ql.count(world.system, "contract") == before


# -- row level: private objects ---------------------------------------------------------------

B_RECORDS = [("opportunity", "opp_b"), ("contract", "ctr_b"), ("activity", "act_b"),
             ("email", "em_b"), ("lead", "lead_b")]


@pytest.mark.parametrize(("obj", "key"), B_RECORDS)
def test_hidden_record_is_indistinguishable_from_a_missing_one(world: World, obj: str,
                                                                key: str) -> None:
    rep_a, hidden = world.team.rep_a, world[key]
    missing = "01" + "Z" * 24
    with pytest.raises(NotFound) as seen:
        world.ql.get(rep_a, obj, hidden)
    with pytest.raises(NotFound) as absent:
        world.ql.get(rep_a, obj, missing)
    assert (type(seen.value), seen.value.status, seen.value.details) == (
        type(absent.value), absent.value.status, absent.value.details)
    assert seen.value.message == absent.value.message.replace(missing, hidden)
    with pytest.raises(NotFound):
        world.ql.history(rep_a, obj, hidden)
    for attempt in (lambda: world.ql.update(rep_a, obj, hidden, EDITS[obj]),
                    lambda: world.ql.delete(rep_a, obj, hidden)):
        if obj == "contract":  # reps may not change contracts at all: refused up front
            with pytest.raises(PermissionDenied):
                attempt()
            continue
        with pytest.raises(NotFound) as write:
            attempt()
        assert write.value.message == f"{obj} '{hidden}' not found"
    assert world.ql.get(world.system, obj, hidden)["version"] == 1  # untouched
    assert world.ql.get(world.team.rep_b, obj, hidden)["id"] == hidden


def test_counts_and_aggregates_leave_out_hidden_rows(world: World) -> None:
    ql, t = world.ql, world.team
    assert ql.count(t.rep_a, "opportunity") == (2, False)
    assert ql.count(t.rep_a, "opportunity", filters=[["id", "=", world["opp_b"]]]) == (0, False)
    assert ql.count(t.rep_a, "contract") == (1, False)
    assert ql.count(t.rep_a, "email", search="Globex") == (0, False)
    by_stage = {"group_by": ["stage"], "aggregate": {"n": ("count", "id"),
                                                     "total": ("sum", "amount")}}
    assert ql.aggregate(t.rep_a, "opportunity", **by_stage) == [
        {"stage": "proposal", "n": 1, "total": 200},
        {"stage": "prospecting", "n": 1, "total": 100}]
    assert ql.aggregate(t.rep_b, "opportunity", **by_stage) == [
        {"stage": "proposal", "n": 1, "total": 7000}]
    assert ql.aggregate(t.manager, "opportunity", **by_stage) == [
        {"stage": "negotiation", "n": 1, "total": 50},
        {"stage": "proposal", "n": 2, "total": 7200},
        {"stage": "prospecting", "n": 1, "total": 100}]
    assert ql.aggregate(t.rep_a, "contract", aggregate={"v": ("max", "contract_value")}) \
        == [{"v": 1111}]
    assert ql.aggregate(t.rep_a, "activity", group_by=["opportunity.name"]) == [
        {"opportunity.name": None, "count": 1}]
    total = ql.query(t.rep_a, {"object": "opportunity", "limit": 1, "fields": ["name"]})
    assert total["total"] == 2


def test_expand_and_dotted_paths_do_not_cross_into_hidden_rows(world: World) -> None:
    ql, rep_a = world.ql, world.team.rep_a
    call = ql.get(rep_a, "activity", world["act_a"],
                  fields=["subject", "opportunity.name", "opportunity.amount", "account.name"],
                  expand={"opportunity": ["name", "amount"], "account": ["name"]})
    assert call["opportunity"] is None
    assert call["opportunity.name"] is None and call["opportunity.amount"] is None
    assert call["account"] == {"id": world["acc_b"], "name": "Globex"}  # public_read
    assert call["account.name"] == "Globex"
    probe = [["opportunity.name", "=", "Globex platform deal"]]
    assert visible(world, rep_a, "activity", filters=probe) == set()
    assert visible(world, rep_a, "activity", filters=[["opportunity.amount", ">", 0]]) == set()
    assert visible(world, world.team.manager, "activity", filters=probe) == {
        world["act_a"], world["act_b"]}
    # The same paths work when the target is visible.
    own = ql.get(rep_a, "contract", world["ctr_a"], fields=["opportunity.name"],
                 expand={"opportunity": None})
    assert own["opportunity"] == {"id": world["opp_a1"], "name": "Acme renewal"}
    assert own["opportunity.name"] == "Acme renewal"
    deep = ql.get(world.team.rep_b, "activity", world["act_b"],
                  fields=["opportunity.contact.last_name"])
    assert deep["opportunity.contact.last_name"] == "Bunny"


def test_search_and_related_lists_leave_out_hidden_rows(world: World) -> None:
    ql, rep_a, w = world.ql, world.team.rep_a, world
    assert visible(w, rep_a, "opportunity", search="Globex") == set()
    assert visible(w, rep_a, "email", search="Globex pricing") == set()
    assert visible(w, rep_a, "activity", search="Globex") == {w["act_a"]}
    number = ql.get(w.system, "contract", w["ctr_b"])["contract_number"]
    assert visible(w, rep_a, "contract", search=number) == set()
    assert visible(w, w.team.rep_b, "contract", search=number) == {w["ctr_b"]}

    def related(child: str, via: str, parent: str, ctx: Context = rep_a) -> set[str]:
        return ids(ql.related(ctx, child, via, w[parent], fields=["id"]).records)

    assert related("activity", "opportunity", "opp_b") == {w["act_a"]}  # A's own call
    assert related("email", "opportunity", "opp_b") == set()
    assert related("contract", "opportunity", "opp_b") == set()
    assert related("opportunity", "account", "acc_b") == set()
    assert related("contract", "account", "acc_b") == set()
    assert w["con_b"] in related("contact", "account", "acc_b")
    assert related("activity", "contact", "con_b") == set()
    assert related("email", "opportunity", "opp_b", w.team.manager) == {w["em_b"]}
    assert related("contract", "opportunity", "opp_b", w.team.rep_b) == {w["ctr_b"]}


def test_manager_sees_and_changes_the_records_of_both_reps(world: World) -> None:
    w, t = world, world.team
    assert visible(w, t.rep_a, "opportunity") == {w["opp_a1"], w["opp_a2"]}
    assert visible(w, t.rep_b, "opportunity") == {w["opp_b"]}
    everything = {w["opp_a1"], w["opp_a2"], w["opp_b"], w["opp_m"]}
    assert visible(w, t.manager, "opportunity") == everything
    assert visible(w, t.rep_b, "opportunity", filters=[["id", "=", w["opp_m"]]]) == set()
    for obj, keys in (("contract", {"ctr_a", "ctr_b"}), ("activity", {"act_a", "act_b"}),
                      ("email", {"em_a", "em_b"})):
        assert visible(w, t.manager, obj) == {w[k] for k in keys}
    deal = w.add("opportunity", sample(w, "opportunity", t.rep_b), owner=t.rep_b)
    assert w.ql.update(t.manager, "opportunity", deal, {"next_step": "Escalate"})[
        "next_step"] == "Escalate"
    with pytest.raises(NotFound):
        w.ql.update(t.rep_b, "opportunity", w["opp_m"], {"next_step": "Upward"})
    w.ql.delete(t.manager, "opportunity", deal)


def test_accounts_are_readable_by_all_but_editable_by_owner_and_above(world: World) -> None:
    w, t, ql = world, world.team, world.ql
    assert {w["acc_a"], w["acc_b"], w["acc_m"]} <= visible(w, t.rep_a, "account")
    assert ql.get(t.rep_a, "account", w["acc_b"])["name"] == "Globex"
    # Visible but not editable: a clear 403, not a pretend 404.
    with pytest.raises(PermissionDenied):
        ql.update(t.rep_a, "account", w["acc_b"], {"description": "Mine now"})
    with pytest.raises(PermissionDenied):
        ql.update(t.rep_b, "account", w["acc_m"], {"description": "Mine now"})
    with pytest.raises(PermissionDenied):
        ql.delete(t.rep_b, "account", w["acc_b"])
    assert ql.get(w.system, "account", w["acc_b"])["version"] == 1
    own = w.add("account", sample(w, "account", t.rep_b), owner=t.rep_b)
    assert ql.update(t.rep_b, "account", own, {"rating": "hot"})["rating"] == "hot"
    assert ql.update(t.manager, "account", own, {"rating": "warm"})["rating"] == "warm"
    with pytest.raises(PermissionDenied):
        ql.update(t.rep_a, "account", own, {"rating": "cold"})


def test_contacts_follow_their_account(world: World) -> None:
    w, t, ql = world, world.team, world.ql
    assert {w["con_a"], w["con_b"]} <= visible(w, t.rep_a, "contact")
    assert ql.get(t.rep_a, "contact", w["con_b"])["last_name"] == "Bunny"
    with pytest.raises(PermissionDenied):
        ql.update(t.rep_a, "contact", w["con_b"], {"title": "CEO"})
    with pytest.raises(PermissionDenied):
        ql.delete(t.rep_a, "contact", w["con_b"])
    # Owning a contact does not matter: the account decides.
    on_a = w.add("contact", {"last_name": unique("Runner"), "account": w["acc_a"],
                             "phone": "+1 555 0111"}, owner=t.rep_b)
    assert ql.update(t.rep_a, "contact", on_a, {"title": "CTO"})["title"] == "CTO"
    with pytest.raises(PermissionDenied):
        ql.update(t.rep_b, "contact", on_a, {"title": "Intern"})
    assert ql.update(t.manager, "contact", on_a, {"title": "CIO"})["title"] == "CIO"
    assert ql.get(w.system, "contact", on_a)["title"] == "CIO"


def test_contacts_cannot_be_added_to_or_moved_under_an_account_one_cannot_edit(
        world: World) -> None:
    w, t, ql = world, world.team, world.ql
    before = ql.count(w.system, "contact", filters=[["account", "=", w["acc_b"]]])
    with pytest.raises((PermissionDenied, NotFound)):
        ql.insert(t.rep_a, "contact", {"last_name": unique("Intruder"), "account": w["acc_b"],
                                       "phone": "+1 555 0112"})
    mine = ql.insert(t.rep_a, "contact", {"last_name": unique("Mover"), "account": w["acc_a"],
                                          "phone": "+1 555 0113"})
    with pytest.raises((PermissionDenied, NotFound)):
        ql.update(t.rep_a, "contact", mine["id"], {"account": w["acc_b"]})
    assert ql.count(w.system, "contact", filters=[["account", "=", w["acc_b"]]]) == before
    # Going through the team: the manager may put a contact on either rep's account.
    moved = ql.update(t.manager, "contact", mine["id"], {"account": w["acc_b"]})
    assert moved["account"] == w["acc_b"]
    ql.delete(w.system, "contact", mine["id"])


def test_view_all_lifts_the_read_filter_but_grants_no_edit(world: World) -> None:
    w, viewer, ql = world, world.team.viewer, world.ql
    assert visible(w, viewer, "opportunity") == visible(w, w.system, "opportunity")
    for obj, key in B_RECORDS:
        assert ql.get(viewer, obj, w[key])["id"] == w[key]
        with pytest.raises(PermissionDenied):
            ql.update(viewer, obj, w[key], EDITS[obj])
        with pytest.raises(PermissionDenied):
            ql.delete(viewer, obj, w[key])
    with pytest.raises(PermissionDenied):
        ql.update(viewer, "contact", w["con_b"], {"title": "CEO"})
    team_accounts = [["account", "in", [w["acc_a"], w["acc_b"], w["acc_m"]]]]
    assert ql.aggregate(viewer, "opportunity", aggregate={"total": ("sum", "amount")},
                        filters=team_accounts) == [{"total": 7350}]
    assert ql.get(w.system, "opportunity", w["opp_b"])["version"] == 1


def test_modify_all_lets_the_admin_change_anyone_s_records(world: World) -> None:
    w, t, ql = world, world.team, world.ql
    for obj in BUSINESS_OBJECTS:
        record_id = w.add(obj, sample(w, obj, t.rep_b), owner=t.rep_b)
        changes = EDITS[obj]
        updated = ql.update(t.admin, obj, record_id, changes)
        assert {k: updated[k] for k in changes} == changes
        assert updated["modified_by"] == t.admin.user_id
        ql.delete(t.admin, obj, record_id)
    assert ql.update(t.admin, "contact", w["con_b"], {"department": "Carrots"})[
        "department"] == "Carrots"


def test_changing_a_manager_moves_visibility(world: World) -> None:
    w, ql, identities = world, world.ql, world.services.identities

    def user(name: str, role: str, manager: str | None = None) -> str:
        return w.add("user", {"email": f"{unique(name).replace(' ', '.')}@test.local",
                              "name": name, "role": role, "manager": manager})

    director = user("Dana Director", "sales_manager")
    old_boss = user("Olga Old", "sales_manager")
    new_boss = user("Nina New", "sales_manager", manager=director)
    rep = user("Ray Rep", "sales_rep", manager=old_boss)
    deal = w.add("opportunity", sample(w, "opportunity", w.team.rep_a), owner=rep)

    def sees(user_id: str) -> bool:
        return deal in visible(w, identities.context_for(user_id), "opportunity")

    assert (sees(old_boss), sees(new_boss), sees(director), sees(rep)) == (True, False, False,
                                                                           True)
    ql.update(w.system, "user", rep, {"manager": new_boss})
    assert (sees(old_boss), sees(new_boss), sees(director), sees(rep)) == (False, True, True,
                                                                           True)
    with pytest.raises(NotFound):
        ql.update(identities.context_for(old_boss), "opportunity", deal, {"next_step": "x"})
    assert ql.update(identities.context_for(director), "opportunity", deal,
                     {"next_step": "Director review"})["next_step"] == "Director review"
