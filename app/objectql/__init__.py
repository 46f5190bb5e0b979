"""ObjectQL: the one door to data."""

from app.objectql.context import Context
from app.objectql.errors import (
    Conflict,
    NotFound,
    ObjectQLError,
    PermissionDenied,
    QueryError,
    TriggerFailed,
    ValidationError,
)

__all__ = [
    "Conflict",
    "Context",
    "NotFound",
    "ObjectQLError",
    "PermissionDenied",
    "QueryError",
    "TriggerFailed",
    "ValidationError",
]
