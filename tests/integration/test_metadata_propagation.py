"""Several processes on one database serve the same metadata version within 2 s (Redis
announces a version when configured; the version table is polled otherwise), and the
command line works through the same service."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from app import cli
from app.core import Services
from app.metadata.propagation import MetadataWatcher
from app.objectql import Context
from tests.integration.studio_support import (
    backend,
    fresh_database,
    region_field,
    studio_services,
)

__all__ = ["backend"]  # fixture
SYSTEM = Context.system()


def _seconds_until_served(other: Services, started: float, deadline: float = 5.0) -> float:
    while "region" not in other.ql.registry["account"].fields:
        assert time.monotonic() - started < deadline, "the other process never caught up"
        time.sleep(0.02)
    return time.monotonic() - started


def _add_region(svc: Services) -> float:
    doc = svc.studio.object_document("account")
    doc["fields"]["region"] = region_field()
    svc.studio.save_object(SYSTEM, "account", doc, base_version=svc.studio.version())
    return time.monotonic()  # the moment the saving process serves it


def test_other_process_polls_the_version_table(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url, studio_services(url) as one, \
            studio_services(url) as two:
        two.start_watching()
        assert two.metadata_watch is not None and two.metadata_watch.redis_url is None
        served = _add_region(one)
        assert _seconds_until_served(two, served) <= 2.0
        record = two.ql.insert(SYSTEM, "account", {"name": "Via two", "phone": "555-0100",
                                                   "region": "emea"})
        assert one.ql.get(SYSTEM, "account", record["id"])["region"] == "emea"
        assert two.studio.version() == 1


def test_other_process_hears_redis_at_once(redis_url: str, tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url, \
            studio_services(url, redis_url=redis_url) as one, \
            studio_services(url, redis_url=redis_url) as two:
        watcher = two.metadata_watch
        assert isinstance(watcher, MetadataWatcher) and watcher.poll_seconds >= 5
        two.start_watching()
        assert watcher.subscribed.wait(5)
        served = _add_region(one)
        # well under the 5 s safety poll: the announcement did it
        assert _seconds_until_served(two, served) <= 2.0


def test_command_line_export_import_history_rollback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        monkeypatch.setenv("HOTCRM_DATABASE_URL", url)
        monkeypatch.setenv("HOTCRM_METADATA_DIR", str(Path(__file__).parents[2] / "metadata"))
        monkeypatch.delenv("HOTCRM_REDIS_URL", raising=False)
        out = tmp_path / "export"
        assert cli.main(["metadata", "export", "--dir", str(out)]) == 0
        shipped = Path(__file__).parents[2] / "metadata" / "objects" / "account.object.yml"
        assert (out / "objects" / "account.object.yml").read_text() == shipped.read_text()
        account = yaml.safe_load((out / "objects" / "account.object.yml").read_text())
        account["fields"]["region"] = region_field()
        (out / "objects" / "account.object.yml").write_text(yaml.safe_dump(account))
        assert cli.main(["metadata", "import", "--dir", str(out), "--comment", "region"]) == 0
        assert "Version 1 is live: account: added field region" in capsys.readouterr().out
        assert cli.main(["metadata", "history"]) == 0
        listing = capsys.readouterr().out
        assert "region" in listing and "(live)" in listing.splitlines()[0]
        account["fields"]["region"]["type"] = "nonsense"
        (out / "objects" / "account.object.yml").write_text(yaml.safe_dump(account))
        assert cli.main(["metadata", "import", "--dir", str(out)]) == 2
        assert "unknown field type 'nonsense'" in capsys.readouterr().err
        assert cli.main(["metadata", "rollback", "0"]) == 0
        assert "Version 2 is live: reverted to version 0" in capsys.readouterr().out
        assert cli.main(["metadata", "rollback", "9"]) == 1
