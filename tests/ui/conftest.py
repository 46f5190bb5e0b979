"""UI tests with NiceGUI's simulated `user` (no browser): page logic, fast.

The `user` fixture comes from `nicegui.testing.user_plugin` (enabled in pyproject's
addopts) and builds the UI from tests/ui/main.py for every test. The database is one
SQLite file per worker, seeded once with the demo data. Signing in sets a real session
cookie (the one the login flow issues) on the simulated client; no app code is patched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from nicegui.testing import User

from app import runtime
from app.auth.sessions import SESSION_COOKIE, SESSION_TTL
from app.auth.tokens import issue_token
from app.core import Services, build_services
from app.objectql import Context
from app.seed import seed_demo
from app.seed.demo import ensure_demo_users
from tests.conftest import METADATA


@dataclass
class Demo:
    services: Services
    users: dict[str, Context]  # by first name: "alice", "bob", "manager", "admin"


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'ui.db'}"
    services = build_services(database_url=url, metadata_dir=METADATA)
    seed_demo(services)
    users = {email.split("@")[0]: ctx for email, ctx in ensure_demo_users(services).items()}
    yield Demo(services, users)
    services.engine.dispose()


@pytest.fixture(autouse=True)
def _runtime(demo: Demo) -> Iterator[None]:
    """The process-wide services the pages read, as `create_app` installs them."""
    runtime.install(demo.services)
    yield


def sign_in(user: User, demo: Demo, who: str) -> Context:
    """Give the simulated browser the session cookie a successful login would set."""
    ctx = demo.users[who]
    token = issue_token(demo.services.secret_key, ctx.user_id, ctx.role, SESSION_TTL)
    user.http_client.cookies.set(SESSION_COOKIE, token)
    return ctx


@pytest.fixture
def alice(user: User, demo: Demo) -> User:
    sign_in(user, demo, "alice")
    return user
