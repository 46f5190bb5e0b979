"""Business logic that runs inside the ObjectQL service; one module per object."""

from app.triggers.registry import TriggerContext, trigger, triggers_for


def load_all() -> None:
    """Import every trigger module so its decorators register."""
    from app.triggers import opportunity  # noqa: F401


__all__ = ["TriggerContext", "load_all", "trigger", "triggers_for"]
