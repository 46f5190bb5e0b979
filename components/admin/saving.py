"""One way for every studio editor to save: call the studio with the version the editor
loaded and turn its answers into a SaveOutcome the editor can show — the loader's
problems next to what they are about, a conflict with the other admin's diff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core import Services
from app.metadata.studio import MetadataConflict, MetadataRefused
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError


def studio(services: Services) -> Any:
    return services.studio


@dataclass
class Problem:
    message: str
    field: str | None = None
    object: str | None = None


@dataclass
class SaveOutcome:
    ok: bool
    version: int | None = None
    problems: list[Problem] = field(default_factory=list)
    conflict_diff: str | None = None
    message: str | None = None

    @property
    def conflict(self) -> bool:
        return self.conflict_diff is not None

    def text(self) -> str:
        """Everything to say in one box (fields included, by name)."""
        if self.conflict:
            return self.message or "Another admin saved first."
        lines = [self.message] if self.message else []
        lines += [f"{p.field}: {p.message}" if p.field else p.message for p in self.problems]
        return "\n".join(lines)

    def about_field(self, name: str) -> list[str]:
        return [p.message for p in self.problems if p.field == name]

    def not_about(self, names: set[str]) -> list[str]:
        return [p.message for p in self.problems if p.field not in names]


def refused(problems: list[Any]) -> SaveOutcome:
    return SaveOutcome(False, problems=[
        Problem(str(getattr(p, "message", p)), getattr(p, "field", None) or None,
                getattr(p, "object", None)) for p in problems])


def _conflict(exc: MetadataConflict) -> SaveOutcome:
    return SaveOutcome(False, conflict_diff=exc.their_diff, message=(
        f"Another admin saved version {exc.current_version} while you were editing "
        f"(you started from version {exc.base_version}); nothing of yours was saved. Their "
        "change is below: reload to start from it, then apply yours again."))


def _outcome(call: Callable[[], Any]) -> SaveOutcome:
    """Run one studio change and say how it went, in the form the editors show."""
    try:
        info = call()
    except MetadataRefused as exc:
        return refused(list(exc.problems))
    except MetadataConflict as exc:
        return _conflict(exc)
    except ObjectQLError as exc:  # not an admin (any more), or similar
        return SaveOutcome(False, message=exc.message)
    return SaveOutcome(True, version=getattr(info, "number", None))


def save_object(services: Services, ctx: Context, name: str, document: dict[str, Any], *,
                base_version: int, comment: str) -> SaveOutcome:
    return _outcome(lambda: studio(services).save_object(
        ctx, name, document, base_version=base_version, comment=comment))


def save_permissions(services: Services, ctx: Context, role: str, document: dict[str, Any], *,
                     base_version: int, comment: str) -> SaveOutcome:
    return _outcome(lambda: studio(services).save_permissions(
        ctx, role, document, base_version=base_version, comment=comment))


def save_dashboard(services: Services, ctx: Context, name: str, document: dict[str, Any], *,
                   base_version: int, comment: str) -> SaveOutcome:
    return _outcome(lambda: studio(services).save_dashboard(
        ctx, name, document, base_version=base_version, comment=comment))


def revert(services: Services, ctx: Context, number: int, comment: str) -> SaveOutcome:
    return _outcome(lambda: studio(services).revert(ctx, number, comment=comment))


def check_object(services: Services, name: str, document: dict[str, Any]) -> list[Problem]:
    return refused(list(studio(services).check_object(name, document))).problems
