"""What the admin studio does with users: create (with a first password), change role and
manager, deactivate/reactivate, reset a password.

Every record change is an ObjectQL write as the admin (validation, unique email, audit,
change events that clear the identity cache on every process); passwords go through
`app.auth.passwords`, the only code that touches the credential table. Checks that keep
an organisation able to sign in (the last active admin stays an active admin; nobody
manages themselves, directly or round a loop) are made here, before anything is written.
"""

from __future__ import annotations

import secrets
from typing import Any

from app import audit
from app.auth.passwords import MIN_LENGTH, set_password
from app.metadata.system_objects import ROLES
from app.objectql.context import Context
from app.objectql.errors import PermissionDenied, ValidationError
from app.objectql.service import ObjectQL

USER_FIELDS = ["name", "email", "role", "manager", "manager.name", "active", "created_at"]
MAX_USERS = 5_000


def is_admin(ctx: Context) -> bool:
    return ctx.is_system or ctx.role == "admin"


def ensure_admin(ctx: Context) -> None:
    if not is_admin(ctx):
        raise PermissionDenied("only admins can manage users and metadata")


def generate_password() -> str:
    """A 16-character password an admin can hand over once (URL-safe, no look-alikes)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def list_users(ql: ObjectQL, ctx: Context) -> list[dict[str, Any]]:
    ensure_admin(ctx)
    return ql.find(ctx, "user", fields=USER_FIELDS, sort="name", limit=MAX_USERS).records


def _check_password(password: str) -> None:
    if len(password or "") < MIN_LENGTH:
        raise ValidationError.of([("password",
                                   f"Passwords need at least {MIN_LENGTH} characters.")])


def create_user(ql: ObjectQL, ctx: Context, *, name: str, email: str, role: str,
                password: str, manager: str | None = None) -> dict[str, Any]:
    """Insert the user and their first password in one transaction: both or neither."""
    ensure_admin(ctx)
    problems: list[tuple[str | None, str]] = []
    if role not in ROLES:
        problems.append(("role", f"Choose one of: {', '.join(ROLES)}."))
    if len(password or "") < MIN_LENGTH:
        problems.append(("password", f"Passwords need at least {MIN_LENGTH} characters."))
    if problems:
        raise ValidationError.of(problems)
    data: dict[str, Any] = {"name": (name or "").strip(), "email": (email or "").strip(),
                            "role": role, "manager": manager or None}
    with ql.transaction():
        user = ql.insert(ctx, "user", data)
        set_password(ql, user["id"], password)
    return user


def update_user(ql: ObjectQL, ctx: Context, user_id: str, changes: dict[str, Any]
                ) -> dict[str, Any]:
    """Role, manager, name, email or active; refuses what would lock the organisation out
    (no active admin left) or make the manager chain a loop."""
    ensure_admin(ctx)
    allowed = {"name", "email", "role", "manager", "active"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError.of([(f, "This cannot be changed here.") for f in sorted(unknown)])
    current = ql.get(ctx, "user", user_id, fields=["role", "active", "manager"])
    if changes.get("manager"):
        _check_manager(ql, ctx, user_id, str(changes["manager"]))
    demoted = "role" in changes and changes["role"] != "admin"
    deactivated = "active" in changes and not changes["active"]
    if current["role"] == "admin" and current["active"] and (demoted or deactivated):
        others = ql.count(ctx, "user", filters=[["role", "=", "admin"], ["active", "=", True],
                                                ["id", "!=", user_id]], cap=1)[0]
        if not others:
            field = "role" if demoted else "active"
            raise ValidationError.of([(field, "This is the last active admin; make someone "
                                              "else an admin first.")])
    return ql.update(ctx, "user", user_id, changes)


def _check_manager(ql: ObjectQL, ctx: Context, user_id: str, manager_id: str) -> None:
    if manager_id == user_id:
        raise ValidationError.of([("manager", "A user cannot be their own manager.")])
    seen = {user_id}
    current: str | None = manager_id
    while current and current not in seen and len(seen) < MAX_USERS:
        seen.add(current)
        row = ql.find_one(ctx, "user", fields=["manager"], filters=[["id", "=", current]])
        current = row.get("manager") if row else None
        if current == user_id:
            raise ValidationError.of([("manager", "That manager reports to this user "
                                                  "(directly or further down); the chain "
                                                  "would be a loop.")])


def set_active(ql: ObjectQL, ctx: Context, user_id: str, active: bool) -> dict[str, Any]:
    """Deactivating ends every session and token at once: the identity cache drops the
    user on the change event and refuses inactive users, on every process."""
    return update_user(ql, ctx, user_id, {"active": active})


def reset_password(ql: ObjectQL, ctx: Context, user_id: str, password: str) -> None:
    """A new password, recorded in the user's audit trail (who reset it, never the hash)."""
    ensure_admin(ctx)
    _check_password(password)
    ql.get(ctx, "user", user_id, fields=["id"])  # 404 for an unknown user
    with ql.transaction() as conn:
        set_password(ql, user_id, password)
        audit.record(conn, object_name="user", record_id=user_id, action="password_reset",
                     user_id=ctx.user_id, at=ql.clock(), changes={})
