"""Stored briefings: one user's latest briefing per account, its context fingerprint (so a
change in the data marks it stale), cost, timing and the user's thumbs up/down.

Briefings are per user because each is built only from what that user may see; a user
can read and rate only their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from app.ai.schema import Briefing
from app.objectql.context import Context
from app.objectql.errors import NotFound
from app.objectql.service import ObjectQL
from app.storage.ids import new_id
from app.storage.system_tables import AiBriefing

TABLE = AiBriefing.__table__  # type: ignore[attr-defined]
KEEP_PER_ACCOUNT = 5


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class BriefingStore:
    def __init__(self, ql: ObjectQL):
        self.ql = ql

    def save(self, ctx: Context, account_id: str, briefing: Briefing) -> Briefing:
        """Store the briefing (its metadata gets the id) and keep only the newest few."""
        briefing_id = new_id()
        meta = briefing.metadata.model_copy(update={"id": briefing_id, "stale": False,
                                                    "cached": False, "feedback": None})
        briefing = briefing.model_copy(update={"metadata": meta})
        m = briefing.metadata
        with self.ql.engine.begin() as conn:
            conn.execute(insert(TABLE).values(
                id=briefing_id, account_id=account_id, user_id=ctx.user_id,
                fingerprint=m.fingerprint, provider=m.provider, model=m.model,
                input_tokens=m.input_tokens, output_tokens=m.output_tokens,
                duration_ms=m.duration_ms, fallback_reason=m.fallback_reason,
                created_at=_now(), briefing=briefing.to_json()))
            old = select(TABLE.c.id).where(
                TABLE.c.account_id == account_id, TABLE.c.user_id == ctx.user_id
            ).order_by(TABLE.c.created_at.desc(), TABLE.c.id.desc()).offset(KEEP_PER_ACCOUNT)
            stale_ids = [row.id for row in conn.execute(old)]
            if stale_ids:
                conn.execute(delete(TABLE).where(TABLE.c.id.in_(stale_ids)))
        return briefing

    def latest(self, ctx: Context, account_id: str, fingerprint: str | None
               ) -> Briefing | None:
        """The user's newest briefing for the account; `stale` when the data changed."""
        with self.ql.engine.connect() as conn:
            row = conn.execute(select(TABLE).where(
                TABLE.c.account_id == account_id, TABLE.c.user_id == ctx.user_id
            ).order_by(TABLE.c.created_at.desc(), TABLE.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return self._briefing(row._mapping, fingerprint)

    @staticmethod
    def _briefing(row: Any, fingerprint: str | None) -> Briefing | None:
        try:
            briefing = Briefing.model_validate(row["briefing"])
        except ValueError:
            return None  # written by an older schema: generate a new one
        meta = briefing.metadata.model_copy(update={
            "id": row["id"], "cached": True, "feedback": row["feedback"],
            "stale": fingerprint is not None and row["fingerprint"] != fingerprint})
        return briefing.model_copy(update={"metadata": meta})

    def feedback(self, ctx: Context, briefing_id: str, value: str | None) -> None:
        """Thumbs up/down (or None to clear) on one of the user's own briefings."""
        with self.ql.engine.begin() as conn:
            done = conn.execute(update(TABLE).where(
                TABLE.c.id == briefing_id, TABLE.c.user_id == ctx.user_id
            ).values(feedback=value, feedback_at=_now())).rowcount
        if not done:
            raise NotFound(f"briefing '{briefing_id}' not found")

    def usage(self, since: datetime) -> list[dict[str, Any]]:
        """Tokens per user and provider since `since`: what the operator pays for."""
        from sqlalchemy import func

        stmt = select(TABLE.c.user_id, TABLE.c.provider, func.count().label("briefings"),
                      func.sum(TABLE.c.input_tokens).label("input_tokens"),
                      func.sum(TABLE.c.output_tokens).label("output_tokens")
                      ).where(TABLE.c.created_at >= since).group_by(TABLE.c.user_id,
                                                                     TABLE.c.provider)
        with self.ql.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]
