"""The library's own exceptions. Surfaces turn them into chat replies, HTTP statuses or exit codes."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: every message says what happened and what to do."""


class BadQuestion(AssistantError):
    """The question can't be answered as given (empty, too long, wrong type)."""


class CorpusError(AssistantError):
    """A corpus file, or the corpus as a whole, can't be used."""


class IndexCorrupt(AssistantError):
    """Saved index files are missing, truncated or don't match their manifest."""


class ModelUnavailable(AssistantError):
    """The embedding model can't be loaded from disk."""
