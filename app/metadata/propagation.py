"""Every process serves the same metadata version within 2 s of a change.

The process that saves a version publishes its number on a Redis channel (one per
database, like the change relay) when Redis is configured. Every server process runs
one watcher thread that adopts a newer version (`MetadataStudio.refresh`) when such a
message arrives, and in any case every `poll_seconds` by asking the version table for
its newest number — so without Redis, or while Redis is away, polling alone keeps the
processes in step.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from app.metadata.studio import MetadataStudio

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5  # without Redis: well inside the 2 s promise
POLL_WITH_REDIS_SECONDS = 5.0  # with Redis the message comes first; this is a safety net


def metadata_channel(namespace: str) -> str:
    return f"{namespace}:metadata"


class MetadataWatcher:
    def __init__(self, studio: MetadataStudio, redis_url: str | None = None,
                 channel: str | None = None, poll_seconds: float | None = None):
        self.studio, self.channel = studio, channel
        self.redis_url = redis_url if channel else None
        self.poll_seconds = poll_seconds or (POLL_WITH_REDIS_SECONDS if self.redis_url
                                             else POLL_SECONDS)
        self._publisher = redis.Redis.from_url(self.redis_url, socket_timeout=1,
                                               socket_connect_timeout=1) \
            if self.redis_url else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.subscribed = threading.Event()
        studio.announce = self.announce

    def announce(self, number: int) -> None:
        """Tell the other processes that version `number` is live (best effort: they
        poll anyway)."""
        if self._publisher is None or self.channel is None:
            return
        try:
            self._publisher.publish(self.channel, str(number))
        except redis.RedisError as exc:
            log.warning("metadata version %d not announced (Redis: %s); other processes "
                        "pick it up by polling", number, exc)

    def start(self) -> MetadataWatcher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hotcrm-metadata-watch",
                                             daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
        if self._publisher is not None:
            self._publisher.close()

    def _refresh(self) -> None:
        try:
            self.studio.refresh()
        except Exception:  # a database hiccup must not end the watcher
            log.exception("metadata refresh failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.redis_url and self.channel:
                self._listen()
            else:
                self._refresh()
                self._stop.wait(self.poll_seconds)

    def _listen(self) -> None:
        assert self.redis_url is not None and self.channel is not None
        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=1,
                                      health_check_interval=5)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            self.subscribed.set()
            self._refresh()  # whatever was announced before we listened
            while not self._stop.is_set():
                pubsub.get_message(timeout=self.poll_seconds)
                self._refresh()  # on a message, and on every quiet interval
        except (redis.RedisError, OSError) as exc:
            self.subscribed.clear()
            log.warning("metadata watcher lost Redis (%s); polling until it is back", exc)
            self._refresh()
            self._stop.wait(POLL_SECONDS)
        finally:
            with contextlib.suppress(redis.RedisError, OSError):
                pubsub.close()
            client.close()
