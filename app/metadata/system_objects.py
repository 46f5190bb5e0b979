"""Objects the platform itself needs; declared here, stored like every other object.

`user` deliberately has no password field: the hash lives in a column the
metadata does not know, so no query, expand or response can ever select it.
"""

from __future__ import annotations

from typing import Any

from app.metadata.models import ObjectDef
from app.metadata.validate import finalize_object

ROLES = ("admin", "sales_manager", "sales_rep", "viewer")

_DEFINITIONS: dict[str, dict[str, Any]] = {
    "user": {
        "name": "user", "label": "User", "plural_label": "Users", "icon": "person",
        "name_field": "name", "sharing_model": "public_read",
        "fields": {
            "email": {"type": "email", "label": "Email", "required": True,
                      "unique": "case_insensitive", "searchable": True, "max_length": 255},
            "name": {"type": "text", "label": "Name", "required": True, "searchable": True,
                     "max_length": 120, "index": True},
            "role": {"type": "select", "label": "Role", "required": True, "default": "sales_rep",
                     "options": [{"value": r, "label": r.replace("_", " ").title()}
                                 for r in ROLES]},
            "manager": {"type": "lookup", "label": "Manager", "reference_to": "user",
                        "delete_behavior": "set_null"},
            "active": {"type": "boolean", "label": "Active", "default": True},
        },
    },
    "notification": {
        "name": "notification", "label": "Notification", "plural_label": "Notifications",
        "icon": "notifications", "name_field": "title", "sharing_model": "private",
        "fields": {
            "user": {"type": "lookup", "label": "Recipient", "reference_to": "user",
                     "required": True, "delete_behavior": "cascade"},
            "title": {"type": "text", "label": "Title", "required": True, "max_length": 255},
            "body": {"type": "textarea", "label": "Body"},
            "link": {"type": "text", "label": "Link", "max_length": 500},
            "read": {"type": "boolean", "label": "Read", "default": False, "index": True},
        },
    },
}


def system_objects() -> dict[str, ObjectDef]:
    result = {}
    for name, spec in _DEFINITIONS.items():
        obj = ObjectDef.model_validate(spec)
        obj.system = True
        finalize_object(obj)
        result[name] = obj
    return result
