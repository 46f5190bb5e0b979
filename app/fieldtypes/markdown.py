"""markdown: long text written in Markdown (stored and shown as plain text)."""

from __future__ import annotations

from app.fieldtypes.textarea import Textarea


class Markdown(Textarea):
    name = "markdown"
    label = "Markdown"
    description = "Long text with Markdown formatting"
