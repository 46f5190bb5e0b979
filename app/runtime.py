"""The process-wide Services, created once at startup and shared by API and pages."""

from __future__ import annotations

from app.core import Services

_services: Services | None = None


def install(services: Services) -> None:
    global _services
    _services = services


def services() -> Services:
    if _services is None:
        raise RuntimeError("services are not started; call app.runtime.install() first")
    return _services
