"""Settings read from the environment (the ⚑ configuration table of DESIGN.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(os.environ.get("HOTCRM_DATA_DIR", "data"))
LOGIN_ATTEMPTS_PER_ADDRESS = 30  # per minute, per client IP, across all emails
WORKER_THREADS = 2  # see Settings.worker_threads and docs/decisions.md


def _secret_key() -> str:
    configured = os.environ.get("HOTCRM_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret.key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get(
            "HOTCRM_DATABASE_URL", f"sqlite:///{DATA_DIR / 'hotcrm.db'}"
        )
    )
    redis_url: str | None = field(default_factory=lambda: os.environ.get("HOTCRM_REDIS_URL"))
    # A read-only copy (PostgreSQL standby) for lists, search, dashboards and exports;
    # a user reads from the primary for replica_sticky_seconds after their own change.
    replica_url: str = field(default_factory=lambda: _env("HOTCRM_DATABASE_REPLICA_URL"))
    replica_sticky_seconds: float = field(default_factory=lambda: float(
        _env("HOTCRM_REPLICA_STICKY_SECONDS") or 10))
    host: str = field(default_factory=lambda: os.environ.get("HOTCRM_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("HOTCRM_PORT", "8080")))
    metadata_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("HOTCRM_METADATA_DIR", "metadata"))
    )
    demo: bool = field(default_factory=lambda: _flag("HOTCRM_DEMO"))
    ai_provider: str = field(default_factory=lambda: os.environ.get("HOTCRM_AI_PROVIDER", "auto"))
    # OpenID Connect single sign-on: active only when issuer, client id and secret are set.
    oidc_issuer: str = field(default_factory=lambda: _env("HOTCRM_OIDC_ISSUER"))
    oidc_client_id: str = field(default_factory=lambda: _env("HOTCRM_OIDC_CLIENT_ID"))
    oidc_client_secret: str = field(default_factory=lambda: _env("HOTCRM_OIDC_CLIENT_SECRET"))
    # Role for first-time SSO users; empty = unknown emails are refused.
    oidc_auto_provision_role: str = field(
        default_factory=lambda: _env("HOTCRM_OIDC_AUTO_PROVISION_ROLE"))
    # First admin for a fresh deployment (containers); ignored once any admin exists.
    admin_email: str = field(default_factory=lambda: _env("HOTCRM_ADMIN_EMAIL"))
    admin_password: str = field(default_factory=lambda: _env("HOTCRM_ADMIN_PASSWORD"))
    # PostgreSQL only: "off" acknowledges a save once it is in the WAL buffer, not on disk
    # (SQLite's WAL + synchronous=NORMAL makes the same trade); "on" waits for the flush.
    synchronous_commit: str = field(
        default_factory=lambda: _env("HOTCRM_SYNCHRONOUS_COMMIT").lower() or "off")
    # Sign-in attempts per minute from one client address (all emails together): wide
    # enough for an office behind one NAT address; test rigs that sign in all day from
    # loopback raise it.
    login_attempts_per_address: int = field(default_factory=lambda: int(
        _env("HOTCRM_LOGIN_ATTEMPTS_PER_ADDRESS") or LOGIN_ATTEMPTS_PER_ADDRESS))
    # Requests running their database work at once (the rest wait their turn): few
    # threads share one GIL better than many (app/server.py _limit_worker_threads).
    worker_threads: int = field(default_factory=lambda: max(1, int(
        _env("HOTCRM_WORKER_THREADS") or WORKER_THREADS)))
    # Where browsers reach the server (OIDC redirect URI, Secure cookies); "" = http://host:port
    public_url: str = field(default_factory=lambda: _env("HOTCRM_PUBLIC_URL"))

    def __post_init__(self) -> None:
        url = self.public_url.strip().rstrip("/") or f"http://{self.host}:{self.port}"
        object.__setattr__(self, "public_url", url)

    @property
    def secret_key(self) -> str:
        return _secret_key()


def get_settings() -> Settings:
    return Settings()
