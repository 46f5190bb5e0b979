"""Permission sets (`metadata/permissions/<role>.permission.yml`): object and field rights."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ACTIONS = ("create", "read", "edit", "delete")


class ObjectPermission(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    create: bool = False
    read: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False

    def allows(self, action: str) -> bool:
        return bool(getattr(self, action, False))


class FieldPermission(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    read: bool = True
    edit: bool = True


NO_ACCESS = ObjectPermission()
FULL_FIELD = FieldPermission()


class PermissionSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str
    label: str | None = None
    description: str | None = None
    objects: dict[str, ObjectPermission] = Field(default_factory=dict)
    fields: dict[str, dict[str, FieldPermission]] = Field(default_factory=dict)
    source_file: str = Field(default="", exclude=True)

    def object(self, name: str) -> ObjectPermission:
        return self.objects.get(name) or self.objects.get("*") or NO_ACCESS

    def field(self, object_name: str, field_name: str) -> FieldPermission:
        return self.fields.get(object_name, {}).get(field_name, FULL_FIELD)
