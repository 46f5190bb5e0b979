"""The provider interface: stream text deltas of the summary, then one final answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from app.ai.context import BriefingContext
from app.ai.schema import Answer


@dataclass(frozen=True)
class Delta:
    """A piece of the summary as it is written."""

    text: str


@dataclass(frozen=True)
class Final:
    answer: Answer
    input_tokens: int = 0
    output_tokens: int = 0


ProviderEvent = Delta | Final


class ProviderError(Exception):
    """The provider could not produce a valid briefing; `reason` is safe to show a user."""

    def __init__(self, reason: str, *, kind: str = "error"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # timeout | overloaded | server_error | malformed | refusal | ...


class Provider(Protocol):
    name: str
    model: str

    def stream(self, context: BriefingContext) -> AsyncIterator[ProviderEvent]:
        """Deltas of the summary, then exactly one Final; raises ProviderError."""
        ...
