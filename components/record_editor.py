"""The record form in the browser (create and edit), on top of record_form's logic.

Saves through ObjectQL with the user's context and the version the form was loaded with.
Server errors land on the fields they belong to plus a summary; a stale version shows a
"changed by someone else" banner whose Reload keeps the user's values as hints; leaving
with unsaved changes asks first (app links, Cancel, and the browser's beforeunload).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from app.metadata.models import ObjectDef
from app.objectql.context import Context
from app.objectql.errors import NotFound, ObjectQLError, PermissionDenied
from app.objectql.service import ObjectQL
from components.field_format import format_value
from components.field_widgets import (
    FieldWidget,
    build_field,
    lookup_expand,
    name_fields,
    record_name,
)
from components.live import announce, notify
from components.record_form import FormState, SectionSpec, from_form_value, is_stale

CARD = ("w-full shadow-none border border-slate-200 dark:border-slate-800 "
        "bg-[#fff] dark:bg-slate-900 p-4 gap-3")

_GUARD_JS = """
if (!window.__hotcrmGuard) {
  window.__hotcrmGuard = true;
  window.addEventListener('beforeunload', (e) => {
    if (window.__hotcrmDirty) { e.preventDefault(); e.returnValue = ''; }
  });
  document.addEventListener('click', (e) => {
    if (!window.__hotcrmDirty || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || a.target === '_blank') return;
    const href = a.getAttribute('href') || '';
    if (!href.startsWith('/') || href.startsWith('//')) return;
    e.preventDefault(); e.stopPropagation();
    emitEvent('hotcrm_leave', href);
  }, true);
}
"""


def set_dirty_flag(dirty: bool) -> None:
    ui.run_javascript(f"window.__hotcrmDirty = {'true' if dirty else 'false'};")


def install_leave_guard() -> None:
    """Once per page: unsaved changes make app links and the browser ask before leaving."""
    ui.run_javascript(_GUARD_JS)

    def leave(href: str) -> None:
        set_dirty_flag(False)
        ui.navigate.to(href)

    def on_leave(e: Any) -> None:
        href = e.args[0] if isinstance(e.args, list) and e.args else e.args
        if isinstance(href, str) and href.startswith("/") and not href.startswith("//"):
            confirm_discard(lambda: leave(href))

    ui.on("hotcrm_leave", on_leave)


def confirm_discard(on_discard: Callable[[], None]) -> None:
    with ui.dialog() as dialog, ui.card().classes("p-5 gap-3 min-w-80").props(
            'data-testid="discard-dialog"'):
        dialog.props["aria-label"] = "Discard unsaved changes?"
        ui.label("Discard unsaved changes?").classes("text-base font-medium")
        ui.label("Your changes to this record have not been saved.").classes(
            "text-sm text-slate-600 dark:text-slate-300")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Keep editing", on_click=dialog.close).props(
                'flat no-caps autofocus data-testid="keep-editing"')

            def discard() -> None:
                dialog.close()
                on_discard()

            ui.button("Discard changes", on_click=discard).props(
                'unelevated no-caps color=negative data-testid="confirm-discard"')
    dialog.open()


def lookup_labels(ql: ObjectQL, obj: ObjectDef, record: dict[str, Any]) -> dict[str, str]:
    """{field: name of the related record} from a record read with `lookup_expand`."""
    labels = {}
    for name, value in record.items():
        fd = obj.field(name)
        if fd is not None and fd.is_lookup and isinstance(value, dict):
            labels[name] = record_name(ql.registry[fd.reference_to or ""], value)
    return labels


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """Expanded lookups ({id, name}) back to their ids."""
    return {k: v.get("id") if isinstance(v, dict) else v for k, v in record.items()}


class RecordEditor:
    def __init__(self, ql: ObjectQL, ctx: Context, obj: ObjectDef, state: FormState, *,
                 labels: dict[str, str], on_saved: Callable[[dict[str, Any]], None],
                 on_cancel: Callable[[], None],
                 on_reload: Callable[[dict[str, Any]], None] | None = None):
        self.ql, self.ctx, self.obj, self.state = ql, ctx, obj, state
        self.labels = labels
        self.on_saved, self.on_cancel, self.on_reload = on_saved, on_cancel, on_reload
        self.widgets: dict[str, FieldWidget] = {}
        self.cards: dict[str, ui.element] = {}
        self._dirty = False
        self._saving = False

    # -- building ----------------------------------------------------------------------------
    def render(self) -> None:
        self.conflict_box = ui.row().classes(
            "w-full items-center gap-3 rounded-md border border-amber-300 bg-amber-50 "
            "dark:bg-amber-950 dark:border-amber-800 px-4 py-3 no-wrap").props(
            'role=alert data-testid="conflict-banner"')
        self.conflict_box.set_visibility(False)
        self.summary_box = ui.column().classes(
            "w-full gap-1 rounded-md border border-red-200 bg-red-50 dark:bg-red-950 "
            "dark:border-red-900 px-4 py-3 text-sm text-red-800 dark:text-red-200").props(
            'data-testid="form-errors"')  # read out politely by announce()
        self.summary_box.set_visibility(False)
        for section in self.state.sections:
            self._section(section)
        self.apply_visibility()

    def _section(self, section: SectionSpec) -> None:
        with ui.card().classes(CARD).props(f'data-testid="section-{section.slug}"') as card:
            ui.label(section.label).classes(
                "text-sm font-semibold text-slate-700 dark:text-slate-200")
            columns = "grid-cols-1 md:grid-cols-2" if section.columns == 2 else "grid-cols-1"
            with ui.element("div").classes(f"grid {columns} gap-x-6 gap-y-3 w-full"):
                for spec in section.fields:
                    self.widgets[spec.name] = build_field(
                        self.ql, self.ctx, spec, self.state.values.get(spec.name),
                        on_change=self.changed, stored=self.state.record.get(spec.name),
                        lookup_label=self.labels.get(spec.name))
        self.cards[section.slug] = card

    # -- live behaviour ----------------------------------------------------------------------
    def changed(self, name: str, value: Any) -> None:
        self.state.set(name, value)
        widget = self.widgets.get(name)
        if widget is not None:
            widget.set_error(None)
            if isinstance(value, str) and widget.extra.get("labels", {}).get(value):
                self.labels[name] = widget.extra["labels"][value]
        self.apply_visibility()
        self.sync_dirty()

    def apply_visibility(self) -> None:
        fields, sections = self.state.visibility()
        for slug, card in self.cards.items():
            card.set_visibility(sections.get(slug, True))
        for name, widget in self.widgets.items():
            widget.wrapper.set_visibility(fields.get(name, True))

    def sync_dirty(self) -> None:
        dirty = self.state.is_dirty
        if dirty != self._dirty:
            self._dirty = dirty
            set_dirty_flag(dirty)

    def clear_dirty(self) -> None:
        self._dirty = False
        set_dirty_flag(False)

    # -- actions -----------------------------------------------------------------------------
    def cancel(self) -> None:
        if self.state.is_dirty:
            confirm_discard(self._discard)
        else:
            self._discard()

    def _discard(self) -> None:
        self.clear_dirty()
        self.on_cancel()

    def save(self) -> None:
        if self._saving:
            return
        payload = self.state.payload()
        if not self.state.creating and not payload:
            self.clear_dirty()
            self.on_saved(self.state.record)
            return
        self._saving = True
        try:
            if self.state.creating:
                record = self.ql.insert(self.ctx, self.obj.name, payload)
            else:
                record = self.ql.update(self.ctx, self.obj.name, self.state.record["id"],
                                        payload, expected_version=self.state.version)
        except ObjectQLError as exc:
            self._failed(exc)
            return
        finally:
            self._saving = False
        self.clear_dirty()
        self.on_saved(record)

    def _failed(self, exc: ObjectQLError) -> None:
        if is_stale(exc):
            self._show_conflict()
            return
        summary = self.state.apply_error(exc)
        for name, widget in self.widgets.items():
            widget.set_error(self.state.errors.get(name))
        if isinstance(exc, PermissionDenied):
            notify(exc.message, type="negative")
        elif isinstance(exc, NotFound):
            notify(f"This {self.obj.label.lower()} no longer exists or is no longer "
                      "visible to you.", type="negative")
        self._show_summary(summary)

    def _show_summary(self, messages: list[str]) -> None:
        self.summary_box.clear()
        with self.summary_box:
            title = "Please fix this problem:" if len(messages) == 1 else \
                f"Please fix these {len(messages)} problems:"
            ui.label(title).classes("font-medium")
            for message in messages:
                ui.label(f"• {message}")
        self.summary_box.set_visibility(True)
        announce(" ".join(["Not saved.", title, *messages]))

    def _show_conflict(self, by: str = "someone else") -> None:
        self.summary_box.set_visibility(False)
        self.conflict_box.clear()
        with self.conflict_box:
            ui.icon("sync_problem", size="1.4rem").classes("text-amber-600")
            with ui.column().classes("gap-0 grow"):
                ui.label(f"This {self.obj.label.lower()} was changed by {by} while "
                         "you were editing.").classes("font-medium text-amber-900 "
                                                      "dark:text-amber-100")
                ui.label("Reload to see their changes; your unsaved values stay in the "
                         "form.").classes("text-sm text-amber-800 dark:text-amber-200")
            ui.button("Reload", icon="refresh", on_click=self.reload).props(
                'unelevated no-caps color=amber-8 data-testid="conflict-reload"')
        self.conflict_box.set_visibility(True)

    def changed_elsewhere(self, by: str) -> None:
        """A save made elsewhere while this form is open: say so, touch nothing typed."""
        self._show_conflict(by)
        announce(f"This {self.obj.label.lower()} was changed by {by}. Reload to see their "
                 "changes; your unsaved values stay in the form.")

    def reload(self) -> None:
        names = [*self.state.specs, "version", "owner"]
        try:
            current = self.ql.get(self.ctx, self.obj.name, self.state.record["id"],
                                  fields=[n for n in dict.fromkeys(names)
                                          if n in self.ql.readable_fields(self.ctx, self.obj)],
                                  expand=lookup_expand(self.ql, self.obj, names))
        except ObjectQLError as exc:
            notify(exc.message, type="negative")
            return
        fresh_labels = lookup_labels(self.ql, self.obj, current)
        for name, label in fresh_labels.items():
            if name in self.widgets:
                self.widgets[name].extra.setdefault("labels", {})[current[name]["id"]] = label
        yours = self.state.rebase(flatten(current))
        for name, widget in self.widgets.items():
            if widget.spec.editable:
                widget.set_value(self.state.values.get(name))
            elif widget.spec.fd.value_type != "boolean":
                widget.control.set_value(fresh_labels.get(name) or format_value(
                    widget.spec.fd, self.state.record.get(name)))
            widget.set_error(None)
            widget.show_yours(self._describe(name, yours[name]) if name in yours else None,
                              (lambda n=name: self._use_mine(n)) if name in yours else None)
        self.conflict_box.set_visibility(False)
        self.summary_box.set_visibility(False)
        self.apply_visibility()
        self._dirty = not self.state.is_dirty  # force the flag to be sent again
        self.sync_dirty()
        if self.on_reload is not None:
            self.on_reload(current)
        notify("Reloaded the latest version." + (
            " Your own value is shown under the field it belongs to." if len(yours) == 1 else
            f" Your own values are shown under {len(yours)} fields." if yours else ""),
            type="info")

    def _use_mine(self, name: str) -> None:
        value = self.state.use_mine(name)
        widget = self.widgets[name]
        widget.set_value(value)
        widget.show_yours(None)
        self.apply_visibility()
        self.sync_dirty()

    def _describe(self, name: str, value: Any) -> str:
        widget = self.widgets[name]
        fd = widget.spec.fd
        if fd.is_lookup:
            return str(widget.extra.get("labels", {}).get(value) or value or "(empty)")
        return format_value(fd, from_form_value(fd, value)) or "(empty)"


__all__ = ["RecordEditor", "confirm_discard", "flatten", "install_leave_guard",
           "lookup_expand", "lookup_labels", "name_fields"]
