"""The AI briefing card on the account page.

The stored briefing shows at once (marked stale when the data changed); without one, a new
briefing is generated and its summary streams in as it is written, then the structured
parts appear: next steps (each one click from a task, created through ObjectQL), talking
points, sentiment, engagement gauge and risks; the footer says what it is based on, who
wrote it and when, with Regenerate and thumbs up/down. Leaving the page cancels the stream.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from typing import Any

from nicegui import background_tasks, run, ui

from app import runtime
from app.ai.schema import Briefing, NextStep
from app.ai.service import BriefingService, Job, RateLimited, briefing_service
from app.objectql.context import Context
from app.objectql.errors import NotFound, ObjectQLError
from app.objectql.service import ObjectQL

log = logging.getLogger(__name__)
CARD = ("w-full shadow-none border border-violet-200 dark:border-violet-900/60 "
        "bg-[#fff] dark:bg-slate-900 p-4 gap-3")
SENTIMENT = {
    "positive": ("sentiment_satisfied", "bg-emerald-100 text-emerald-800 "
                 "dark:bg-emerald-900/50 dark:text-emerald-200"),
    "neutral": ("sentiment_neutral", "bg-slate-100 text-slate-700 "
                "dark:bg-slate-800 dark:text-slate-200"),
    "negative": ("sentiment_dissatisfied", "bg-red-100 text-red-800 "
                 "dark:bg-red-900/50 dark:text-red-200"),
    "mixed": ("sentiment_content", "bg-amber-100 text-amber-800 "
              "dark:bg-amber-900/50 dark:text-amber-200"),
}
NOTICE = {"info": "bg-sky-50 text-sky-900 dark:bg-sky-950 dark:text-sky-100",
          "warning": "bg-amber-50 text-amber-900 dark:bg-amber-950 dark:text-amber-100",
          "error": "bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-100"}
MUTED = "text-xs text-slate-500 dark:text-slate-400"
HEADING = "text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400"


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def gauge_color(score: int) -> str:
    return "positive" if score >= 70 else "warning" if score >= 40 else "negative"


def generated_label(iso: str) -> str:
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return when.strftime("%b %d, %H:%M UTC").replace(" 0", " ")


def task_values(step: NextStep, account_id: str, today: date) -> dict[str, Any]:
    """The activity a next step becomes: a planned task on the account (and on the deal or
    contact the step is about)."""
    values: dict[str, Any] = {
        "subject": step.text if len(step.text) <= 200 else step.text[:199] + "…",
        "type": "task", "status": "planned", "priority": step.priority,
        "due_date": (today + timedelta(days=step.due_in_days)).isoformat(),
        "account": account_id, "description": "From the AI briefing."}
    if step.record is not None and step.record.object in ("opportunity", "contact"):
        values[step.record.object] = step.record.id
    return values


class BriefingCard:
    def __init__(self, ql: ObjectQL, ctx: Context, account_id: str,
                 service: BriefingService | None = None):
        self.ql, self.ctx, self.account_id = ql, ctx, account_id
        self.service = service or briefing_service(runtime.services())
        self.task: asyncio.Task[Any] | None = None
        self.briefing: Briefing | None = None

    # -- layout ------------------------------------------------------------------------------
    def render(self) -> None:
        with ui.card().classes(CARD).props('data-testid="ai-briefing"') as self.card:
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.icon("auto_awesome", size="1.3rem").classes("text-violet-500 shrink-0")
                ui.label("AI briefing").classes(
                    "text-sm font-semibold text-slate-800 dark:text-slate-100")
                self.status = ui.label().classes(MUTED + " truncate").props(
                    'data-testid="briefing-status" aria-live="polite"')
                ui.space()
                self.chip_box = ui.row().classes("items-center gap-2 shrink-0")
            self.notice_box = ui.column().classes("w-full gap-2")
            with ui.row().classes("w-full items-start gap-4 no-wrap max-sm:flex-wrap"):
                with ui.column().classes("grow min-w-0 gap-1"):
                    self.summary = ui.label().classes(
                        "text-sm leading-relaxed text-slate-800 dark:text-slate-100 "
                        "whitespace-pre-line").props(
                        # Polite and busy while it streams: a screen reader reads the
                        # summary once when it is written, not every few words.
                        'data-testid="briefing-summary" aria-live="polite" aria-busy="false"')
                    self.skeleton = ui.column().classes("w-full gap-2")
                self.gauge_box = ui.column().classes("items-center gap-0 shrink-0")
            self.body = ui.column().classes("w-full gap-3")
            self.footer = ui.row().classes("w-full items-center gap-x-3 gap-y-1 "
                                           "border-t border-slate-100 dark:border-slate-800 "
                                           "pt-2")
        client = ui.context.client
        client.on_delete(self.cancel)
        ui.timer(0.01, self.start, once=True)

    def _loading(self, text: str) -> None:
        self.status.set_text(text)
        self.skeleton.clear()
        with self.skeleton:
            for width in ("w-full", "w-11/12", "w-3/4"):
                ui.skeleton("text").classes(f"{width} text-sm").props("animation=pulse")

    def _notice(self, text: str, kind: str = "info", *, action: str | None = None,
                testid: str = "briefing-notice") -> None:
        self.notice_box.clear()
        with self.notice_box, ui.row().classes(
                f"w-full items-center gap-2 rounded px-3 py-2 text-sm {NOTICE[kind]}").props(
                f'role={"alert" if kind == "error" else "status"} data-testid="{testid}"'):
            ui.icon({"info": "info", "warning": "history", "error": "error"}[kind],
                    size="1.1rem").classes("shrink-0")
            ui.label(text).classes("grow min-w-0")
            if action:
                ui.button(action, on_click=lambda: self.start(regenerate=True)).props(
                    'flat dense no-caps size=sm data-testid="briefing-notice-action"')

    # -- loading and streaming -------------------------------------------------------------
    async def start(self, regenerate: bool = False) -> None:
        self.cancel()
        self.notice_box.clear()
        self._loading("Reading this account …")
        try:
            job = await run.io_bound(self.service.prepare, self.ctx, self.account_id)
            stored = None if regenerate else await run.io_bound(self.service.stored, job)
            if stored is not None:
                self.show(stored)
                if stored.metadata.stale:
                    self._notice("This account changed since the briefing was written.",
                                 "warning", action="Regenerate", testid="briefing-stale")
                return
            await run.io_bound(self.service.check_rate, self.ctx)
        except NotFound:
            self._failed("This account is no longer visible to you.")
            return
        except RateLimited as exc:
            self._failed(f"Too many briefings in a short time; try again in "
                         f"{exc.retry_after} s.", retry=False)
            return
        except Exception:  # never a stack trace in the card
            log.exception("briefing failed to load")
            self._failed("The briefing could not be loaded.")
            return
        self.task = background_tasks.create(self._stream(job), name="ai-briefing")

    async def _stream(self, job: Job) -> None:
        self.summary.set_text("")
        self.body.clear()
        self.footer.clear()
        self.chip_box.clear()
        self.gauge_box.clear()
        self.status.set_text("Writing …")
        self.summary.props('aria-busy="true"')
        try:
            async for event in self.service.run(job):
                if event.kind == "delta":
                    if self.skeleton.default_slot.children:
                        self.skeleton.clear()
                    self.summary.set_text(self.summary.text + event.text)
                elif event.kind == "notice":
                    self.summary.set_text("")
                    self._notice(event.text, "info", testid="briefing-fallback")
                elif event.briefing is not None:
                    self.show(event.briefing)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("briefing stream failed")
            self._failed("The briefing could not be generated.")
        finally:
            self.summary.props('aria-busy="false"')

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.task = None

    def _failed(self, text: str, *, retry: bool = True) -> None:
        self.skeleton.clear()
        self.status.set_text("")
        self._notice(text, "error", action="Try again" if retry else None,
                     testid="briefing-error")

    # -- the finished briefing -------------------------------------------------------------
    def show(self, briefing: Briefing) -> None:
        self.briefing = briefing
        self.skeleton.clear()
        meta = briefing.metadata
        self.status.set_text("Stored briefing" if meta.cached else "")
        self.summary.set_text(briefing.summary)
        self.chip_box.clear()
        with self.chip_box:
            icon, colors = SENTIMENT[briefing.sentiment]
            with ui.row().classes(f"items-center gap-1 rounded-full px-2 py-0.5 text-xs "
                                  f"font-medium {colors}").props(
                    f'data-testid="briefing-sentiment" data-value="{briefing.sentiment}"'):
                ui.icon(icon, size="1rem")
                ui.label(briefing.sentiment.capitalize())
        self.gauge_box.clear()
        with self.gauge_box:
            ui.circular_progress(briefing.engagement_score, max=100, size="3.6rem",
                                 color=gauge_color(briefing.engagement_score)).props(
                'show-value track-color=grey-3 thickness=0.18 font-size=0.8rem '
                f'data-testid="briefing-engagement" aria-label="Engagement '
                f'{briefing.engagement_score} of 100"')
            ui.label("Engagement").classes(MUTED)
        self.body.clear()
        with self.body, ui.element("div").classes(
                "grid grid-cols-1 md:grid-cols-2 gap-x-6 gap-y-3 w-full"):
            with ui.column().classes("gap-1 min-w-0").props('data-testid="briefing-steps"'):
                ui.label("Next steps").classes(HEADING)
                for step in briefing.next_steps:
                    self._step(step)
            with ui.column().classes("gap-1 min-w-0").props('data-testid="briefing-points"'):
                ui.label("Talking points").classes(HEADING)
                for point in briefing.talking_points:
                    with ui.row().classes("gap-2 no-wrap items-start"):
                        ui.icon("chat_bubble_outline", size="0.95rem").classes(
                            "text-violet-500 mt-0.5 shrink-0")
                        ui.label(point).classes("text-sm text-slate-700 dark:text-slate-200")
            if briefing.risks:
                with ui.column().classes("gap-1 min-w-0 md:col-span-2").props(
                        'data-testid="briefing-risks"'):
                    ui.label("Risks").classes(HEADING)
                    for risk in briefing.risks:
                        with ui.row().classes("gap-2 no-wrap items-start"):
                            ui.icon("warning_amber", size="0.95rem").classes(
                                "text-amber-600 mt-0.5 shrink-0")
                            ui.label(risk).classes("text-sm text-slate-700 "
                                                   "dark:text-slate-200")
        self._footer(briefing)

    def _step(self, step: NextStep) -> None:
        with ui.row().classes("w-full gap-1 no-wrap items-start").props(
                'data-testid="briefing-step"'):
            box = ui.checkbox().props("dense size=sm").classes("mt-0.5")
            box.props(f'aria-label="Done: {_attr(step.text)}"')
            with ui.column().classes("gap-0 grow min-w-0"):
                text = ui.label(step.text).classes("text-sm text-slate-800 dark:text-slate-100")
                box.on_value_change(lambda e: text.classes(
                    add="line-through opacity-60" if e.value else "",
                    remove="" if e.value else "line-through opacity-60"))
                if step.record is not None and step.record.object != "account":
                    ui.link(step.record.name or step.record.object,
                            f"/o/{step.record.object}/{step.record.id}").classes(
                        "text-xs text-indigo-600 dark:text-indigo-300 no-underline "
                        "hover:underline truncate")
            button = ui.button(icon="add_task").props(
                'flat dense round size=sm color=primary aria-label="Create a task" '
                'data-testid="briefing-step-task"').tooltip("Create a task")
            button.on_click(lambda: self._create_task(step, button, box))

    async def _create_task(self, step: NextStep, button: ui.button, box: ui.checkbox) -> None:
        button.disable()
        values = task_values(step, self.account_id, self.ql.today())
        try:
            record = await run.io_bound(self.ql.insert, self.ctx, "activity", values)
        except ObjectQLError as exc:
            button.enable()
            ui.notify(f"The task could not be created: {exc.message}", type="negative")
            return
        button.props("icon=task_alt color=positive")
        button.tooltip("Task created")
        box.set_value(True)
        ui.notify("Task created", type="positive", timeout=1500)
        log.debug("task %s from briefing step", record.get("id"))

    def _footer(self, briefing: Briefing) -> None:
        meta = briefing.metadata
        self.footer.clear()
        with self.footer:
            basis = (f"Based on {plural(meta.activities_analyzed, 'activity', 'activities')}"
                     f" and {plural(meta.emails_analyzed, 'email', 'emails')}")
            if meta.last_activity_date:
                basis += f", last touch {meta.last_activity_date}"
                days = meta.days_since_last_touch
                if days is not None:
                    basis += " (today)" if days == 0 else f" ({plural(days, 'day', 'days')} ago)"
            if meta.truncated:
                basis += " (older items left out)"
            ui.label(basis).classes(MUTED).props('data-testid="briefing-basis"')
            who = f"{meta.provider} · {meta.model}"
            if meta.input_tokens or meta.output_tokens:
                who += f" · {meta.input_tokens:,} → {meta.output_tokens:,} tokens"
            ui.label(who).classes(MUTED).props('data-testid="briefing-provider"')
            ui.label(f"Generated {generated_label(meta.generated_at)}").classes(MUTED)
            if meta.ungrounded:
                ui.label(f"{meta.ungrounded} unsupported statement"
                         f"{'s' if meta.ungrounded != 1 else ''} removed").classes(
                    MUTED).props('data-testid="briefing-ungrounded"')
            ui.space()
            self._feedback_buttons(meta.id, meta.feedback)
            ui.button("Regenerate", icon="refresh",
                      on_click=lambda: self.start(regenerate=True)).props(
                'flat dense no-caps size=sm color=primary data-testid="briefing-regenerate"')

    def _feedback_buttons(self, briefing_id: str | None, current: str | None) -> None:
        if briefing_id is None:
            return
        buttons: dict[str, ui.button] = {}

        async def rate(value: str) -> None:
            new = None if current_value["v"] == value else value
            try:
                await run.io_bound(self.service.store.feedback, self.ctx, briefing_id, new)
            except NotFound:
                return
            current_value["v"] = new
            for name, button in buttons.items():
                button.props(f"color={'primary' if name == new else 'grey-6'}")
            ui.notify("Thanks for the feedback", timeout=1200)

        current_value: dict[str, str | None] = {"v": current}
        for value, icon, label in (("up", "thumb_up", "Helpful"),
                                   ("down", "thumb_down", "Not helpful")):
            buttons[value] = ui.button(icon=icon, on_click=lambda v=value: rate(v)).props(
                f'flat dense round size=sm color={"primary" if current == value else "grey-6"} '
                f'aria-label="{label}" data-testid="briefing-feedback-{value}"').tooltip(label)


def briefing_card(ql: ObjectQL, ctx: Context, account_id: str) -> BriefingCard:
    card = BriefingCard(ql, ctx, account_id)
    card.render()
    return card


def _attr(text: str) -> str:
    """Text made safe inside a double-quoted HTML attribute of a prop string."""
    return text.replace("&", "&amp;").replace('"', "&quot;")[:200]
