"""Structured logs: JSON lines that carry the request id of the request that wrote them,
also from work the request ran in the thread pool; the id is echoed to the caller."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.concurrency import run_in_threadpool

from app import logs, runtime
from app.api import install
from app.core import Services


@pytest.fixture
def json_logs() -> Iterator[None]:
    """Restores the test run's logging afterwards; tests call `logs.configure` in their
    body, where `sys.stderr` is already the capture that `capsys` reads."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


def _client(services: Services) -> TestClient:
    runtime.install(services)
    app = FastAPI()
    install(app)

    @app.get("/probe")
    async def probe() -> dict[str, str]:  # logs on the loop and from the thread pool
        logging.getLogger("probe").info("on the loop")
        await run_in_threadpool(logging.getLogger("probe").warning, "in a worker thread")
        return {"ok": "yes"}

    return TestClient(app)


def _lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_every_line_of_a_request_carries_its_id(sqlite_services: Services, json_logs: None,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("json", "INFO")
    response = _client(sqlite_services).get("/probe", headers={"X-Request-ID": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    lines = [line for line in _lines(capsys.readouterr().err) if line["logger"] == "probe"]
    assert [line["message"] for line in lines] == ["on the loop", "in a worker thread"]
    assert {line["request_id"] for line in lines} == {"req-42"}
    assert {"time", "level"} <= set(lines[0])


def test_an_unusable_request_id_is_replaced(sqlite_services: Services, json_logs: None,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("json", "INFO")
    client = _client(sqlite_services)
    response = client.get("/probe", headers={"X-Request-ID": "bad id;" * 40})
    rid = response.headers["x-request-id"]
    assert len(rid) == 32 and rid.isalnum()
    other = client.get("/health").headers["x-request-id"]
    assert other != rid
    assert {line["request_id"] for line in _lines(capsys.readouterr().err)
            if line["logger"] == "probe"} == {rid}
