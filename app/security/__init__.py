"""Authorization: permission sets, row-level sharing and field-level security."""

from app.security.policy import PermissionPolicy

__all__ = ["PermissionPolicy"]
