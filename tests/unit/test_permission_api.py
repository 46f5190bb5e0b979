"""The public permission pair (app/objectql/permissions.py): `ql.allowed(...)` answers,
`ql.ensure(...)` raises PermissionDenied — and they never disagree, over the whole
matrix of roles x objects x actions x fields x paths of the shipped metadata."""

from __future__ import annotations

import pytest

from app.core import Services
from app.metadata.registry import Registry
from app.objectql import Context
from app.objectql.errors import PermissionDenied
from app.objectql.permissions import FIELD_ACTIONS, OBJECT_ACTIONS
from app.objectql.service import ObjectQL

ROLES = ("admin", "sales_manager", "sales_rep", "viewer", "nobody")


@pytest.fixture
def ql(sqlite_services: Services) -> ObjectQL:
    return sqlite_services.ql


def contexts() -> list[Context]:
    return [Context(user_id="u1", role=role) for role in ROLES] + [Context.system()]


def paths(registry: Registry, name: str) -> list[str]:
    """Every field of the object, every field one lookup away, and some nonsense."""
    obj = registry[name]
    found = list(obj.all_fields)
    for fd in obj.all_fields.values():
        if fd.reference_to in registry:
            found += [f"{fd.name}.{n}" for n in registry[fd.reference_to or ""].all_fields]
    return [*found, "nope", "name.first", "owner.nope"]


def agrees(ql: ObjectQL, ctx: Context, action: str, obj: str, path: str | None) -> bool:
    allowed = ql.allowed(ctx, action, obj, path)
    try:
        ql.ensure(ctx, action, obj, path)
    except PermissionDenied as denied:
        assert denied.message, "a refusal says why"
        return allowed is False
    return allowed is True


def test_allowed_is_false_exactly_when_ensure_raises(ql: ObjectQL) -> None:
    checked = 0
    for ctx in contexts():
        for name in list(ql.registry):
            for action in OBJECT_ACTIONS:
                assert agrees(ql, ctx, action, name, None), (ctx.role, action, name)
                checked += 1
            for action in FIELD_ACTIONS:
                for path in paths(ql.registry, name):
                    assert agrees(ql, ctx, action, name, path), (ctx.role, action, name, path)
                    checked += 1
    assert checked > 5000


def test_object_actions_follow_the_permission_sets(ql: ObjectQL) -> None:
    rep, viewer = Context("u1", "sales_rep"), Context("u1", "viewer")
    assert ql.allowed(rep, "create", "opportunity")
    assert not ql.allowed(rep, "delete", "account")  # sales_rep: no delete on accounts
    assert ql.allowed(viewer, "read", "account")
    assert not ql.allowed(viewer, "edit", "account")
    with pytest.raises(PermissionDenied, match="may not edit accounts"):
        ql.ensure(viewer, "edit", "account")
    assert not ql.allowed(Context("u1", "nobody"), "read", "account")
    assert ql.allowed(Context.system(), "delete", "account")


def test_hidden_fields_are_unreadable_along_every_path(ql: ObjectQL) -> None:
    viewer, manager = Context("u1", "viewer"), Context("u1", "sales_manager")
    assert not ql.allowed(viewer, "read", "account", "annual_revenue")
    assert not ql.allowed(viewer, "read", "opportunity", "account.annual_revenue")
    assert ql.allowed(viewer, "read", "opportunity", "account.name")
    assert ql.allowed(manager, "read", "opportunity", "account.annual_revenue")
    with pytest.raises(PermissionDenied) as denied:
        ql.ensure(viewer, "read", "opportunity", "account.annual_revenue")
    # Reads as unknown, the way ObjectQL answers a query naming it: no existence oracle.
    assert "unknown field 'annual_revenue'" in denied.value.message
    assert denied.value.details == [{"field": "account.annual_revenue",
                                     "message": denied.value.message}]


def test_unknown_and_malformed_paths_are_refused(ql: ObjectQL) -> None:
    admin = Context("u1", "admin")
    assert not ql.allowed(admin, "read", "account", "nope")
    assert not ql.allowed(admin, "read", "account", "name.first")  # a plain field ends it
    assert not ql.allowed(admin, "read", "opportunity", "account.nope")
    with pytest.raises(ValueError, match="unknown action"):
        ql.allowed(admin, "approve", "account")


def test_edit_means_settable_in_a_form(ql: ObjectQL) -> None:
    rep, viewer = Context("u1", "sales_rep"), Context("u1", "viewer")
    assert ql.allowed(rep, "edit", "opportunity", "stage")
    assert ql.allowed(rep, "edit", "opportunity", "owner")  # the one settable system field
    assert not ql.allowed(rep, "edit", "opportunity", "created_at")  # system stamp
    assert not ql.allowed(rep, "edit", "opportunity", "account.name")  # not a plain field
    assert not ql.allowed(viewer, "edit", "account", "annual_revenue")
    computed = next(n for n, fd in ql.object("opportunity").fields.items() if fd.is_computed)
    with pytest.raises(PermissionDenied, match="computed"):
        ql.ensure(Context.system(), "edit", "opportunity", computed)


def test_field_edit_denied_by_the_permission_set(ql: ObjectQL) -> None:
    """sales_rep.permission.yml takes edit away from some opportunity fields."""
    perms = ql.registry.permissions["sales_rep"]
    denied = [name for name, p in perms.fields.get("opportunity", {}).items() if not p.edit]
    assert denied, "the shipped permission set restricts a field"
    rep = Context("u1", "sales_rep")
    for name in denied:
        assert not ql.allowed(rep, "edit", "opportunity", name)
        with pytest.raises(PermissionDenied):
            ql.ensure(rep, "edit", "opportunity", name)
