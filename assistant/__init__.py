"""Massage-studio FAQ assistant: grounded, cited answers from the studio's own documents."""

from __future__ import annotations

from assistant.errors import AssistantError, BadQuestion, CorpusError, IndexCorrupt, ModelUnavailable
from assistant.records import Citation, Hit, Passage, Reference, Reply
from assistant.settings import Settings

__all__ = [
    "Assistant",
    "AssistantError",
    "BadQuestion",
    "Citation",
    "CorpusError",
    "Hit",
    "IndexCorrupt",
    "ModelUnavailable",
    "Passage",
    "Reference",
    "Reply",
    "Settings",
]


def __getattr__(name: str):
    if name == "Assistant":  # loads numpy and friends only when needed
        from assistant.engine import Assistant

        return Assistant
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
