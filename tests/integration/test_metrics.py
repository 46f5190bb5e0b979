"""`/metrics`: what an operator scrapes — request latency by route template (never by raw
id), change events, identity cache hits, database pool use — in Prometheus text format."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from app.core import Services
from tests.conftest import Team
from tests.integration.api_support import Api


@pytest.fixture
def api(services: Services, team: Team) -> Api:
    return Api(services, team)


def _samples(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_timed_by_route_template(api: Api) -> None:
    metrics.install(api.services)
    account = api.account()
    before = _samples(api)
    for _ in range(3):
        assert api.get(f"/api/objects/account/{account['id']}", as_="rep_a").status_code == 200
    after = _samples(api)
    route = "/api/objects/{object_name}/{record_id}"
    counted = _value(after, "hotcrm_http_request_duration_seconds_count",
                     method="GET", route=route, status="2xx") - _value(
        before, "hotcrm_http_request_duration_seconds_count", method="GET", route=route,
        status="2xx")
    assert counted == 3
    assert not any(account["id"] in str(key) for key in after), "an id became a label"


def test_changes_cache_and_pool_are_visible(api: Api) -> None:
    metrics.install(api.services)
    before = _samples(api)
    api.account(name="Metered Ltd")
    after = _samples(api)
    assert _value(after, "hotcrm_change_events_total", object="account", origin="local") \
        == _value(before, "hotcrm_change_events_total", object="account", origin="local") + 1
    def identity(samples: dict) -> float:
        return sum(v for (name, labels), v in samples.items()
                   if name == "hotcrm_cache_lookups_total" and ("cache", "identity") in labels)

    # The cumulative counter could already be positive from earlier tests: count what
    # this request's token check added.
    assert identity(after) >= identity(before) + 1
    assert ("hotcrm_db_pool_connections", (("state", "in_use"),)) in after
    assert ("hotcrm_browser_clients", ()) in after


def test_unknown_paths_share_one_label(api: Api) -> None:
    metrics.install(api.services)
    for i in range(3):
        api.client.get(f"/no/such/page/{i}")
    samples = _samples(api)
    assert not any("/no/such" in str(key) for key in samples)
