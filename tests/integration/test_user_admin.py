"""The studio's user administration (app.auth.user_admin) on SQLite and PostgreSQL: what
an admin does to users, what it refuses, and that a refusal writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.passwords import CREDENTIALS, verify_password
from app.auth.user_admin import (
    create_user,
    generate_password,
    list_users,
    reset_password,
    set_active,
    update_user,
)
from app.core import Services
from app.objectql import Context
from app.objectql.errors import Conflict, PermissionDenied, ValidationError
from app.storage.system_tables import AuditEntry

AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]


def _admin(services: Services) -> Context:
    user = services.ql.insert(Context.system(), "user", {
        "email": "root@example.test", "name": "Root Admin", "role": "admin"})
    return Context(user_id=user["id"], role="admin", name="Root Admin")


def _credentials(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(CREDENTIALS)).scalar_one())


def test_an_admin_creates_a_user_who_can_sign_in_with_the_first_password(
        services: Services) -> None:
    admin = _admin(services)
    manager = create_user(services.ql, admin, name="Mia Manager", email="mia@example.test",
                          role="sales_manager", password="manager-pass-1")
    rep = create_user(services.ql, admin, name="Ray Rep", email="ray@example.test",
                      role="sales_rep", password="rep-pass-123", manager=manager["id"])
    assert verify_password(services.ql, rep["id"], "rep-pass-123")
    assert not verify_password(services.ql, rep["id"], "wrong-pass-1")
    rows = {u["email"]: u for u in list_users(services.ql, admin)}
    assert rows["ray@example.test"]["manager.name"] == "Mia Manager"
    assert rows["ray@example.test"]["role"] == "sales_rep"
    assert services.authenticator.login("ray@example.test", "rep-pass-123").user_id == rep["id"]
    # The manager sees the new rep below them at once (the identity cache was cleared).
    assert rep["id"] in services.identities.context_for(manager["id"]).subordinate_ids


def test_a_refused_user_writes_nothing(services: Services) -> None:
    admin = _admin(services)
    before_users = services.ql.count(Context.system(), "user")[0]
    before_creds = _credentials(services)
    with pytest.raises(ValidationError) as short:
        create_user(services.ql, admin, name="Sam", email="sam@example.test",
                    role="sales_rep", password="short")
    assert short.value.field_errors["password"].startswith("Passwords need at least 8")
    with pytest.raises(ValidationError) as bad_role:
        create_user(services.ql, admin, name="Sam", email="sam@example.test",
                    role="emperor", password="long-enough-1")
    assert "role" in bad_role.value.field_errors
    create_user(services.ql, admin, name="Sam", email="sam@example.test", role="sales_rep",
                password="long-enough-1")
    with pytest.raises((ValidationError, Conflict)):  # the email is unique, ignoring case
        create_user(services.ql, admin, name="Sam Two", email="SAM@example.test",
                    role="sales_rep", password="long-enough-2")
    assert services.ql.count(Context.system(), "user")[0] == before_users + 1
    assert _credentials(services) == before_creds + 1


def test_only_admins_manage_users(services: Services) -> None:
    admin = _admin(services)
    rep = create_user(services.ql, admin, name="Ray Rep", email="ray@example.test",
                      role="sales_rep", password="rep-pass-123")
    as_rep = Context(user_id=rep["id"], role="sales_rep", name="Ray Rep")
    with pytest.raises(PermissionDenied):
        create_user(services.ql, as_rep, name="Eve", email="eve@example.test", role="admin",
                    password="eve-pass-123")
    with pytest.raises(PermissionDenied):
        update_user(services.ql, as_rep, rep["id"], {"role": "admin"})
    with pytest.raises(PermissionDenied):
        reset_password(services.ql, as_rep, admin.user_id or "", "takeover-123")
    assert services.ql.get(Context.system(), "user", rep["id"])["role"] == "sales_rep"
    assert not verify_password(services.ql, admin.user_id or "", "takeover-123")


def test_role_manager_and_loops(services: Services) -> None:
    admin = _admin(services)
    boss = create_user(services.ql, admin, name="Bo Boss", email="bo@example.test",
                       role="sales_manager", password="boss-pass-1")
    rep = create_user(services.ql, admin, name="Ray Rep", email="ray@example.test",
                      role="sales_rep", password="rep-pass-123", manager=boss["id"])
    update_user(services.ql, admin, rep["id"], {"role": "sales_manager"})
    assert services.identities.context_for(rep["id"]).role == "sales_manager"
    with pytest.raises(ValidationError, match="own manager"):
        update_user(services.ql, admin, rep["id"], {"manager": rep["id"]})
    with pytest.raises(ValidationError, match="loop"):
        update_user(services.ql, admin, boss["id"], {"manager": rep["id"]})
    assert services.ql.get(Context.system(), "user", boss["id"])["manager"] is None


def test_deactivating_ends_sign_in_and_the_last_admin_stays(services: Services) -> None:
    admin = _admin(services)
    rep = create_user(services.ql, admin, name="Ray Rep", email="ray@example.test",
                      role="sales_rep", password="rep-pass-123")
    services.identities.context_for(rep["id"])  # cached while active
    set_active(services.ql, admin, rep["id"], False)
    from app.auth.identity import InactiveUser

    with pytest.raises(InactiveUser):
        services.identities.context_for(rep["id"])
    set_active(services.ql, admin, rep["id"], True)
    assert services.identities.context_for(rep["id"]).user_id == rep["id"]
    with pytest.raises(ValidationError, match="last active admin"):
        set_active(services.ql, admin, admin.user_id or "", False)
    with pytest.raises(ValidationError, match="last active admin"):
        update_user(services.ql, admin, admin.user_id or "", {"role": "viewer"})
    update_user(services.ql, admin, rep["id"], {"role": "admin"})
    update_user(services.ql, admin, admin.user_id or "", {"role": "viewer"})  # now allowed


def test_reset_password_is_audited_without_the_secret(services: Services) -> None:
    admin = _admin(services)
    rep = create_user(services.ql, admin, name="Ray Rep", email="ray@example.test",
                      role="sales_rep", password="rep-pass-123")
    new = generate_password()
    assert len(new) == 16
    reset_password(services.ql, admin, rep["id"], new)
    assert verify_password(services.ql, rep["id"], new)
    assert not verify_password(services.ql, rep["id"], "rep-pass-123")
    with services.engine.connect() as conn:
        entries = conn.execute(select(AUDIT.c.action, AUDIT.c.user_id, AUDIT.c.changes).where(
            AUDIT.c.record_id == rep["id"], AUDIT.c.action == "password_reset")).all()
    assert [(e.action, e.user_id) for e in entries] == [("password_reset", admin.user_id)]
    assert new not in str(entries[0].changes)
    with pytest.raises(ValidationError):
        reset_password(services.ql, admin, rep["id"], "short")
    assert verify_password(services.ql, rep["id"], new)
