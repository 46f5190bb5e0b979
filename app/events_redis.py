"""Carry committed changes between processes over Redis pub/sub.

Every process publishes its changes on one channel per database (so two deployments, or
two test runs, sharing a Redis never hear each other) and feeds what the others publish
to its local listeners. Redis is optional and never a single point of failure: a failed
publish is logged and the save stands; the listening thread reconnects with backoff and
then delivers a resync event, because changes published while it was away are lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import uuid
from typing import Any

import redis
from sqlalchemy.engine import make_url

from app.events import RESYNC, ChangeEvent, EventBus

log = logging.getLogger(__name__)


def namespace_for(database_url: str) -> str:
    """One Redis key namespace per database, derived from its URL without the password:
    two deployments (or test runs) sharing a Redis never see each other's keys."""
    safe = make_url(database_url).render_as_string(hide_password=True)
    return f"hotcrm:{hashlib.sha1(safe.encode()).hexdigest()[:16]}"


def channel_for(database_url: str) -> str:
    return f"{namespace_for(database_url)}:changes"


class RedisRelay:
    """Publishes this process's changes and delivers the other processes' changes."""

    def __init__(self, bus: EventBus, redis_url: str, channel: str,
                 backoff_seconds: float = 0.5) -> None:
        self.bus, self.channel = bus, channel
        self.origin = uuid.uuid4().hex
        self._backoff = backoff_seconds
        self._publisher = redis.Redis.from_url(redis_url, socket_timeout=1,
                                               socket_connect_timeout=1)
        # Named, so CLIENT LIST tells an operator (and the tests) which process listens.
        self.listener_name = f"hotcrm-events-{self.origin[:12]}"
        self._listener = redis.Redis.from_url(redis_url, socket_connect_timeout=1,
                                              health_check_interval=5,
                                              client_name=self.listener_name)
        self._stop = threading.Event()
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="hotcrm-redis-relay",
                                        daemon=True)
        self._remove = bus.add_relay(self._publish)

    def start(self) -> RedisRelay:
        self._thread.start()
        return self

    def close(self) -> None:
        self._remove()
        self._stop.set()
        self._thread.join(timeout=3)
        self._publisher.close()
        self._listener.close()

    def ping(self) -> None:
        """Raise RedisError when Redis does not answer (health checks reuse this client
        instead of opening a connection pool per probe)."""
        self._publisher.ping()

    # -- out -------------------------------------------------------------------------------
    def _publish(self, event: ChangeEvent) -> None:
        message = json.dumps({"origin": self.origin, "object": event.object,
                              "record_id": event.record_id, "action": event.action,
                              "user_id": event.user_id, "changed": list(event.changed),
                              "record": event.record}, default=str)
        try:
            self._publisher.publish(self.channel, message)
        except redis.RedisError as exc:
            log.warning("change event not relayed (Redis unavailable: %s)", exc)

    # -- in --------------------------------------------------------------------------------
    def _listen(self) -> None:
        first = True
        while not self._stop.is_set():
            pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                self.connected.set()
                if not first:  # whatever was published while we were away is lost
                    self.bus.deliver(ChangeEvent(RESYNC, "", "resync", None, remote=True))
                first = False
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None:
                        self._receive(message["data"])
            except (redis.RedisError, OSError) as exc:
                self.connected.clear()
                log.warning("Redis relay disconnected (%s); retrying", exc)
                self._stop.wait(self._backoff)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()

    def _receive(self, data: Any) -> None:
        try:
            payload = json.loads(data)
            if payload.get("origin") == self.origin:
                return
            event = ChangeEvent(payload["object"], payload["record_id"], payload["action"],
                                payload.get("user_id"), tuple(payload.get("changed", ())),
                                payload.get("record") or {}, remote=True)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed change event on %s", self.channel)
            return
        self.bus.deliver(event)


def wait_connected(relay: RedisRelay, seconds: float = 5.0) -> bool:
    """For startup and tests: block until the listening thread has subscribed."""
    return relay.connected.wait(seconds)
