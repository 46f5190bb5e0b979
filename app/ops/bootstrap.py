"""Create the first admin from the environment when a fresh deployment has none.

Containers start on an empty database with no way to sign in; `HOTCRM_ADMIN_EMAIL` and
`HOTCRM_ADMIN_PASSWORD` name the first admin. It is created through ObjectQL (validation,
audit) only while no active admin exists, so restarting a replica never resets a password
an admin has since changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.passwords import set_password
from app.objectql import Context
from app.objectql.service import ObjectQL


@dataclass(frozen=True)
class BootstrapResult:
    created: bool
    reason: str


def ensure_admin(ql: ObjectQL, email: str, password: str,
                 name: str = "Administrator") -> BootstrapResult:
    """Create `email` as admin unless an admin already exists; never changes an existing one."""
    system = Context.system()
    with ql.transaction():
        if ql.count(system, "user", filters=[["role", "=", "admin"]], cap=1)[0]:
            return BootstrapResult(False, "an admin already exists")
        if ql.find_one(system, "user", fields=["id"], filters=[["email", "=", email]]):
            return BootstrapResult(False, f"{email} exists without the admin role")
        user = ql.insert(system, "user", {"email": email, "name": name, "role": "admin"})
        set_password(ql, user["id"], password)
    return BootstrapResult(True, f"created admin {email}")
