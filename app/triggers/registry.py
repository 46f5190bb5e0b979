"""Trigger registry: `@trigger("opportunity", "before_update")` functions run inside the save.

A trigger gets a TriggerContext: the old and new record, `changed(field)`, the user's
Context, and an ObjectQL handle bound to the same transaction, so anything it writes
commits or rolls back together with the save that fired it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from app.objectql.context import Context
    from app.objectql.service import ObjectQL

Event = Literal["before_insert", "after_insert", "before_update", "after_update",
                "before_delete", "after_delete"]
EVENTS: tuple[str, ...] = ("before_insert", "after_insert", "before_update", "after_update",
                           "before_delete", "after_delete")


@dataclass
class TriggerContext:
    object: str
    event: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    ctx: Context
    ql: ObjectQL
    # Fields the caller set explicitly on this save (not defaults, not trigger output).
    supplied: frozenset[str] = field(default_factory=frozenset)

    def changed(self, name: str) -> bool:
        if self.old is None or self.new is None:
            return self.new is not None and self.new.get(name) is not None
        return self.old.get(name) != self.new.get(name)

    @property
    def is_insert(self) -> bool:
        return self.old is None


TriggerFn = Callable[[TriggerContext], None]
_TRIGGERS: dict[tuple[str, str], list[TriggerFn]] = defaultdict(list)


def trigger(object_name: str, *events: Event) -> Callable[[TriggerFn], TriggerFn]:
    if not events:
        raise ValueError("name at least one event")
    for event in events:
        if event not in EVENTS:
            raise ValueError(f"unknown trigger event {event!r}")

    def register(fn: TriggerFn) -> TriggerFn:
        for event in events:
            if fn not in _TRIGGERS[(object_name, event)]:
                _TRIGGERS[(object_name, event)].append(fn)
        return fn

    return register


def triggers_for(object_name: str, event: str) -> list[TriggerFn]:
    return _TRIGGERS.get((object_name, event), [])
