"""Typed models of the ⚑ dashboard format (`metadata/dashboards/<name>.dashboard.yml`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from app.expressions import Expression

WidgetKind = Literal["kpi", "chart", "table", "list"]
ChartType = Literal["funnel", "bar", "stacked_bar", "line", "area", "pie", "donut", "treemap"]
FilterType = Literal["period", "owner", "select"]
ValueFormat = Literal["currency", "number", "percent", "days", "text", "date"]
PERIOD_PRESETS = ("this_month", "last_month", "this_quarter", "last_quarter", "this_year",
                  "last_year", "custom")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterDef(_Strict):
    name: str
    type: FilterType
    label: str | None = None
    default: str | None = None
    # select filters: the options of this object field (or the given ones)
    object: str | None = None
    field: str | None = None
    options: list[dict[str, str]] = Field(default_factory=list)

    @property
    def display_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


class Position(_Strict):
    x: int = Field(ge=0, le=11)
    y: int = Field(ge=0, le=200)
    w: int = Field(ge=1, le=12)
    h: int = Field(ge=1, le=12)


class QueryDef(_Strict):
    """An ObjectQL query (fields/sort/limit) or aggregate (group_by/aggregate)."""

    object: str
    filters: list[Any] = Field(default_factory=list)
    group_by: list[str] = Field(default_factory=list)
    aggregate: dict[str, list[str]] = Field(default_factory=dict)
    sort: list[Any] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1, le=1000)
    fields: list[str] = Field(default_factory=list)
    # Aggregates only: spread the groups of this group_by field into columns named
    # `<value>_<aggregate>` (a KPI's win rate needs won and lost side by side).
    pivot: str | None = None

    @property
    def is_aggregate(self) -> bool:
        return bool(self.aggregate or self.group_by)

    @property
    def period_field(self) -> str | None:
        """The date field of the query's top-level `[field, "=", $period]` condition."""
        for item in self.filters:
            if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) \
                    and item[1:] == ["=", "$period"]:
                return item[0]
        return None


class MergeDef(_Strict):
    """A second aggregate whose columns join the main rows on the shared group fields."""

    query: QueryDef
    by: list[str] = Field(default_factory=list)


class ChartDef(_Strict):
    type: ChartType
    x: str
    y: list[str] | str
    series: str | None = None
    text: str | None = None
    # Fill missing date buckets between the query's date bounds (months without sales).
    fill: bool = False

    @property
    def y_list(self) -> list[str]:
        return [self.y] if isinstance(self.y, str) else list(self.y)


class ColumnDef(_Strict):
    field: str
    label: str | None = None
    format: ValueFormat | None = None


class DrillDef(_Strict):
    object: str | None = None
    view: str | None = None
    filters: list[Any] = Field(default_factory=list)


class WidgetDef(_Strict):
    name: str
    kind: WidgetKind
    title: str
    description: str | None = None
    position: Position
    query: QueryDef
    merge: list[MergeDef] = Field(default_factory=list)
    compute: dict[str, str] = Field(default_factory=dict)
    value: str | None = None
    format: ValueFormat | None = None
    compare: Literal["previous_period"] | None = None
    # A KPI where lower is better (sales cycle): a fall is shown green.
    lower_is_better: bool = False
    # A KPI's sparkline: its value in each of the period's last N months (app/dashboards/
    # trend.py); needs a `[date field, "=", $period]` condition.
    trend: int | None = Field(default=None, ge=2, le=24)
    chart: ChartDef | None = None
    columns: list[ColumnDef] = Field(default_factory=list)
    order: list[Any] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1, le=1000)
    drill: DrillDef | None = None
    empty: str | None = None

    _compute: dict[str, Expression] = PrivateAttr(default_factory=dict)

    @property
    def compiled(self) -> dict[str, Expression]:
        return self._compute


class DashboardDef(_Strict):
    name: str
    label: str
    description: str | None = None
    icon: str | None = None
    filters: list[FilterDef] = Field(default_factory=list)
    widgets: list[WidgetDef]
    source_file: str | None = Field(default=None, exclude=True)

    def widget(self, name: str) -> WidgetDef | None:
        return next((w for w in self.widgets if w.name == name), None)

    def filter(self, name: str) -> FilterDef | None:
        return next((f for f in self.filters if f.name == name), None)

    def objects_read(self, widget: WidgetDef) -> set[str]:
        """Set by the loader: every object a widget's queries touch (cache invalidation)."""
        return set(self._reads.get(widget.name, ()))

    _reads: dict[str, tuple[str, ...]] = PrivateAttr(default_factory=dict)
    # The definition's fingerprint in widget cache keys (set on first use): a studio
    # change makes a new DashboardDef, hence new keys and no stale figures.
    _digest: str | None = PrivateAttr(default=None)
