"""`GET /export/{object}.csv|.xlsx`: the current list view as a file.

Takes the list page's state (`view, filters, search, sort, fields`), authenticates by the
session cookie (or a bearer token) and reads through ObjectQL as the caller, in pages of
1,000 up to 100,000 rows — so row- and field-level security hold exactly as on screen.
Values are plain: ISO dates, unformatted numbers, option labels, related records by
name. Text cells that a spreadsheet would run as a formula are prefixed with `'`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from app import runtime
from app.api.deps import current_context
from app.api.errors import ApiError
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.context import Context
from app.objectql.errors import QueryError
from app.objectql.query import check_search, parse_filters_param, parse_sort
from app.objectql.service import ObjectQL

router = APIRouter(tags=["export"])
CurrentContext = Annotated[Context, Depends(current_context)]
PAGE = 1_000
MAX_ROWS = 100_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SEP = " \u203a "  # between the labels of a path through a lookup
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportColumn:
    def __init__(self, path: str, label: str, fd: FieldDef) -> None:
        self.path, self.label, self.fd = path, label, fd


def export_columns(ql: ObjectQL, ctx: Context, obj: ObjectDef, paths: list[str]
                   ) -> list[ExportColumn]:
    """The readable columns of `paths`; a lookup is exported as its record's name."""
    result: dict[str, ExportColumn] = {}
    for path in paths:
        if not ql.allowed(ctx, "read", obj, path):
            continue
        current, parts = obj, path.split(".")
        labels: list[str] = []
        for i, part in enumerate(parts):
            fd = current.field(part)
            if fd is None:
                break
            target = ql.registry[fd.reference_to] if fd.is_lookup and fd.reference_to \
                and fd.reference_to in ql.registry else None
            if i == len(parts) - 1:
                if target is not None:
                    name_fd = target.field(target.name_field)
                    if name_fd and ql.allowed(ctx, "read", target, target.name_field):
                        full = f"{path}.{target.name_field}"
                        result[full] = ExportColumn(full, SEP.join([*labels,
                                                    fd.display_label]), name_fd)
                else:
                    label = SEP.join([*labels, fd.display_label])
                    if i > 0 and part == current.name_field:
                        label = SEP.join(labels)
                    result[path] = ExportColumn(path, label, fd)
                break
            if target is None:
                break
            labels.append(fd.display_label)
            current = target
    return list(result.values())


def plain(fd: FieldDef, value: Any) -> Any:
    """A cell value: typed for XLSX (numbers, dates), option labels for picklists."""
    if value is None:
        return None
    kind = fd.value_type
    if kind == "select":
        option = fd.option(value)
        return guard(option.label if option else str(value))
    if kind == "multiselect":
        values = value if isinstance(value, list) else [value]
        return guard("; ".join(o.label if (o := fd.option(v)) else str(v) for v in values))
    if kind == "boolean":
        return bool(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | float | date):
        return value
    if kind == "json":
        return guard(json.dumps(value, ensure_ascii=False, default=str))
    return guard(str(value))


def guard(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; make them plain text."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _filename(obj: ObjectDef, view: str | None, ext: str) -> str:
    stem = "-".join(p for p in (obj.display_plural.lower(), view) if p)
    stem = re.sub(r"[^a-z0-9_-]+", "-", stem).strip("-") or obj.name
    return f"{stem}-{date.today():%Y%m%d}.{ext}"


def _disposition(filename: str) -> str:
    return f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"


@router.get("/export/{target}")
async def export(target: str, ctx: CurrentContext, view: str | None = None,
                 filters: str | None = None, search: str | None = None,
                 sort: str | None = None, fields: str | None = None) -> Response:
    name, _, ext = target.rpartition(".")
    if ext not in ("csv", "xlsx") or not name:
        raise ApiError(404, "export as /export/{object}.csv or /export/{object}.xlsx")
    ql = runtime.services().ql
    obj = ql.object(name)
    ql.ensure(ctx, "read", obj)
    parsed_filters = parse_filters_param(filters)
    check_search(search)
    if view is not None and view not in obj.list_views:
        raise QueryError(f"unknown list view '{view}' on {obj.name}")
    paths = [f.strip() for f in fields.split(",") if f.strip()] if fields else (
        obj.list_views[view].columns if view else [])
    if not paths:
        paths = _default_paths(ql, ctx, obj)
    columns = export_columns(ql, ctx, obj, paths[:200])
    if not columns:
        raise QueryError("no readable columns to export")
    order = parse_sort(sort) or ([(s[0], s[1]) for s in obj.list_views[view].sort]
                                 if view else [])
    pages = record_pages(ql, ctx, obj.name, [c.path for c in columns], parsed_filters,
                         order, search or None, view)
    empty: list[dict[str, Any]] = []
    first = await run_in_threadpool(next, pages, empty)  # bad queries fail here, as a 400

    def rows() -> Iterator[list[Any]]:
        for records in itertools.chain([first], pages):
            for record in records:
                yield [plain(c.fd, record.get(c.path)) for c in columns]

    headers = {"Content-Disposition": _disposition(_filename(obj, view, ext)),
               "Cache-Control": "no-store"}
    if ext == "csv":
        return StreamingResponse(_csv_chunks(columns, rows()), headers=headers,
                                 media_type="text/csv; charset=utf-8")
    body = await run_in_threadpool(_xlsx, obj, columns, rows())
    return Response(body, media_type=XLSX_TYPE, headers=headers)


def _default_paths(ql: ObjectQL, ctx: Context, obj: ObjectDef) -> list[str]:
    """Without a view or fields: the name, the declared fields, then owner and stamps."""
    readable = set(ql.readable_fields(ctx, obj))
    names = [obj.name_field, *obj.fields, "owner", "created_at", "created_by",
             "modified_at", "modified_by"]
    return [n for n in dict.fromkeys(names) if n in readable]


def record_pages(ql: ObjectQL, ctx: Context, obj: str, fields: list[str],
                 filters: list[Any], sort: list[tuple[str, str]], search: str | None,
                 view: str | None = None) -> Iterator[list[dict[str, Any]]]:
    """Pages of up to PAGE records, MAX_ROWS in all, in the list's order.

    A page does not skip all rows sent before it (page 100 would read 100,000 rows):
    it starts at the last value of the first sort field (an index range) and skips only
    the rows with that same value already sent. Empty values of that field are their own
    phase, first when ascending and last when descending, as ObjectQL sorts them.
    """
    sent = 0

    def find(extra: list[Any], skip: int) -> list[dict[str, Any]]:
        limit = min(PAGE, MAX_ROWS - sent)
        with ql.replica_reads(ctx):  # each page may run on another worker thread
            return ql.find(ctx, obj, fields=fields, filters=[*filters, *extra] or None,
                           sort=sort or None, limit=limit, skip=skip, search=search,
                           view=view).records

    path, direction = sort[0] if sort else ("id", "asc")
    fields = list(dict.fromkeys([*fields, path]))
    phases = ["value"] if path == "id" else (
        ["null", "value"] if direction == "asc" else ["value", "null"])
    for phase in phases:
        base: list[Any] = [[path, "=" if phase == "null" else "!=", None]] \
            if path != "id" else []
        value: Any = None
        same = 0  # rows sent whose first sort field equals `value`
        started = False
        while sent < MAX_ROWS:
            extra = list(base)
            if started and phase == "value":
                extra.append([path, ">=" if direction == "asc" else "<=", _literal(value)])
            try:
                records = find(extra, same if started else 0)
            except QueryError:
                if not sent:
                    raise
                # A value the filter language cannot compare (yes/no, "$user" as text):
                # the rest by plain offset, which is the same order.
                while sent < MAX_ROWS:
                    records = find([], sent)
                    sent += len(records)
                    yield records
                    if len(records) < PAGE:
                        return
                return
            sent += len(records)
            yield records
            if len(records) < PAGE:
                break
            for record in records:
                if started and record.get(path) == value:
                    same += 1
                else:
                    value, same, started = record.get(path), 1, True


def _literal(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _csv_chunks(columns: list[ExportColumn], rows: Iterator[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # Excel reads UTF-8 only with a byte order mark
    writer.writerow([guard(c.label) for c in columns])
    for n, row in enumerate(rows, 1):
        writer.writerow([_csv_cell(v) for v in row])
        if n % PAGE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx(obj: ObjectDef, columns: list[ExportColumn], rows: Iterator[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(obj.display_plural[:31])
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.label)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
            else:
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
