"""The smart briefing, end to end: context → provider stream → schema → grounding → store.

`BriefingService.prepare` (blocking: database reads) raises NotFound for a hidden account
before anything streams; `BriefingService.run` is the async stream of events the API (JSON
or SSE) and the account page consume. A failing model never reaches the user as an error:
the offline engine's briefing takes its place with a notice saying why.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from limits import parse as parse_rate
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.ai.assembly import build_context
from app.ai.context import BriefingContext, Limits
from app.ai.grounding import ground
from app.ai.industries import load_playbook
from app.ai.providers.base import Delta, Final, Provider, ProviderError
from app.ai.providers.offline import OfflineProvider, analyse
from app.ai.schema import Answer, Briefing, Metadata
from app.ai.store import BriefingStore
from app.objectql.context import Context
from app.objectql.service import ObjectQL

log = logging.getLogger(__name__)
DEFAULT_MODEL = "claude-sonnet-4-5"


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


def _float_env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


@dataclass(frozen=True)
class AiSettings:
    provider: str = "auto"
    model: str = DEFAULT_MODEL
    api_key: str = ""
    base_url: str = ""
    timeout: float = 20.0       # seconds to wait for any byte of the answer
    max_tokens: int = 1500
    rate: str = "10/minute"     # new briefings per user
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls) -> AiSettings:
        return cls(provider=os.environ.get("HOTCRM_AI_PROVIDER", "auto").strip() or "auto",
                   model=os.environ.get("HOTCRM_AI_MODEL", "").strip() or DEFAULT_MODEL,
                   api_key=os.environ.get("ANTHROPIC_API_KEY", "").strip(),
                   base_url=os.environ.get("ANTHROPIC_BASE_URL", "").strip(),
                   timeout=_float_env("HOTCRM_AI_TIMEOUT", 20.0),
                   max_tokens=_int_env("HOTCRM_AI_MAX_TOKENS", 1500),
                   rate=os.environ.get("HOTCRM_AI_RATE_LIMIT", "").strip() or "10/minute",
                   limits=Limits(activities=_int_env("HOTCRM_AI_ACTIVITIES", 20),
                                 emails=_int_env("HOTCRM_AI_EMAILS", 10),
                                 token_budget=_int_env("HOTCRM_AI_CONTEXT_TOKENS", 6000)))

    @property
    def uses_anthropic(self) -> bool:
        return self.provider == "anthropic" or (self.provider == "auto" and bool(self.api_key))


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many briefings; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Job:
    """One briefing request: who, which account, and the context read for them."""

    ctx: Context
    account_id: str
    context: BriefingContext
    fingerprint: str
    started: float


@dataclass(frozen=True)
class Event:
    kind: str  # delta | notice | briefing
    text: str = ""
    briefing: Briefing | None = None


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class BriefingService:
    def __init__(self, ql: ObjectQL, metadata_dir: Path, settings: AiSettings | None = None,
                 *, rate_storage: str = "memory://"):
        self.ql = ql
        self.metadata_dir = Path(metadata_dir)
        self.settings = settings or AiSettings.from_env()
        self.store = BriefingStore(ql)
        self._limiter = MovingWindowRateLimiter(storage_from_string(rate_storage))
        self._rate = parse_rate(self.settings.rate)
        self._provider: Provider | None = None

    # -- providers --------------------------------------------------------------------------
    def provider(self) -> Provider:
        if self._provider is None:
            if self.settings.uses_anthropic:
                from app.ai.providers.anthropic import AnthropicProvider

                self._provider = AnthropicProvider(self.settings)
            else:
                self._provider = OfflineProvider()
        return self._provider

    # -- blocking steps (run them in a thread from async code) -------------------------------
    def prepare(self, ctx: Context, account_id: str) -> Job:
        """Read the context as `ctx`; NotFound when the account is hidden or missing."""
        started = time.perf_counter()
        context = build_context(self.ql, ctx, account_id, load_playbook(self.metadata_dir),
                                limits=self.settings.limits)
        return Job(ctx, account_id, context, context.fingerprint(), started)

    def stored(self, job: Job) -> Briefing | None:
        """The user's latest briefing for the account, marked stale if the data changed."""
        return self.store.latest(job.ctx, job.account_id, job.fingerprint)

    def check_rate(self, ctx: Context) -> None:
        key = ctx.user_id or "anonymous"
        if not self._limiter.hit(self._rate, "ai_briefing", key):
            stats = self._limiter.get_window_stats(self._rate, "ai_briefing", key)
            raise RateLimited(max(1, int(stats.reset_time - time.time()) + 1))

    # -- the stream -------------------------------------------------------------------------
    async def run(self, job: Job) -> AsyncIterator[Event]:
        """Deltas of the summary, perhaps a notice (fallback), then the briefing (stored)."""
        context = job.context
        provider = self.provider()
        if provider.name == "offline":
            async for event in self._finish(job, provider, None):
                yield event
            return
        # The offline answer (for grounding refills and fallback) is computed while the
        # model starts, not before: it must not delay the first streamed word.
        offline_task = asyncio.ensure_future(asyncio.to_thread(analyse, context))
        try:
            async for event in self._finish(job, provider, offline_task):
                yield event
        finally:
            offline_task.cancel()

    async def _finish(self, job: Job, provider: Provider,
                      offline_task: asyncio.Future[Answer] | None) -> AsyncIterator[Event]:
        context = job.context
        answer: Answer | None = None
        fallback_reason: str | None = None
        tokens = (0, 0)
        provider_name, model = provider.name, provider.model
        try:
            async for event in provider.stream(context):
                if isinstance(event, Delta):
                    yield Event("delta", event.text)
                elif isinstance(event, Final):
                    answer, tokens = event.answer, (event.input_tokens, event.output_tokens)
            if answer is None:
                raise ProviderError("the answer ended without a briefing", kind="malformed")
        except ProviderError as exc:
            log.warning("AI provider %s failed (%s): %s [%r]", provider.name, exc.kind,
                        exc.reason, exc.__cause__)
            fallback_reason = exc.reason
            yield Event("notice", f"The AI model could not answer ({exc.reason}); "
                                  "this is the offline briefing.")
            offline_provider = OfflineProvider()
            async for event in offline_provider.stream(context):
                if isinstance(event, Delta):
                    yield Event("delta", event.text)
            answer = None
            provider_name, model = offline_provider.name, offline_provider.model
        report = None
        if provider_name == "offline":
            grounded = answer if answer is not None else await self._offline(offline_task,
                                                                            context)
        else:
            assert answer is not None
            grounded, report = ground(answer, context,
                                      await self._offline(offline_task, context))
        if report and report.dropped:  # never shown: the operator may want to see them
            log.info("briefing for %s: dropped %d ungrounded statements: %s",
                     job.account_id, len(report.dropped), report.dropped[:5])
        touch = context.last_touch
        metadata = Metadata(
            activities_analyzed=len(context.activities), emails_analyzed=len(context.emails),
            last_activity_date=touch.isoformat() if touch else None,
            days_since_last_touch=context.days_since_touch, generated_at=now_iso(),
            provider=provider_name, model=model, input_tokens=tokens[0],
            output_tokens=tokens[1], truncated=context.truncated,
            ungrounded=len(report.dropped) if report else 0,
            fallback_reason=fallback_reason,
            duration_ms=round((time.perf_counter() - job.started) * 1000),
            fingerprint=job.fingerprint)
        briefing = Briefing(**grounded.model_dump(), metadata=metadata)
        briefing = await asyncio.to_thread(self.store.save, job.ctx, job.account_id, briefing)
        yield Event("briefing", briefing=briefing)

    @staticmethod
    async def _offline(task: asyncio.Future[Answer] | None, context: BriefingContext
                       ) -> Answer:
        return await task if task is not None else await asyncio.to_thread(analyse, context)

    async def generate(self, ctx: Context, account_id: str) -> Briefing:
        """The whole briefing without streaming (blocking reads run in a thread)."""
        job = await asyncio.to_thread(self.prepare, ctx, account_id)
        result = None
        async for event in self.run(job):
            if event.briefing is not None:
                result = event.briefing
        assert result is not None
        return result


def briefing_service(services: Any) -> BriefingService:
    """The process's one BriefingService, created on first use."""
    existing = getattr(services, "_briefings", None)
    if existing is None:
        existing = BriefingService(services.ql, services.settings.metadata_dir,
                                   rate_storage=services.settings.redis_url or "memory://")
        services._briefings = existing
    return existing
