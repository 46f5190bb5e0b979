"""The kanban board without UI: which view and fields, columns with their SQL totals,
card formatting, the payload a drop saves and what to do when it fails.

`components/kanban_board.py` renders this; `tests/unit/test_kanban_logic.py` covers it.
Everything reads and writes through ObjectQL with the caller's Context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app import fieldtypes
from app.metadata.models import FieldDef, ListView, ObjectDef
from app.objectql.context import Context
from app.objectql.errors import (
    Conflict,
    NotFound,
    ObjectQLError,
    PermissionDenied,
    ValidationError,
)
from app.objectql.service import ObjectQL

CARDS_PER_COLUMN = 50
# Field types a drop can ask for when a validation rule needs them (loss reason, amount);
# each type says so itself (`askable`, app/fieldtypes/).
ASKABLE_TYPES = tuple(t.name for t in fieldtypes.FIELD_TYPES if t.askable)
# Metadata colour names → a calm mid-tone accent (Tailwind 500 palette).
COLORS = {
    "grey": "#64748b", "gray": "#64748b", "slate": "#64748b", "blue": "#3b82f6",
    "indigo": "#6366f1", "purple": "#a855f7", "violet": "#8b5cf6", "pink": "#ec4899",
    "red": "#ef4444", "orange": "#f97316", "amber": "#f59e0b", "yellow": "#eab308",
    "lime": "#84cc16", "green": "#22c55e", "emerald": "#10b981", "teal": "#14b8a6",
    "cyan": "#06b6d4", "sky": "#0ea5e9",
}
DEFAULT_COLOR = "#94a3b8"


class NoBoard(Exception):
    """The object has no list view with kanban settings (or not the one asked for)."""


@dataclass(frozen=True)
class BoardSpec:
    object_name: str
    view_name: str
    group_by: str
    sum_field: str | None
    filters: list[Any]
    title_field: str
    subtitle_path: str | None
    date_field: str | None
    owner_path: str | None

    @property
    def fields(self) -> list[str]:
        wanted = [self.title_field, self.subtitle_path, self.sum_field, self.date_field,
                  self.owner_path, self.group_by, "version"]
        return list(dict.fromkeys(f for f in wanted if f))

    @property
    def card_sort(self) -> list[list[str]]:
        return [[self.date_field or "created_at", "desc"]]


@dataclass
class ColumnState:
    value: str
    label: str
    color: str
    count: int = 0
    total: float = 0.0
    cards: list[dict[str, Any]] = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


@dataclass
class MoveResult:
    """What a drop did: `ok` with the saved record, or fields to ask for, or an error."""

    ok: bool
    record: dict[str, Any] | None = None
    ask: list[FieldDef] = field(default_factory=list)
    message: str = ""


# -- which board -----------------------------------------------------------------------
def kanban_views(obj: ObjectDef) -> list[tuple[str, ListView]]:
    return [(name, view) for name, view in obj.list_views.items() if view.kanban]


def board_spec(obj: ObjectDef, view_name: str | None,
               readable: Callable[[str], bool] = lambda path: True) -> BoardSpec:
    """The board of `view_name` (default: the first view with kanban settings).

    `readable(path)` says whether the user may read a (dotted) field; card details the
    user may not read are left out rather than failing the page.
    """
    views = dict(kanban_views(obj))
    if not views:
        raise NoBoard(f"{obj.display_plural} have no board")
    name = view_name if view_name in views else next(iter(views))
    view = views[name]
    assert view.kanban is not None
    group = obj.field(view.kanban.group_by)
    if group is None or group.type != "select" or not group.options:
        raise NoBoard(f"'{view.kanban.group_by}' is not a picklist on {obj.name}")

    def first(paths: list[str | None]) -> str | None:
        return next((p for p in paths if p and readable(p)), None)

    dotted = [c for c in view.columns if "." in c]
    dates = [c for c in view.columns if (fd := obj.field(c)) is not None
             and fd.value_type == "date"]
    sum_field = view.kanban.sum if view.kanban.sum and readable(view.kanban.sum) else None
    return BoardSpec(object_name=obj.name, view_name=name, group_by=group.name,
                     sum_field=sum_field, filters=list(view.filters),
                     title_field=obj.name_field, subtitle_path=first(list(dotted)),
                     date_field=first(list(dates)), owner_path=first(["owner.name"]))


def view_choices(obj: ObjectDef) -> dict[str, str]:
    return {name: view.label or name.replace("_", " ").capitalize()
            for name, view in kanban_views(obj)}


def path_readable(ql: ObjectQL, ctx: Context, obj: ObjectDef, path: str) -> bool:
    """False when any step of a dotted path is a field (or object) the user may not read."""
    return ql.allowed(ctx, "read", obj, path)


# -- columns ---------------------------------------------------------------------------
def with_filter(view_filters: list[Any], extra: list[Any]) -> list[Any]:
    """The view's filters AND `extra` (a view may use "or", so it stays its own group)."""
    return [list(view_filters), [extra]] if view_filters else [extra]


def summarize(group: FieldDef, rows: list[dict[str, Any]]) -> list[ColumnState]:
    """One column per option, in option order, with count and sum from aggregate rows
    (`{<group_by>: value, "n": count, "total": sum}`); values outside the options are
    not shown as columns."""
    by_value = {row.get(group.name): row for row in rows}
    columns = []
    for option in group.options:
        row = by_value.get(option.value, {})
        columns.append(ColumnState(value=option.value, label=option.label,
                                   color=color_hex(option.color),
                                   count=int(row.get("n") or 0),
                                   total=_number(row.get("total"))))
    return columns


def load_board(ql: ObjectQL, ctx: Context, spec: BoardSpec,
               per_column: int = CARDS_PER_COLUMN) -> list[ColumnState]:
    """Counts and sums in SQL over the view's filters; then the newest cards per column."""
    obj = ql.object(spec.object_name)
    group = obj.field(spec.group_by)
    assert group is not None
    aggregate = {"n": ("count", "id")}
    if spec.sum_field:
        aggregate["total"] = ("sum", spec.sum_field)
    rows = ql.aggregate(ctx, spec.object_name, group_by=[spec.group_by], aggregate=aggregate,
                        filters=spec.filters)
    columns = summarize(group, rows)

    def cards(column: ColumnState) -> list[dict[str, Any]]:
        return ql.find(ctx, spec.object_name, fields=spec.fields, sort=spec.card_sort,
                       filters=with_filter(spec.filters, [spec.group_by, "=", column.value]),
                       limit=per_column).records

    # One indexed query per column (under a millisecond each on the 100k set), one after
    # the other: a pool of threads for them took 3-4x as long on SQLite (starting the
    # threads, passing the GIL around) and was no faster on PostgreSQL.
    for column in columns:
        if column.count:
            column.cards = cards(column)
    return columns


def apply_move(columns: list[ColumnState], card_id: str, source: str, target: str,
               record: dict[str, Any], sum_field: str | None) -> dict[str, Any]:
    """Move the card between columns in memory and adjust counts and sums; returns the
    card (its fields refreshed from the saved record)."""
    by_value = {c.value: c for c in columns}
    old_col, new_col = by_value[source], by_value[target]
    card = next((c for c in old_col.cards if c["id"] == card_id), {"id": card_id})
    old_amount = _number(card.get(sum_field)) if sum_field else 0.0
    old_col.cards = [c for c in old_col.cards if c["id"] != card_id]
    card = {**card, **{k: v for k, v in record.items() if k in card or k == "version"}}
    new_amount = _number(card.get(sum_field)) if sum_field else 0.0
    old_col.count = max(0, old_col.count - 1)
    old_col.total -= old_amount
    new_col.count += 1
    new_col.total += new_amount
    new_col.cards.insert(0, card)
    return card


# -- a drop ----------------------------------------------------------------------------
def move_changes(group_by: str, target: str, extra: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """The one update a drop saves: the new group value plus anything the user was asked
    for (e.g. the loss reason), together, so the validation rule sees both."""
    changes = {k: v for k, v in (extra or {}).items() if k != group_by}
    changes[group_by] = target
    return changes


def fields_to_ask(obj: ObjectDef, group_by: str, error: ValidationError,
                  editable: Callable[[FieldDef], bool] = lambda fd: True) -> list[FieldDef]:
    """The fields a failed drop could be completed with: every field the validation named
    must be an editable, simple field other than the group field; else [] (just explain)."""
    names = [d.get("field") or "" for d in error.details]
    if not names or any(not n or n == group_by for n in names):
        return []
    result = []
    for name in dict.fromkeys(names):
        fd = obj.field(name)
        if fd is None or fd.system or fd.is_computed or fd.readonly \
                or not fieldtypes.of(fd).askable or not editable(fd):
            return []
        result.append(fd)
    return result


def dialog_testid(fields: list[FieldDef]) -> str:
    return f"{fields[0].name.replace('_', '-')}-dialog" if len(fields) == 1 \
        else "missing-fields-dialog"


def error_text(error: Exception, record_label: str, title: str) -> str:
    """A sentence a sales rep understands, for any failed drop."""
    if isinstance(error, Conflict):
        return (f"“{title}” was changed by someone else meanwhile. "
                "Reload the board to see the latest version.")
    if isinstance(error, PermissionDenied):
        return f"You may not change this {record_label.lower()}: {error.message}"
    if isinstance(error, NotFound):
        return f"This {record_label.lower()} no longer exists or is not visible to you."
    if isinstance(error, ValidationError):
        messages = [d["message"] for d in error.details if d.get("message")]
        return " ".join(dict.fromkeys(messages)) or error.message
    if isinstance(error, ObjectQLError):
        return error.message
    return f"Could not move “{title}”."


def move_card(ql: ObjectQL, ctx: Context, spec: BoardSpec, card: dict[str, Any], target: str,
              extra: dict[str, Any] | None = None) -> MoveResult:
    """Save a drop with the card's version (stale → Conflict); triggers run as usual."""
    obj = ql.object(spec.object_name)
    title = str(card.get(spec.title_field) or obj.label)
    try:
        record = ql.update(ctx, spec.object_name, card["id"],
                           move_changes(spec.group_by, target, extra),
                           expected_version=card.get("version"))
    except ValidationError as exc:
        ask = [] if extra else fields_to_ask(
            obj, spec.group_by, exc, lambda fd: ql.allowed(ctx, "edit", obj, fd.name))
        return MoveResult(ok=False, ask=ask, message=error_text(exc, obj.label, title))
    except ObjectQLError as exc:
        return MoveResult(ok=False, message=error_text(exc, obj.label, title))
    return MoveResult(ok=True, record=record)


def follow_up_record(ql: ObjectQL, ctx: Context, spec: BoardSpec, target: str,
                     record_id: str) -> dict[str, Any] | None:
    """After a drop on a won stage: the contract the trigger booked for the record, if any
    object named `contract` links to this one and the user can see it."""
    obj = ql.object(spec.object_name)
    group = obj.field(spec.group_by)
    option = group.option(target) if group else None
    if option is None or not option.extra("is_won") or "contract" not in ql.registry:
        return None
    link = ql.registry["contract"].field(spec.object_name)
    if link is None or link.reference_to != spec.object_name:
        return None
    try:
        return ql.find_one(ctx, "contract", fields=["id", ql.registry["contract"].name_field],
                           filters=[[spec.object_name, "=", record_id]])
    except ObjectQLError:
        return None


# -- formatting ------------------------------------------------------------------------
def card_view(card: dict[str, Any], spec: BoardSpec, today: date | None = None
              ) -> dict[str, Any]:
    """What a card shows, as text (the browser renders it as text, never as HTML)."""
    owner = nested(card, spec.owner_path) if spec.owner_path else None
    subtitle = nested(card, spec.subtitle_path)
    return {
        "id": card["id"],
        "href": f"/o/{spec.object_name}/{card['id']}",
        "title": str(card.get(spec.title_field) or "(no name)"),
        "subtitle": "" if subtitle is None else str(subtitle),
        "amount": format_money(card.get(spec.sum_field)) if spec.sum_field else "",
        "date": format_day(card.get(spec.date_field), today) if spec.date_field else "",
        "owner": initials(owner) if spec.owner_path else "",
        "ownerName": str(owner or "No owner"),
    }


def column_view(column: ColumnState, spec: BoardSpec, today: date | None = None
                ) -> dict[str, Any]:
    """The props of one rendered column: header figures and its cards."""
    return {
        "countText": f"{column.count:,}",
        "sumText": format_money(column.total, compact=True),
        "sumTitle": format_money(column.total),
        "more": f"+{column.more:,} more" if column.more else "",
        "cards": [card_view(c, spec, today) for c in column.cards],
    }


def color_hex(name: str | None) -> str:
    if not name:
        return DEFAULT_COLOR
    if name.startswith("#"):
        return name
    return COLORS.get(name.lower(), DEFAULT_COLOR)


def format_money(value: Any, *, compact: bool = False) -> str:
    """`$1,250,000`, or compact for column headers: `$1.3M`, `$845K`, `$950`."""
    if value is None or value == "":
        return "—"
    amount = _number(value)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if compact:
        for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
            if amount >= limit:
                scaled = amount / limit
                text = f"{scaled:.1f}".rstrip("0").rstrip(".") if scaled < 100 \
                    else f"{scaled:.0f}"
                return f"{sign}${text}{suffix}"
    return f"{sign}${amount:,.0f}"


def format_day(value: Any, today: date | None = None) -> str:
    """`Mar 5` this year, `Mar 5, 2027` otherwise; '' for nothing."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)
    today = today or date.today()
    text = f"{day:%b} {day.day}"
    return text if day.year == today.year else f"{text}, {day.year}"


def initials(name: Any) -> str:
    words = [w for w in str(name or "").replace("@", " ").split() if w[:1].isalnum()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[-1][0]).upper()


def nested(record: dict[str, Any], path: str | None) -> Any:
    """`record["account.name"]` as find() returns dotted fields (flat key)."""
    if not path:
        return None
    if path in record:
        return record[path]
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _number(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return 0.0
