"""Typed errors of the ObjectQL service; the REST layer maps `status` and `code` 1:1."""

from __future__ import annotations

from typing import Any


class ObjectQLError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, str]] | None = None,
                 **extra: Any):
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.extra = extra

    def __str__(self) -> str:
        # `message` may be refined after raising (batches prefix "row N: "); show that.
        return self.message

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message,
                                "details": self.details}
        body.update(self.extra)
        return {"error": body}


class QueryError(ObjectQLError):
    status = 400
    code = "bad_query"


class NotFound(ObjectQLError):
    status = 404
    code = "not_found"


class PermissionDenied(ObjectQLError):
    status = 403
    code = "forbidden"


class Conflict(ObjectQLError):
    status = 409
    code = "conflict"


class ValidationError(ObjectQLError):
    status = 422
    code = "validation_failed"

    @classmethod
    def of(cls, problems: list[tuple[str | None, str]], prefix: str = "") -> ValidationError:
        details = [{"field": f or "", "message": m} for f, m in problems]
        summary = "; ".join(f"{f}: {m}" if f else m for f, m in problems)
        return cls(f"{prefix}{summary}", details)

    @property
    def field_errors(self) -> dict[str, str]:
        return {d["field"]: d["message"] for d in self.details}


class TriggerFailed(ObjectQLError):
    """A trigger raised something unexpected; the whole save was rolled back."""

    status = 422
    code = "trigger_failed"
