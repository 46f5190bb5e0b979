"""Briefing providers: one small interface (`Provider.stream`), two implementations."""

from app.ai.providers.base import Delta, Final, Provider, ProviderError, ProviderEvent

__all__ = ["Delta", "Final", "Provider", "ProviderError", "ProviderEvent"]
