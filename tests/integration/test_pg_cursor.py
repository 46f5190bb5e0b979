"""The PostgreSQL cursor whose description is built on demand (app/storage/pg_cursor.py):
whoever reads it sees exactly what psycopg's own description says, even after the cursor
has moved on, and SQLAlchemy maps result columns by name on first and repeated runs."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.storage.db import make_engine
from app.storage.pg_cursor import LazyDescription, LazyDescriptionCursor

QUERY = "SELECT 1::int AS n, 'x'::varchar(12) AS label, now() AS at, 2.5::numeric(8,2) AS amount"


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _as_tuples(description: object) -> list[tuple[object, ...]]:
    assert description is not None
    return [tuple(column) for column in description]  # type: ignore[attr-defined]


def test_the_description_equals_psycopgs_own(postgres_url: str) -> None:
    with psycopg.connect(_libpq(postgres_url)) as plain, \
            psycopg.connect(_libpq(postgres_url), cursor_factory=LazyDescriptionCursor) as lazy:
        expected = plain.execute(QUERY).description
        ours = lazy.execute(QUERY).description
        assert isinstance(ours, LazyDescription)
        assert len(ours) == 4
        assert _as_tuples(ours) == _as_tuples(expected)
        assert [c.name for c in ours] == ["n", "label", "at", "amount"]
        assert ours[1].type_display == expected[1].type_display == "varchar(12)"  # type: ignore[index]
        assert [tuple(c) for c in ours[-2:]] == _as_tuples(expected)[-2:]


def test_a_late_reader_sees_the_result_it_was_taken_from(postgres_url: str) -> None:
    with psycopg.connect(_libpq(postgres_url), cursor_factory=LazyDescriptionCursor) as conn:
        cursor = conn.cursor()
        first = cursor.execute(QUERY).description
        cursor.execute("SELECT 'other' AS something_else")
        assert first is not None and [c.name for c in first] == ["n", "label", "at", "amount"]
        assert [c.name for c in cursor.description or []] == ["something_else"]


def test_no_description_without_rows(postgres_url: str) -> None:
    with psycopg.connect(_libpq(postgres_url), cursor_factory=LazyDescriptionCursor) as conn:
        assert conn.execute("SET search_path TO public").description is None
        assert conn.execute("SELECT").description == []  # a row-returning statement, no columns


@pytest.mark.parametrize("runs", [1, 3])
def test_sqlalchemy_maps_columns_by_name_on_first_and_cached_runs(postgres_url: str,
                                                                    runs: int) -> None:
    engine = make_engine(postgres_url)
    try:
        for _ in range(runs):
            with engine.connect() as conn:
                row = conn.execute(text(QUERY)).mappings().one()
                assert (row["n"], row["label"], str(row["amount"])) == (1, "x", "2.50")
                assert list(row) == ["n", "label", "at", "amount"]
                raw = conn.connection.dbapi_connection
                assert isinstance(raw.cursor(), LazyDescriptionCursor)  # type: ignore[union-attr]
    finally:
        engine.dispose()
