"""One public answer to "may this context do that?", in both forms (as Datasette has it):

    ql.allowed(ctx, "read", obj)                    -> bool   # decide what to show
    ql.allowed(ctx, "read", obj, "account.name")   -> bool   # a (dotted) path
    ql.allowed(ctx, "edit", obj, "stage")           -> bool   # a field the user may change
    ql.ensure(ctx, "delete", obj)                   # raises PermissionDenied, else None

`allowed` is False exactly when `ensure` raises, because both ask `denial()`. The pages,
components and the REST layer ask these instead of walking paths and calling the
security policy themselves; the policy (app/security/policy.py) stays the one place the
rules are written, and ObjectQL still enforces them on every read and write.

Object actions: create, read, edit, delete. With a path, "read" means every field along
it is readable and every object it passes through may be read; "edit" (or "create")
means the user may set that plain field in a form: readable, editable by the role, and
neither computed, system nor read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.metadata.models import ObjectDef
from app.objectql.context import Context
from app.objectql.errors import PermissionDenied

if TYPE_CHECKING:
    from app.objectql.service import ObjectQL

OBJECT_ACTIONS = ("create", "read", "edit", "delete")
FIELD_ACTIONS = ("read", "edit", "create")


class Permissions:
    """The permission questions of one ObjectQL service (its registry and policy)."""

    def __init__(self, ql: ObjectQL) -> None:
        self.ql = ql

    def allowed(self, ctx: Context, action: str, obj: ObjectDef | str,
                path: str | None = None) -> bool:
        return self.denial(ctx, action, obj, path) is None

    def ensure(self, ctx: Context, action: str, obj: ObjectDef | str,
               path: str | None = None) -> None:
        denied = self.denial(ctx, action, obj, path)
        if denied is not None:
            raise denied

    def denial(self, ctx: Context, action: str, obj: ObjectDef | str,
               path: str | None = None) -> PermissionDenied | None:
        """The error `ensure` raises, or None when the action is allowed."""
        target = self.ql.object(obj) if isinstance(obj, str) else obj
        if path is None:
            if action not in OBJECT_ACTIONS:
                raise ValueError(f"unknown action {action!r}; expected {OBJECT_ACTIONS}")
            return self._object(ctx, target, action)
        if action not in FIELD_ACTIONS:
            raise ValueError(f"unknown field action {action!r}; expected {FIELD_ACTIONS}")
        if action == "read":
            return self._object(ctx, target, "read") or self._read_path(ctx, target, path)
        return self._edit_field(ctx, target, path)

    def _object(self, ctx: Context, obj: ObjectDef, action: str) -> PermissionDenied | None:
        try:
            self.ql.security.check_object(ctx, obj, action)
        except PermissionDenied as denied:
            return denied
        return None

    def _read_path(self, ctx: Context, obj: ObjectDef, path: str) -> PermissionDenied | None:
        security, registry = self.ql.security, self.ql.registry
        current = obj
        parts = path.split(".")
        for index, part in enumerate(parts):
            fd = current.field(part)
            if fd is None or not security.field_readable(ctx, current, fd):
                # An unreadable field reads as unknown, as everywhere else: no oracle.
                return _denied(path, f"unknown field '{part}' on {current.name}")
            if fd.reference_to is None:
                if index < len(parts) - 1:  # "name.x": a plain field has no fields
                    return _denied(path, f"'{part}' on {current.name} is not a lookup")
                return None
            if fd.reference_to not in registry:
                return _denied(path, f"unknown object '{fd.reference_to}'")
            current = registry[fd.reference_to]
            denied = self._object(ctx, current, "read")
            if denied is not None:
                return _denied(path, denied.message)
        return None

    def _edit_field(self, ctx: Context, obj: ObjectDef, name: str) -> PermissionDenied | None:
        fd = obj.field(name)
        security = self.ql.security
        if fd is None or not security.field_readable(ctx, obj, fd):
            return _denied(name, f"unknown field '{name}' on {obj.name}")
        if fd.is_computed or (fd.system and name != "owner"):
            return _denied(name, f"'{name}' is computed and cannot be set")
        if fd.readonly and not ctx.is_system:
            return _denied(name, f"'{name}' is read-only")
        if not ctx.is_system and not security.field_editable(ctx, obj, fd):
            return _denied(name, f"you may not edit {name} on {obj.label}")
        return None


def _denied(path: str, message: str) -> PermissionDenied:
    return PermissionDenied(message, [{"field": path, "message": message}])
