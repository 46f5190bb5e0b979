"""The hooks through which ObjectQL asks who may do what.

`OpenSecurity` allows everything a context asks; the permission-set policy plugs in
through the same interface, so every read and write is checked in one place.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, FromClause

from app.metadata.models import FieldDef, ObjectDef
from app.objectql.context import Context


class SecurityPolicy(Protocol):
    def check_object(self, ctx: Context, obj: ObjectDef, action: str) -> None:
        """Raise PermissionDenied unless `action` (create/read/edit/delete) is allowed."""

    def row_filter(self, ctx: Context, obj: ObjectDef, table: FromClause,
                   action: str = "read") -> ColumnElement[bool] | None:
        """An extra WHERE clause limiting rows to those visible/modifiable, or None."""

    def field_readable(self, ctx: Context, obj: ObjectDef, fd: FieldDef) -> bool: ...

    def field_editable(self, ctx: Context, obj: ObjectDef, fd: FieldDef) -> bool: ...

    def can_assign(self, ctx: Context, obj: ObjectDef, owner_id: str | None) -> bool:
        """May `ctx` make `owner_id` the owner of a record of `obj`?"""


class OpenSecurity:
    """Every context may do everything (system tools and tests of the core)."""

    def check_object(self, ctx: Context, obj: ObjectDef, action: str) -> None:
        return None

    def row_filter(self, ctx: Context, obj: ObjectDef, table: FromClause,
                   action: str = "read") -> ColumnElement[bool] | None:
        return None

    def field_readable(self, ctx: Context, obj: ObjectDef, fd: FieldDef) -> bool:
        return True

    def field_editable(self, ctx: Context, obj: ObjectDef, fd: FieldDef) -> bool:
        return True

    def can_assign(self, ctx: Context, obj: ObjectDef, owner_id: str | None) -> bool:
        return True
