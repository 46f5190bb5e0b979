"""System tables that are not business objects, declared with SQLModel."""

from __future__ import annotations

from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_record", "object", "record_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    object: str = Field(max_length=64)
    record_id: str = Field(max_length=32)
    action: str = Field(max_length=16)  # insert | update | delete | login | login_failed
    user_id: str | None = Field(default=None, max_length=32, index=True)
    # What made the change on the user's behalf with more rights than the user's own
    # (e.g. "trigger:opportunity.book_won_deal"); null for the user's own changes.
    via: str | None = Field(default=None, max_length=64)
    at: NaiveDatetime = Field(index=True)
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class MetadataVersion(SQLModel, table=True):
    __tablename__ = "metadata_version"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, index=True)
    loaded_at: NaiveDatetime
    loaded_by: str | None = Field(default=None, max_length=32)
    objects: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class AutonumberCounter(SQLModel, table=True):
    __tablename__ = "autonumber_counter"

    object: str = Field(primary_key=True, max_length=64)
    field: str = Field(primary_key=True, max_length=64)
    value: int = 0


class Credential(SQLModel, table=True):
    """Password hashes, apart from the user object so no query can ever select them."""

    __tablename__ = "credential"

    user_id: str = Field(primary_key=True, max_length=32)
    password_hash: str = Field(max_length=255)
    changed_at: NaiveDatetime


class AiBriefing(SQLModel, table=True):
    """Stored AI briefings (app/ai/store.py): per account and user, with the fingerprint of
    the context they were built from, cost and timing, and the user's feedback."""

    __tablename__ = "ai_briefing"
    __table_args__ = (Index("ix_ai_briefing_lookup", "account_id", "user_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    account_id: str = Field(max_length=32)
    user_id: str | None = Field(default=None, max_length=32)
    fingerprint: str = Field(max_length=64)
    provider: str = Field(max_length=32)
    model: str = Field(max_length=100)
    input_tokens: int = 0
    output_tokens: int = 0
    duration_ms: int = 0
    fallback_reason: str | None = Field(default=None, max_length=500)
    created_at: NaiveDatetime = Field(index=True)
    briefing: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    feedback: str | None = Field(default=None, max_length=8)
    feedback_at: NaiveDatetime | None = None


class MetadataChange(SQLModel, table=True):
    """One studio version of the metadata (app/metadata/studio.py). `documents` holds the
    full YAML-shaped document of every object and permission set the studio has changed
    so far ({"objects": {name: doc}, "permissions": {role: doc}}); the live metadata is
    the shipped YAML with these documents in place. `number` is the optimistic version:
    two admins saving on the same base collide on this primary key."""

    __tablename__ = "metadata_change"

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    base_version: int = 0
    author: str | None = Field(default=None, max_length=32)
    author_name: str = Field(default="", max_length=120)
    at: NaiveDatetime
    comment: str = Field(default="", max_length=500)
    summary: str = Field(default="", max_length=1000)
    documents: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    diff: str = Field(default="", sa_column=Column(Text))
