"""Change events published after commit (cache invalidation, live UI updates)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeEvent:
    object: str
    record_id: str
    action: str  # insert | update | delete
    user_id: str | None
    changed: tuple[str, ...] = ()
    record: dict[str, Any] = field(default_factory=dict, compare=False)


Listener = Callable[[ChangeEvent], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def publish(self, event: ChangeEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not undo a committed save
                log.exception("change listener failed for %s", event)
