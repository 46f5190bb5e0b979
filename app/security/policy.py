"""The permission-set policy ObjectQL consults on every read and write.

Object rights come from the role's permission set. Row level follows the object's
sharing model; under `private` a user sees their own records and those owned by anyone
below them in the manager chain. The row filter is part of the SQL, so counts,
aggregates, search, expand, related lists and dotted paths can never reveal a hidden row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, FromClause, false, select

from app.metadata.models import FieldDef, ObjectDef
from app.metadata.permissions import NO_ACCESS, ObjectPermission
from app.objectql.context import Context
from app.objectql.errors import PermissionDenied

if TYPE_CHECKING:
    from app.objectql.service import ObjectQL



class PermissionPolicy:
    def __init__(self) -> None:
        self._ql: ObjectQL | None = None

    def attach(self, ql: ObjectQL) -> None:
        self._ql = ql

    @property
    def ql(self) -> ObjectQL:
        assert self._ql is not None, "PermissionPolicy used before ObjectQL attached it"
        return self._ql

    def object_permission(self, ctx: Context, obj: ObjectDef) -> ObjectPermission:
        perms = self.ql.registry.permissions.get(ctx.role)
        return perms.object(obj.name) if perms else NO_ACCESS

    def check_object(self, ctx: Context, obj: ObjectDef, action: str) -> None:
        if ctx.is_system:
            return
        if not self.object_permission(ctx, obj).allows(action):
            raise PermissionDenied(f"your role ({ctx.role}) may not {action} "
                                   f"{obj.display_plural.lower()}")

    def row_filter(self, ctx: Context, obj: ObjectDef, table: FromClause,
                   action: str = "read") -> ColumnElement[bool] | None:
        if ctx.is_system:
            return None
        perm = self.object_permission(ctx, obj)
        if (action == "read" and perm.view_all) or perm.modify_all:
            return None
        model = obj.sharing_model
        if model == "public_read_write" or (model == "public_read" and action == "read"):
            return None
        if model == "controlled_by_parent":
            return self._parent_filter(ctx, obj, table, action)
        if ctx.user_id is None:
            return false()
        owners = [ctx.user_id, *sorted(ctx.subordinate_ids)]
        column = table.c.owner
        return column == owners[0] if len(owners) == 1 else column.in_(owners)

    def _parent_filter(self, ctx: Context, obj: ObjectDef, table: FromClause,
                       action: str) -> ColumnElement[bool] | None:
        master = next((f for f in obj.fields.values() if f.type == "master_detail"), None)
        if master is None or not master.reference_to:
            return false()
        parent = self.ql.registry[master.reference_to]
        parent_table = self.ql.schema.alias(parent.name, f"p_{obj.name}")
        # Editing a detail record means editing the master's data: same rule.
        condition = self.row_filter(ctx, parent, parent_table,
                                    "edit" if action != "read" else "read")
        if condition is None:
            return None
        return table.c[master.name].in_(select(parent_table.c.id).where(condition))

    def field_readable(self, ctx: Context, obj: ObjectDef, fd: FieldDef) -> bool:
        if ctx.is_system:
            return True
        perms = self.ql.registry.permissions.get(ctx.role)
        return perms is not None and perms.field(obj.name, fd.name).read

    def field_editable(self, ctx: Context, obj: ObjectDef, fd: FieldDef) -> bool:
        if ctx.is_system:
            return True
        perms = self.ql.registry.permissions.get(ctx.role)
        return perms is not None and perms.field(obj.name, fd.name).edit

    def can_assign(self, ctx: Context, obj: ObjectDef, owner_id: str | None) -> bool:
        """Records go to yourself or someone below you, unless you may modify all."""
        if ctx.is_system or self.object_permission(ctx, obj).modify_all:
            return True
        return owner_id == ctx.user_id or owner_id in ctx.subordinate_ids

