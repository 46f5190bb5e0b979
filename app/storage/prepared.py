"""A statement compiled once and run as its SQL text with the driver's parameters.

`Connection.execute(statement, params)` pays, on every call, for the statement's cache
key (a walk of the whole statement, then hashing it for the compiled-cache lookup),
`construct_params` over every bind, each bind's processor, and the result's set-up. For
the save's one PostgreSQL statement (the record, its audit entry, the rollups and the
lookup check: 72 parameters then) that was a fifth of a save's client instructions
(callgrind: 2.01M → 1.60M per insert). A `Prepared` does that work once: the compiled
SQL, which bind names the caller supplies, the values of the binds it does not (literals
SQLAlchemy bound), and each bind's processor; a call builds the driver's parameters and
runs the text through `Connection.exec_driver_sql`, so events, the transaction and
errors are SQLAlchemy's as before. What it sends is what `execute` sent: the same SQL and
the same processed values (tests/integration/test_prepared.py checks both, on a real
save too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import CursorResult


class Prepared:
    """`statement`, run as text; `fallback` (default: the statement) is what SQLAlchemy
    runs instead when it cannot be (names it escapes, expanding binds, columns with
    Python-side defaults) or when a call's parameter names are not the ones it was
    compiled for (an INSERT's columns follow them; a missing one SQLAlchemy names)."""

    def __init__(self, statement: Any, fallback: Any = None):
        self.statement = statement
        self.fallback = statement if fallback is None else fallback
        self._state: _State | None = None  # swapped whole: threads share a Prepared

    def execute(self, conn: Connection, params: dict[str, Any]) -> CursorResult[Any]:
        state = self._state
        if state is None or state[0] is not conn.dialect:
            state = self._compile(conn, params)
        _, sql, keys, constants, processed, positions = state
        if sql is None or params.keys() != keys:
            return conn.execute(self.fallback, params)
        # The constants win over a same-named parameter, as in SQLAlchemy.
        driver = {**params, **constants}
        for name, process in processed:
            driver[name] = process(params[name])
        if positions is not None:
            return conn.exec_driver_sql(sql, tuple(driver[n] for n in positions))
        return conn.exec_driver_sql(sql, driver)

    def _compile(self, conn: Connection, params: dict[str, Any]) -> _State:
        # As Connection.execute compiles it: the parameter names are the column keys.
        compiled: Any = self.statement.compile(dialect=conn.dialect, column_keys=sorted(params))
        processors: dict[str, Any] = getattr(compiled, "_bind_processors", None) or {}
        state: _State = (conn.dialect, None, frozenset(), {}, (), None)
        if not (compiled.escaped_bind_names or not hasattr(compiled, "_bind_processors")
                or compiled.literal_execute_params or compiled.post_compile_params
                or compiled.insert_prefetch or compiled.update_prefetch):
            # The driver's values: the supplied ones, and the literals SQLAlchemy bound
            # itself (`coalesce(x, '')`), whose values never change.
            full = compiled.construct_params(params)
            state = (conn.dialect, compiled.string, frozenset(params),
                     {name: processors[name](value) if name in processors else value
                      for name, value in full.items() if name not in params},
                     tuple((name, processors[name]) for name in full
                           if name in params and name in processors),
                     # A positional driver (SQLite's qmark) takes the values in order.
                     tuple(compiled.positiontup) if compiled.positional else None)
        self._state = state
        return state


# (the dialect it was compiled for, SQL or None when SQLAlchemy must run it, the
#  parameter names it was compiled for, constant binds, binds with a processor, names in
#  positional order or None)
_State = tuple[Any, str | None, frozenset[str], dict[str, Any],
               tuple[tuple[str, Callable[[Any], Any]], ...], tuple[str, ...] | None]
