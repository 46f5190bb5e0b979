"""AI smart briefing: context, providers, grounding, storage, service (no UI)."""
