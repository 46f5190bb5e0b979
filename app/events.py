"""Change events published after commit (cache invalidation, live UI updates).

`EventBus.publish` delivers a committed change to this process's listeners and hands it
to the relays (see `app/events_redis.py`), which carry it to every other process; a
change arriving from another process enters through `deliver`, so it reaches the local
listeners once and is never sent back out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# `object` of the event a relay delivers after it lost and regained its connection: any
# change may have been missed meanwhile, so listeners drop everything they cached.
RESYNC = "*"


@dataclass(frozen=True)
class ChangeEvent:
    object: str
    record_id: str
    action: str  # insert | update | delete | resync
    user_id: str | None
    changed: tuple[str, ...] = ()
    record: dict[str, Any] = field(default_factory=dict, compare=False)
    # True when the change was made by another process (delivered through a relay).
    remote: bool = field(default=False, compare=False)

    @property
    def is_resync(self) -> bool:
        return self.object == RESYNC

    def touches(self, object_name: str) -> bool:
        """Whether a cache of `object_name` must be dropped for this event."""
        return self.object == object_name or self.is_resync


Listener = Callable[[ChangeEvent], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._relays: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Returns the unsubscribe function (safe to call more than once)."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def add_relay(self, relay: Listener) -> Callable[[], None]:
        """`relay` receives every change made in this process (to send it elsewhere)."""
        self._relays.append(relay)
        return lambda: self._relays.remove(relay)

    def publish(self, event: ChangeEvent) -> None:
        """A change committed in this process: local listeners, then the relays."""
        self.deliver(event)
        for relay in list(self._relays):
            try:
                relay(event)
            except Exception:  # a relay that is down must not undo a committed save
                log.exception("change relay failed for %s", event)

    def deliver(self, event: ChangeEvent) -> None:
        """Hand `event` to this process's listeners only."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not undo a committed save
                log.exception("change listener failed for %s", event)
