"""A statement compiled once and run as its SQL text with the driver's parameters.

`Connection.execute(statement, params)` pays, on every call, for the statement's cache
key (a walk of the whole statement, then hashing it for the compiled-cache lookup),
`construct_params` over every bind, each bind's processor, and the result's set-up. For
the save's one PostgreSQL statement (the record, its audit entry, the rollups and the
lookup checks: 70-odd parameters) that was ~60 µs of the ~450 µs of client CPU a save
costs. A `Prepared` does that work once: the compiled SQL, which bind names the caller
supplies, the values of the binds it does not (literals SQLAlchemy bound), and each
bind's processor; a call builds the driver's parameters and runs the text through
`Connection.exec_driver_sql`, so events, the transaction and errors are SQLAlchemy's as
before. What it sends is what `execute` sent: the same SQL and the same processed values
(tests/integration/test_write_plans.py checks both on a real save).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import CursorResult


class Prepared:
    """`statement`, run as text; `fallback` (default: the statement) is what SQLAlchemy
    runs instead when it cannot be (a positional driver, names it escapes, expanding
    binds) or a parameter is missing (SQLAlchemy then names it)."""

    def __init__(self, statement: Any, fallback: Any = None):
        self.statement = statement
        self.fallback = statement if fallback is None else fallback
        self._dialect: Any = None
        self._sql = ""
        self._constants: dict[str, Any] = {}
        self._needed: frozenset[str] = frozenset()
        self._processed: tuple[tuple[str, Callable[[Any], Any]], ...] = ()

    def execute(self, conn: Connection, params: dict[str, Any]) -> CursorResult[Any]:
        if conn.dialect is not self._dialect and not self._compile(conn, params):
            return conn.execute(self.fallback, params)  # not a statement this can run
        if not params.keys() >= self._needed:  # SQLAlchemy names the missing one, as before
            return conn.execute(self.fallback, params)
        # Names the SQL does not use reach the driver, which ignores them (SQLAlchemy
        # dropped them); the constants win over a same-named parameter, as in SQLAlchemy.
        driver = {**params, **self._constants}
        for name, process in self._processed:
            driver[name] = process(params[name])
        return conn.exec_driver_sql(self._sql, driver)

    def _compile(self, conn: Connection, params: dict[str, Any]) -> bool:
        compiled: Any = self.statement.compile(dialect=conn.dialect)
        processors = getattr(compiled, "_bind_processors", None)
        if (compiled.positional or compiled.escaped_bind_names or processors is None
                or compiled.literal_execute_params or compiled.post_compile_params):
            return False
        # The driver's names and values for these params: the supplied ones, and the
        # literals SQLAlchemy bound itself (`coalesce(x, '')`), whose values never change.
        full = compiled.construct_params(params)
        self._constants = {name: (processors[name](value) if name in processors else value)
                           for name, value in full.items() if name not in params}
        self._needed = frozenset(name for name in full if name in params)
        self._processed = tuple((name, processors[name]) for name in self._needed
                                if name in processors)
        self._sql, self._dialect = compiled.string, conn.dialect
        return True
