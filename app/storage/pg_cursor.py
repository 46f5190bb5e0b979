"""A psycopg cursor whose `description` is built only when someone reads it.

psycopg builds `cursor.description` afresh on every access: one `Column` per result
column, each decoding its name and looking up its type (~2.5 µs a column). SQLAlchemy
asks for it after every statement, but reads it only the first time a compiled statement
runs; after that it keeps the result's metadata on the compiled statement and only
checks that a description exists. For a record's 31 columns that was a quarter of a
GET one's client CPU on PostgreSQL, spent on objects nobody looked at.

`LazyDescriptionCursor.description` returns a sequence that knows its length and builds
the real `Column`s on first use, from the result it was taken from (so a late reader,
after the cursor moved on, still sees the right columns).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import psycopg
from psycopg import pq

_ROWS = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE,
         getattr(pq.ExecStatus, "TUPLES_CHUNK", pq.ExecStatus.TUPLES_OK))


class _AsOfResult:
    """What psycopg's `Column` reads from its cursor, pinned to one result."""

    __slots__ = ("_encoding", "adapters", "pgresult")

    def __init__(self, cursor: psycopg.Cursor[Any], result: pq.abc.PGresult):
        self.pgresult = result
        self._encoding = cursor._encoding
        self.adapters = cursor.adapters


class LazyDescription(Sequence[psycopg.Column]):
    """`cursor.description` for one result: its length at once, its columns on demand."""

    __slots__ = ("_columns", "_cursor", "_result")

    def __init__(self, cursor: psycopg.Cursor[Any], result: pq.abc.PGresult):
        self._cursor = cursor
        self._result = result
        self._columns: list[psycopg.Column] | None = None

    def _built(self) -> list[psycopg.Column]:
        if self._columns is None:
            source: Any = _AsOfResult(self._cursor, self._result)
            self._columns = [psycopg.Column(source, i) for i in range(self._result.nfields)]
        return self._columns

    def __len__(self) -> int:
        return self._result.nfields

    @overload
    def __getitem__(self, index: int) -> psycopg.Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[psycopg.Column]: ...

    def __getitem__(self, index: int | slice) -> psycopg.Column | list[psycopg.Column]:
        return self._built()[index]

    def __iter__(self) -> Iterator[psycopg.Column]:
        return iter(self._built())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyDescription):
            other = other._built()
        return self._built() == other

    __hash__ = None  # type: ignore[assignment]  # mutable-sequence semantics, like a list

    def __repr__(self) -> str:
        return repr(self._built())


class LazyDescriptionCursor(psycopg.Cursor[Any]):
    @property
    def description(self) -> Sequence[psycopg.Column] | None:  # type: ignore[override]
        result = self.pgresult
        # The same test psycopg makes: columns, or a statement that said it returned rows.
        if result is not None and (result.nfields or result.status in _ROWS):
            return LazyDescription(self, result)
        return None
