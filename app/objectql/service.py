"""The ObjectQL service: the one door to data for UI, REST, triggers, imports and CLI."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    and_,
    func,
    inspect,
    literal,
    literal_column,
    select,
)

from app import audit, fieldtypes
from app.events import ChangeEvent, EventBus
from app.metadata.models import FieldDef, ObjectDef
from app.metadata.registry import Registry, UnknownObject
from app.objectql import rollups
from app.objectql.buckets import day_number, group_column
from app.objectql.compiler import SelectBuilder
from app.objectql.context import Context
from app.objectql.errors import NotFound, PermissionDenied, QueryError
from app.objectql.limits import check_filters, check_search
from app.objectql.plans import FindPlan, bind, filter_shape
from app.objectql.query import (
    MAX_LIMIT,
    AggregateQuery,
    Query,
    aggregate_order,
    parse_query,
    parse_sort,
)
from app.objectql.search_plans import search_planning, search_window, walks_searched_order
from app.objectql.security import OpenSecurity, SecurityPolicy
from app.objectql.value_windows import NOTHING, Probed, count_window, value_window
from app.storage.replica import ReadRouting
from app.storage.rollups import PREFIX as ROLLUP_PREFIX
from app.storage.rollups import rebuild
from app.storage.schema import Schema, build_schema
from app.storage.sync import SyncReport, sync_schema

COUNT_CAP = 10_000
# A search's matches are counted up to here: "1,000+ activities" tells a rep to narrow
# the search as well as 10,000+ would, and a common word's count reads a tenth of the
# rows (a rep's count of "follow" over 1M activities was 44-65 ms at 10,000).
SEARCH_COUNT_CAP = 1_000


@dataclass
class QueryResult:
    records: list[dict[str, Any]]
    total: int | None = None
    total_capped: bool = False

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"records": self.records}
        if self.total is not None:
            body["total"] = self.total
            if self.total_capped:
                body["total_capped"] = True
        return body


@dataclass
class _Tx:
    conn: Connection
    service: ObjectQL
    events: list[ChangeEvent] = field(default_factory=list)
    trigger_depth: int = 0


# See ObjectQL._common_term_in_id_order: at this many index matches a newest-first page of
# up to SCAN_MAX_ROWS rows is found sooner by walking the primary key than via the index.
COMMON_TERM_MATCHES = 1000
SCAN_MAX_ROWS = 100
# The column a rollup's count rides in on a list page's statement (see ObjectQL._with_total).
TOTAL_COLUMN = "_hotcrm_total"

_current_tx: ContextVar[_Tx | None] = ContextVar("hotcrm_tx", default=None)


class ObjectQL:
    def __init__(self, engine: Engine, registry: Registry, *,
                 security: SecurityPolicy | None = None, events: EventBus | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.engine = engine
        # Reads outside a save run in autocommit (see ReadRouting.connect): under
        # PostgreSQL's READ COMMITTED every statement takes its own snapshot anyway, so
        # BEGIN and ROLLBACK were two round trips per read that bought nothing. SQLite gets
        # the same rule (each statement its own snapshot; `hotcrm_read` makes
        # db._sqlite_begin skip the BEGIN): the BEGIN was a tenth of a GET one's CPU.
        self._read_engine = engine if engine.dialect.name == "postgresql" \
            else engine.execution_options(hotcrm_read=True)
        self.security: SecurityPolicy = security or OpenSecurity()
        attach = getattr(self.security, "attach", None)
        if attach is not None:
            attach(self)
        self.events = events or EventBus()
        # Bulk reads may go to a read replica (app/storage/replica.py); a user's own
        # changes pin their reads to the primary for a few seconds.
        self.routing = ReadRouting(engine)
        self.events.subscribe(lambda change: self.routing.wrote(change.user_id))
        self.clock = clock or (lambda: datetime.now(UTC).replace(tzinfo=None))
        self._lock = threading.Lock()
        self._registry = registry
        self._schema = build_schema(registry, engine.dialect.name)
        # Per (object, role, columns) query pieces; dropped whenever metadata changes.
        self._plans: dict[tuple[Any, ...], Any] = {}
        from app.objectql.permissions import Permissions
        from app.objectql.writes import WritePipeline

        self._writes = WritePipeline(self)
        self.permissions = Permissions(self)

    # -- metadata ------------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        return self._registry

    @property
    def schema(self) -> Schema:
        return self._schema

    def sync_schema(self) -> SyncReport:
        report = sync_schema(self.engine, self._schema)
        self._sync_rollups(self._schema, self._registry, report)
        return report

    def apply_registry(self, registry: Registry, *, schema: Schema | None = None,
                       sync: bool = True, report: SyncReport | None = None) -> SyncReport:
        """Switch to new metadata: sync the database first, then swap atomically. The
        metadata studio passes the schema it already synced (`sync=False`) and that sync's
        report, so rollup tables it created are filled here all the same.

        Cached plans survive the swap for objects untouched by the change (see
        `_unaffected`): a change to one object left every request thread rebuilding
        every plan at once."""
        schema = schema or build_schema(registry, self.engine.dialect.name,
                                        (self._registry, self._schema))
        if sync:
            report = sync_schema(self.engine, schema)
        report = report or SyncReport()
        self._sync_rollups(schema, registry, report)
        with self._lock:
            keep = _unaffected(self._registry, self._schema, registry, schema)
            self._registry, self._schema = registry, schema
            # Every key names its object third (see _remember's callers).
            self._plans = {k: v for k, v in self._plans.items() if k[2] in keep}
            # Its statements hold tables and row filters: kept only for unaffected tables.
            self._writes.forget({id(schema.tables[name]) for name in keep})
        return report

    def _sync_rollups(self, schema: Schema, registry: Registry, report: SyncReport) -> None:
        """Fill rollup tables created just now from their records; drop the ones no
        dashboard asks for any more (they would only slow every save down)."""
        created = set(report.created_tables)
        wanted = {table.name for pairs in schema.rollups.values() for _, table in pairs}
        with self.engine.begin() as conn:
            for name, pairs in schema.rollups.items():
                for spec, table in pairs:
                    if table.name in created:
                        rebuild(conn, spec, table, schema.table(name), registry[name],
                                schema.table)
            for stale in sorted(set(inspect(conn).get_table_names()) - wanted):
                if stale.startswith(ROLLUP_PREFIX):
                    conn.exec_driver_sql(f'DROP TABLE "{stale}"')
                    report.dropped_tables.append(stale)

    def object(self, name: str) -> ObjectDef:
        try:
            return self._registry[name]
        except UnknownObject:
            raise NotFound(f"unknown object '{name}'") from None

    def allowed(self, ctx: Context, action: str, obj: ObjectDef | str,
                path: str | None = None) -> bool:
        """May `ctx` do `action` on `obj` (or on the field `path`)? See permissions.py."""
        return self.permissions.allowed(ctx, action, obj, path)

    def ensure(self, ctx: Context, action: str, obj: ObjectDef | str,
               path: str | None = None) -> None:
        """`allowed`, raising PermissionDenied (with the reason) instead of answering False."""
        self.permissions.ensure(ctx, action, obj, path)

    def readable_object(self, ctx: Context, name: str) -> ObjectDef:
        """The object if `ctx` may read it; NotFound or PermissionDenied otherwise."""
        obj = self.object(name)
        self.security.check_object(ctx, obj, "read")
        return obj

    def readable_objects(self, ctx: Context, *, include_system: bool = False
                         ) -> list[ObjectDef]:
        """Objects `ctx` may read: business objects, plus user/notification if asked."""
        candidates = self._registry.values() if include_system \
            else self._registry.business_objects
        result = []
        for obj in candidates:
            try:
                self.security.check_object(ctx, obj, "read")
            except PermissionDenied:
                continue
            result.append(obj)
        return result

    def can_change(self, ctx: Context, object_name: str, record_id: str,
                   action: str = "edit") -> bool:
        """Would an edit (or delete) of this record pass the object and row rules? For
        showing Edit/Delete only where a save can succeed; the write path still checks."""
        obj = self.object(object_name)
        try:
            self.security.check_object(ctx, obj, action)
        except PermissionDenied:
            return False
        table = self._schema.table(obj.name)
        stmt = select(table.c.id).where(table.c.id == record_id)
        condition = self.security.row_filter(ctx, obj, table, action)
        if condition is not None:
            stmt = stmt.where(condition)
        with self._reading() as conn:
            return conn.execute(stmt).first() is not None

    def today(self) -> date:
        return self.clock().date()

    # -- transactions --------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit; nested calls (triggers, batches) join the outer one."""
        tx = _current_tx.get()
        if tx is not None and tx.service is self:
            yield tx.conn
            return
        with self.engine.connect() as conn:
            conn.execution_options(hotcrm_write=True)
            new_tx = _Tx(conn, self)
            token = _current_tx.set(new_tx)
            try:
                with conn.begin():
                    yield conn
            finally:
                _current_tx.reset(token)
        for change in new_tx.events:
            self.events.publish(change)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        tx = _current_tx.get()
        if tx is not None and tx.service is self:
            yield tx.conn
            return
        with self.routing.connect(self._read_engine) as conn:
            yield conn

    def replica_reads(self, ctx: Context) -> AbstractContextManager[None]:
        """Reads in this block (lists, search, dashboards, exports) may use the replica."""
        return self.routing.replica_reads(ctx.user_id)

    def _emit(self, change: ChangeEvent) -> None:
        tx = _current_tx.get()
        assert tx is not None, "changes are only emitted inside a transaction"
        tx.events.append(change)

    @contextmanager
    def _trigger_scope(self) -> Iterator[None]:
        tx = _current_tx.get()
        assert tx is not None
        tx.trigger_depth += 1
        try:
            if tx.trigger_depth > 8:
                raise QueryError("triggers recursed more than 8 levels deep")
            yield
        finally:
            tx.trigger_depth -= 1

    # -- reads ---------------------------------------------------------------------------
    def _builder(self, ctx: Context, obj: ObjectDef) -> SelectBuilder:
        def row_filter(target: ObjectDef, table: Any) -> ColumnElement[bool] | None:
            return self.security.row_filter(ctx, target, table)

        def field_check(target: ObjectDef, fd: FieldDef, purpose: str) -> None:
            if not self.security.field_readable(ctx, target, fd):
                raise QueryError(f"unknown field '{fd.name}' on {target.name}",
                                 [{"field": fd.name, "message": "unknown field"}])

        return SelectBuilder(self._registry, self._schema, obj, ctx, self.today(),
                             row_filter, field_check)

    def _path_readable(self, ctx: Context, obj: ObjectDef, path: str) -> bool:
        """False if `path` (dotted or not) passes a field `ctx` may not read."""
        current = obj
        for part in path.split("."):
            fd = current.field(part)
            if fd is None:
                return True  # not ours to judge: resolve() reports unknown fields
            if not self.security.field_readable(ctx, current, fd):
                return False
            if not fd.reference_to or fd.reference_to not in self._registry:
                return True
            current = self._registry[fd.reference_to]
        return True

    def readable_fields(self, ctx: Context, obj: ObjectDef) -> list[str]:
        key = ("readable", id(obj), obj.name, ctx.role, ctx.is_system)
        cached = self._plans.get(key)
        if cached is None:
            cached = [n for n, fd in obj.all_fields.items()
                      if self.security.field_readable(ctx, obj, fd)]
            self._remember(key, cached, obj)
        return list(cached)

    def _remember(self, key: tuple[Any, ...], value: Any, obj: ObjectDef) -> None:
        """Cache a plan built from `obj` — only while `obj` is the live definition. Keys
        are (kind, id(obj), obj.name, ...): a caller holding an older definition of the
        object never meets a plan built for the live one, nor the reverse. A page
        holding an ObjectDef from before a metadata change (or a request racing the swap)
        would otherwise leave a plan of the old fields in the new cache, for everyone."""
        with self._lock:
            if self._registry.get(obj.name) is not obj:
                return
            if len(self._plans) > 4096:
                self._plans.clear()
            self._plans[key] = value

    def _base_select(self, ctx: Context, obj: ObjectDef, b: SelectBuilder,
                     field_names: list[str]) -> Any:
        """SELECT of plain columns, built once per (object, role, columns): resolving and
        labelling 30 columns costs more than running the query on an index."""
        key = ("select", id(obj), obj.name, ctx.role, ctx.is_system, tuple(field_names))
        cached = self._plans.get(key)
        if cached is None:
            cached = select(*[b.resolve(name)[0].label(name) for name in field_names])
            self._remember(key, cached, obj)
        return cached

    def find(self, ctx: Context, object_name: str, *, fields: list[str] | None = None,
             filters: list[Any] | None = None, sort: Any = None, limit: int = 50,
             skip: int = 0, expand: dict[str, list[str] | None] | None = None,
             search: str | None = None, view: str | None = None,
             with_total: bool = False) -> QueryResult:
        obj = self.object(object_name)
        self.security.check_object(ctx, obj, "read")
        if not 1 <= limit <= MAX_LIMIT or skip < 0:
            raise QueryError(f"limit must be 1..{MAX_LIMIT} and skip not negative")
        filters = list(filters or [])
        sort_spec = parse_sort(sort)
        if view is not None:
            if not isinstance(view, str):
                raise QueryError("view must be the name of a list view")
            list_view = obj.list_views.get(view)
            if list_view is None:
                raise QueryError(f"unknown list view '{view}' on {obj.name}")
            if list_view.filters:
                filters = [list_view.filters, filters] if filters else list(list_view.filters)
            # A view's columns the role cannot read are left out, not an error.
            fields = fields or [c for c in list_view.columns
                                if self._path_readable(ctx, obj, c)]
            sort_spec = sort_spec or [tuple(s) for s in list_view.sort]  # type: ignore[misc]
        field_names = self._select_fields(ctx, obj, fields)
        key, values = self._plan_key(ctx, obj, field_names, filters, sort_spec, limit, skip,
                                     expand, search, with_total)
        plan = self._plans.get(key) if key is not None else None
        probed: Probed = {}  # a search's matching values, probed once for page and total
        with self._reading() as conn:  # one connection for a search's plan probe and the read
            if plan is not None:
                check_filters(filters)
                params = bind(plan, values)
            else:
                plan = self._find_plan(conn, ctx, obj, field_names, filters, sort_spec, limit,
                                       skip, expand, search, with_total, key is not None,
                                       probed)
                params = {}
                if key is not None:
                    self._remember(key, plan, obj)
            searching = bool(search and search.strip())
            # A total a rollup can give rides along in the page's own statement: one
            # round trip instead of two (see _with_total).
            total_stmt = self._rollup_count_statement(ctx, obj, filters, search) \
                if with_total else None
            riding: int | None = None
            if total_stmt is not None:
                records = _rows(conn, self._with_total(obj, plan.statement, total_stmt,
                                                       keep=key is not None),
                                params, False, False)
                if records:
                    riding = int(records[0][TOTAL_COLUMN] or 0)
                    for record in records:
                        del record[TOTAL_COLUMN]
            else:
                records = _rows(conn, plan.statement, params, searching,
                                searching and plan.fallback is None
                                and walks_searched_order(obj, sort_spec),
                                walk_only=plan.fallback is not None)
            if plan.fallback is not None and len(records) < limit:
                # Too few matches among the newest rows: the term is rare, so fetch its
                # matches through the trigram index rather than walk the whole key.
                records = _rows(conn, plan.fallback, params, searching, True)
            if plan.nested:
                records = [_nest(record) for record in records]
            result = QueryResult(records)
            if with_total:
                if riding is not None:
                    result.total = riding
                elif skip == 0 and len(records) < limit:
                    result.total = len(records)
                elif total_stmt is not None:  # a page past the end: the rollup alone
                    result.total = int(conn.execute(total_stmt).scalar_one() or 0)
                else:
                    count_stmt = plan.count_statement
                    cap = SEARCH_COUNT_CAP if searching else COUNT_CAP
                    n = self._window_count(conn, ctx, obj, filters, search or "", cap,
                                           probed) if searching else None
                    if n is None and count_stmt is None:
                        counter = self._builder(ctx, obj)
                        count_stmt = self._count_statement(
                            counter, self._where(ctx, counter, obj, filters, search), cap)
                    if n is None:
                        assert count_stmt is not None
                        with search_planning(conn, no_ordered_walks=True) if searching \
                                else nullcontext():
                            n = conn.execute(count_stmt, params).scalar_one()
                    result.total, result.total_capped = \
                        (cap, True) if n > cap else (int(n), False)
        return result

    def _plan_key(self, ctx: Context, obj: ObjectDef, field_names: list[str],
                  filters: list[Any], sort_spec: list[tuple[str, str]], limit: int, skip: int,
                  expand: dict[str, list[str] | None] | None, search: str | None,
                  with_total: bool) -> tuple[tuple[Any, ...] | None, list[Any]]:
        """The cache key of this call's statement and its parameter values; (None, [])
        when its SQL depends on more than the shape (see plans.py)."""
        if search and search.strip():
            return None, []
        shaped = filter_shape(filters, ctx.user_id)
        if shaped is None:
            return None, []
        try:
            expanded = tuple((k, tuple(v) if v else None) for k, v in (expand or {}).items())
            key = ("find", id(obj), obj.name, ctx.role, ctx.is_system, ctx.user_id,
                   ctx.subordinate_ids, tuple(field_names), expanded, shaped[0],
                   tuple(tuple(s) for s in sort_spec), limit, skip, with_total)
            hash(key)
        except TypeError:  # something unhashable in the input: the ordinary path judges it
            return None, []
        return key, shaped[1]

    def _find_plan(self, conn: Connection, ctx: Context, obj: ObjectDef, field_names: list[str],
                   filters: list[Any], sort_spec: list[tuple[str, str]], limit: int,
                   skip: int, expand: dict[str, list[str] | None] | None,
                   search: str | None, with_total: bool, reusable: bool,
                   probed: Probed | None = None) -> FindPlan:
        b = self._builder(ctx, obj)
        if reusable:
            b.slots = []
        expansions = self._expansions(ctx, b, obj, expand or {})
        if expansions or any("." in name for name in field_names):
            columns = [b.resolve(name)[0].label(name) for name in field_names]
            columns += [column.label(label) for label, column in expansions]
            stmt = select(*columns)
        else:
            stmt = self._base_select(ctx, obj, b, field_names)
        # Only searches probe the data for their plan, and searches are never cached.
        scan = bool(search) and self._common_term_in_id_order(conn, b, search, sort_spec,
                                                                limit + skip)
        searching = bool(search and search.strip())
        filtering = self._filter_clauses(ctx, b, obj, filters, search)
        where = _all_of([*filtering, *([b.search(search or "", scan=scan)] if searching else [])])
        # Ties break by id in the direction of the last sort key, so an index ending in
        # (..., sort key, id) serves the whole order in either scan direction.
        tie_desc = bool(sort_spec) and sort_spec[-1][1] == "desc"
        tie = b.base.c.id.desc().nulls_last() if tie_desc else b.base.c.id.asc().nulls_first()
        order = b.order_by(sort_spec)  # NULLS spelled out: PostgreSQL matches index keys
        if not sort_spec or sort_spec[-1][0] != "id":  # a sort ending in id has no ties
            order.append(tie)
        columns_only = b.apply(stmt)

        def page(condition: ColumnElement[bool] | None) -> Any:
            paged = columns_only if condition is None else columns_only.where(condition)
            paged = paged.order_by(*order).limit(_inline(limit))
            return paged.offset(_inline(skip)) if skip else paged

        stmt = page(where)
        fallback = None
        if searching and limit + skip <= SCAN_MAX_ROWS:
            # Windowed pages (app/objectql/value_windows.py, search_plans.py); the whole
            # query answers when the window holds too few matches.
            window = value_window(conn, b, search or "", sort_spec, probed)
            if window is None:
                window = search_window(obj, b.base, sort_spec, where)
                if window is not None and self.schema.dialect == "sqlite" and (
                        scan or sort_spec[0][0] == "id"
                        or not self._common_term(conn, b, search or "")):
                    # SQLite windows a list's own order only for a term the FTS index
                    # matches often (it would hand over every match to be sorted, 65-250
                    # ms at 1M rows); a rare term keeps the index (~1 ms, where the walk
                    # would read the whole window); newest first has its own scan.
                    window = None
            if window is NOTHING:
                stmt = page(window)
            elif window is not None and self.schema.dialect == "postgresql":
                fallback, stmt = stmt, stmt.where(window)
            elif window is not None:
                # On SQLite the window is walked testing LIKE: the FTS match would first
                # gather the rowid of every match, the very cost the window avoids.
                fallback, stmt = stmt, page(_all_of(
                    [*filtering, b.search(search or "", scan=True), window]))
        count_stmt = None
        if reusable and with_total:
            # Count with only the joins the filters need: a lookup join never changes a
            # count, but costs a probe per counted row.
            counter = self._builder(ctx, obj)
            counter.slots = []
            count_stmt = self._count_statement(
                counter, self._where(ctx, counter, obj, filters, search),
                SEARCH_COUNT_CAP if search and search.strip() else COUNT_CAP)
        return FindPlan(stmt, count_stmt, tuple(b.slots or ()), bool(expansions), fallback)

    def _select_fields(self, ctx: Context, obj: ObjectDef, fields: list[str] | None
                       ) -> list[str]:
        names = fields if fields else self.readable_fields(ctx, obj)
        return list(dict.fromkeys(["id", *names]))

    def _expansions(self, ctx: Context, b: SelectBuilder, obj: ObjectDef,
                    expand: dict[str, list[str] | None]) -> list[tuple[str, Any]]:
        result = []
        for lookup, wanted in expand.items():
            fd = obj.field(lookup)
            if fd is None or not fd.is_lookup or not fd.reference_to:
                raise QueryError(f"cannot expand '{lookup}': not a lookup on {obj.name}")
            target = self.object(fd.reference_to)
            names = wanted or [target.name_field]
            for name in dict.fromkeys(["id", *names]):
                column, _ = b.resolve(f"{lookup}.{name}")
                result.append((f"${lookup}${name}", column))
        return result

    def _common_term_in_id_order(self, conn: Connection, b: SelectBuilder,
                                 search: str | None, sort_spec: list[tuple[str, str]],
                                 rows: int) -> bool:
        """Newest-first (id order: ids are time-ordered) search pages on SQLite: for a term
        the index matches very often, fetching every match to keep the newest few costs
        ~100 ms at 100k rows; walking the primary key from the newest row and testing
        LIKE stops after a few hundred rows. A capped read of the FTS index (≤ 1 ms for
        a common term) tells which case this is; rare terms keep the index."""
        if not search or not search.strip() or rows > SCAN_MAX_ROWS or not sort_spec \
                or sort_spec[0][0] != "id":
            return False
        return self._common_term(conn, b, search)

    def _common_term(self, conn: Connection, b: SelectBuilder, search: str) -> bool:
        """SQLite: whether the FTS index matches `search` at least COMMON_TERM_MATCHES
        times (a capped read of the index, ≤ 1 ms); False where no index serves it."""
        probe = b.search_probe(search, COMMON_TERM_MATCHES)
        if probe is None:
            return False
        return int(conn.execute(probe).scalar_one()) >= COMMON_TERM_MATCHES

    def _where(self, ctx: Context, b: SelectBuilder, obj: ObjectDef, filters: list[Any],
               search: str | None, *, scan: bool = False) -> ColumnElement[bool] | None:
        clauses = self._filter_clauses(ctx, b, obj, filters, search)
        if search and search.strip():
            clauses.append(b.search(search, scan=scan))
        return _all_of(clauses)

    def _filter_clauses(self, ctx: Context, b: SelectBuilder, obj: ObjectDef,
                        filters: list[Any], search: str | None) -> list[ColumnElement[bool]]:
        """Row security and the caller's filters (the search is added by `_where`)."""
        check_filters(filters)  # bounds first: the compiler below recurses
        check_search(search)
        clauses = []
        visible = self.security.row_filter(ctx, obj, b.base)
        if visible is not None:
            clauses.append(visible)
        user_filter = b.where(filters)
        if user_filter is not None:
            clauses.append(user_filter)
        return clauses

    def _count_statement(self, b: SelectBuilder, where: ColumnElement[bool] | None,
                         cap: int = COUNT_CAP) -> Any:
        # select_from always: without filters or joins nothing else names the table, and
        # "SELECT 1 LIMIT n" would count one row.
        inner = select(literal(1).label("one")).select_from(b.from_clause())
        if where is not None:
            inner = inner.where(where)
        inner_sub = inner.limit(_inline(cap + 1)).subquery()
        return select(func.count()).select_from(inner_sub)

    def count(self, ctx: Context, object_name: str, *, filters: list[Any] | None = None,
              search: str | None = None, cap: int | None = None) -> tuple[int, bool]:
        """(count, capped): counting stops at `cap` so it never dominates latency (by
        default COUNT_CAP, SEARCH_COUNT_CAP with a search term)."""
        searching = bool(search and search.strip())
        if cap is None:
            cap = SEARCH_COUNT_CAP if searching else COUNT_CAP
        obj = self.object(object_name)
        self.security.check_object(ctx, obj, "read")
        filters = list(filters or [])
        check_filters(filters)  # bounds first, before a rollup or the compiler walks them
        total_stmt = self._rollup_count_statement(ctx, obj, filters, search)
        if total_stmt is not None:
            with self._reading() as conn:
                counted = int(conn.execute(total_stmt).scalar_one() or 0)
            # Exact, but the caller asked for at most `cap`.
            return (cap, True) if counted > cap else (counted, False)
        if searching:  # never a cached statement: its plan depends on the term
            with self._reading() as conn:
                n = self._window_count(conn, ctx, obj, filters, search or "", cap)
                if n is None:
                    b = self._builder(ctx, obj)
                    stmt = self._count_statement(b, self._where(ctx, b, obj, filters, search),
                                                 cap)
                    with search_planning(conn, no_ordered_walks=True):
                        n = conn.execute(stmt).scalar_one()
            return (cap, True) if n > cap else (int(n), False)
        shaped = filter_shape(filters, ctx.user_id)
        # A reusable statement per shape, as find() has (see plans.py).
        key = None if shaped is None else (
            "count", id(obj), obj.name, ctx.role, ctx.is_system, ctx.user_id,
            ctx.subordinate_ids, shaped[0], cap)
        plan = self._plans.get(key) if key is not None else None
        if plan is None:
            b = self._builder(ctx, obj)
            if key is not None:
                b.slots = []
            where = self._where(ctx, b, obj, filters, search)
            plan = FindPlan(self._count_statement(b, where, cap), None, tuple(b.slots or ()),
                            False)
            if key is not None:
                self._remember(key, plan, obj)
        params = bind(plan, shaped[1]) if shaped is not None else {}
        with self._reading() as conn:
            n = conn.execute(plan.statement, params).scalar_one()
        return (cap, True) if n > cap else (int(n), False)

    def _window_count(self, conn: Connection, ctx: Context, obj: ObjectDef,
                      filters: list[Any], search: str, cap: int,
                      probed: Probed | None = None) -> int | None:
        """A search's count read from the searched field's range of matching values
        (app/objectql/value_windows.py), or None when that range cannot tell."""
        b = self._builder(ctx, obj)
        filtering = self._filter_clauses(ctx, b, obj, filters, search)  # checks them first
        window = count_window(conn, b, search, probed)
        if window is None:
            return None
        condition, whole = window
        if condition is None:  # no kept value matches: neither does any row
            return 0
        where = _all_of([*filtering, b.search(search, scan=True), condition])
        with search_planning(conn, no_ordered_walks=False, walk_only=True):
            n = int(conn.execute(self._count_statement(b, where, cap)).scalar_one())
        return n if whole or n > cap else None

    def _rollup_count_statement(self, ctx: Context, obj: ObjectDef, filters: list[Any],
                                search: str | None) -> Any | None:
        """The statement reading the exact row count from a rollup (app/storage/rollups.py:
        list views whose filters are owner and picklist conditions have one), or None when
        none can give it — then the records are counted, up to the cap. `filters` are
        already checked (check_filters) by the caller."""
        if (search and search.strip()) or not self._schema.rollups.get(obj.name):
            return None
        return rollups.statement(self, ctx, obj, [], {"n": ("count", "id")}, filters, None, 1)

    def _with_total(self, obj: ObjectDef, page: Any, total: Any, *, keep: bool) -> Any:
        """`page` with the rollup's count as one more column (TOTAL_COLUMN): an
        uncorrelated scalar subquery, which both databases evaluate once per statement.
        `keep` (the page's plan is cached): built once per (page, count) pair, the key
        holding both statements so neither id can be reused while it is cached; a page
        built for this call alone would only fill the cache."""
        key = ("with_total", id(obj), obj.name, page, total)
        combined = self._plans.get(key) if keep else None
        if combined is None:
            combined = page.add_columns(total.scalar_subquery().label(TOTAL_COLUMN))
            if keep:
                self._remember(key, combined, obj)
        return combined

    def find_one(self, ctx: Context, object_name: str, **kwargs: Any) -> dict[str, Any] | None:
        records = self.find(ctx, object_name, limit=1, **kwargs).records
        return records[0] if records else None

    def get(self, ctx: Context, object_name: str, record_id: str, *,
            fields: list[str] | None = None,
            expand: dict[str, list[str] | None] | None = None) -> dict[str, Any]:
        if not isinstance(record_id, str) or not record_id or len(record_id) > 64 \
                or "\x00" in record_id:
            raise NotFound(f"{object_name} '{record_id}' not found")
        found = self.find_one(ctx, object_name, fields=fields, expand=expand,
                              filters=[["id", "=", record_id]])
        if found is None:
            raise NotFound(f"{object_name} '{record_id}' not found")
        return found

    def related(self, ctx: Context, child_object: str, via_field: str, parent_id: str,
                **kwargs: Any) -> QueryResult:
        child = self.object(child_object)
        fd = child.field(via_field)
        if fd is None or not fd.is_lookup:
            raise QueryError(f"'{via_field}' is not a lookup on {child_object}")
        filters = [[via_field, "=", parent_id]]
        if kwargs.get("filters"):
            filters = [filters[0], kwargs.pop("filters")]
        return self.find(ctx, child_object, filters=filters, **kwargs)

    def aggregate(self, ctx: Context, object_name: str, *, group_by: list[str] | None = None,
                  aggregate: dict[str, tuple[str, str]] | None = None,
                  filters: list[Any] | None = None, sort: Any = None, limit: int = 1000,
                  search: str | None = None) -> list[dict[str, Any]]:
        obj = self.object(object_name)
        self.security.check_object(ctx, obj, "read")
        group_by = list(dict.fromkeys(group_by or []))  # a repeated name is one group
        if not search:
            check_filters(filters)  # bounds first, as for every query
            # Sums and counts the dashboards ask for come from their rollup, kept exact by
            # the write path; anything a rollup cannot express reads the records below.
            found = rollups.answer(self, ctx, obj, group_by,
                                   aggregate or {"count": ("count", "id")},
                                   list(filters or []), sort, limit)
            if found is not None:
                return found
        b = self._builder(ctx, obj)
        grouped = [group_column(b, name) for name in group_by]
        group_cols = [column.label(name) for column, name in zip(grouped, group_by, strict=True)]
        agg_cols = []
        for alias, (fn, path) in (aggregate or {"count": ("count", "id")}).items():
            if alias in (group_by or []):
                raise QueryError(f"aggregate name '{alias}' clashes with a group_by field")
            if fn == "count" and path in ("id", "*"):
                agg_cols.append(func.count().label(alias))
                continue
            column, fd = b.resolve(path, "aggregate")
            field_type = fieldtypes.of(fd)
            if fn == "avg" and field_type.temporal:
                agg_cols.append(func.avg(day_number(column)).label(alias))
                continue
            if fn in ("sum", "avg") and not field_type.numeric:
                raise QueryError(f"cannot {fn} '{path}': it is not numeric")
            if fn in ("min", "max") and not field_type.ordered:
                raise QueryError(f"cannot {fn} '{path}': its values have no order")
            agg_cols.append(getattr(func, fn)(column).label(alias))
        # Resolve the filters before applying the joins: a dotted path only used in a
        # filter must join too (else a cartesian product counts every related row).
        where = self._where(ctx, b, obj, list(filters or []), search)
        stmt = b.apply(select(*group_cols, *agg_cols))
        if where is not None:
            stmt = stmt.where(where)
        if group_cols:
            stmt = stmt.group_by(*grouped)
        labels = {c.name: c for c in [*group_cols, *agg_cols]}
        stmt = stmt.order_by(*aggregate_order(sort, labels, group_cols)).limit(_inline(limit))
        with self._reading() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def query(self, ctx: Context, data: Any, *, max_limit: int = MAX_LIMIT
              ) -> dict[str, Any]:
        """The ⚑ JSON query shape, as used by `POST /api/query`."""
        parsed = parse_query(data, max_limit=max_limit)
        if isinstance(parsed, AggregateQuery):
            records = self.aggregate(ctx, parsed.object, group_by=parsed.group_by,
                                     aggregate=parsed.aggregate, filters=parsed.filters,
                                     sort=parsed.sort, limit=parsed.limit,
                                     search=parsed.search)
            return {"records": records, "total": len(records)}
        assert isinstance(parsed, Query)
        return self.find(ctx, parsed.object, fields=parsed.fields, filters=parsed.filters,
                         sort=parsed.sort, limit=parsed.limit, skip=parsed.skip,
                         expand=parsed.expand, search=parsed.search,
                         view=data.get("view"), with_total=True).to_dict()

    def history(self, ctx: Context, object_name: str, record_id: str) -> list[dict[str, Any]]:
        obj = self.object(object_name)
        self.get(ctx, object_name, record_id, fields=["id"])  # 404 unless visible
        with self._reading() as conn:
            entries = audit.history(conn, object_name, record_id)
        for entry in entries:
            entry["changes"] = {k: v for k, v in (entry["changes"] or {}).items()
                                if (fd := obj.field(k)) is None
                                or self.security.field_readable(ctx, obj, fd)}
        return entries

    # -- writes (see writes.py) ----------------------------------------------------------
    def insert(self, ctx: Context, object_name: str, data: dict[str, Any]) -> dict[str, Any]:
        return self._writes.insert(ctx, object_name, data)

    def update(self, ctx: Context, object_name: str, record_id: str, changes: dict[str, Any],
               *, expected_version: int | None = None) -> dict[str, Any]:
        return self._writes.update(ctx, object_name, record_id, changes, expected_version)

    def delete(self, ctx: Context, object_name: str, record_id: str, *,
               expected_version: int | None = None) -> None:
        self._writes.delete(ctx, object_name, record_id, expected_version)

    def insert_many(self, ctx: Context, object_name: str, rows: list[dict[str, Any]], *,
                    all_or_nothing: bool = True) -> list[Any]:
        return self._writes.many(ctx, "insert", object_name, rows, all_or_nothing)

    def update_many(self, ctx: Context, object_name: str, rows: list[dict[str, Any]], *,
                    all_or_nothing: bool = True) -> list[Any]:
        """Each row is the changes plus its `id` (and optionally `version`)."""
        return self._writes.many(ctx, "update", object_name, rows, all_or_nothing)

    def delete_many(self, ctx: Context, object_name: str, ids: list[str], *,
                    all_or_nothing: bool = True) -> list[Any]:
        return self._writes.many(ctx, "delete", object_name, [{"id": i} for i in ids],
                                 all_or_nothing)

    def bulk_insert(self, ctx: Context, object_name: str, rows: list[dict[str, Any]]) -> int:
        """Typed and checked, without per-row triggers or audit: for seeds and imports."""
        return self._writes.bulk_insert(ctx, object_name, rows)


def _rows(conn: Connection, statement: Any, params: dict[str, Any], searching: bool,
          no_ordered_walks: bool, *, walk_only: bool = False) -> list[dict[str, Any]]:
    with search_planning(conn, no_ordered_walks=no_ordered_walks, walk_only=walk_only) \
            if searching else nullcontext():
        cursor = conn.execute(statement, params)
        keys = tuple(cursor.keys())
        # zip over the column names once: a RowMapping per row cost more than the query.
        return [dict(zip(keys, row, strict=True)) for row in cursor.all()]


def _unaffected(old: Registry, old_schema: Schema, new: Registry, new_schema: Schema
                ) -> set[str]:
    """Objects whose cached plans stay right after swapping `old` for `new`: the same
    ObjectDef instance and table, and the same for every object reachable through its
    lookups (paths, expands and a parent's row filter join those). A change of any
    permission set changes row filters and readable fields everywhere: nothing is kept."""
    if old.permissions.keys() != new.permissions.keys() or any(
            new.permissions[role] is not perms for role, perms in old.permissions.items()):
        return set()
    same = {name for name, obj in new.items() if old.get(name) is obj
            and old_schema.tables.get(name) is new_schema.tables.get(name)}
    verdict: dict[str, bool] = {}

    def stable(name: str) -> bool:
        if name not in verdict:
            verdict[name] = True  # a cycle of lookups is judged by its other members
            verdict[name] = name in same and all(
                stable(fd.reference_to) for fd in new[name].all_fields.values()
                if fd.is_lookup and fd.reference_to and fd.reference_to in new)
        return verdict[name]

    return {name for name in new if stable(name)}


def _inline(n: int) -> Any:
    """LIMIT/OFFSET written into the SQL text. As a parameter, PostgreSQL's generic plan
    for a prepared statement guesses the limit at 10% of the rows and chose a parallel
    scan for a 20-row page: 7 ms instead of 0.4. As SQL text rather than a
    `literal_execute` parameter, the compiled form is cached per value and nothing is
    re-rendered per execution (that re-rendering was ~5% of a REST read)."""
    return literal_column(str(int(n)), Integer)


def _nest(mapping: Any) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in mapping.items():
        if key.startswith("$"):
            _, lookup, name = key.split("$")
            if record.get(lookup) is None or not isinstance(record.get(lookup), dict):
                record[lookup] = {} if mapping[f"${lookup}$id"] is not None else None
            if record[lookup] is not None:
                record[lookup][name] = value
        else:
            record.setdefault(key, value)
    return record


def _all_of(clauses: list[ColumnElement[bool]]) -> ColumnElement[bool] | None:
    if not clauses:
        return None
    return and_(*clauses) if len(clauses) > 1 else clauses[0]
