"""Every surface asks through a Journal: it times the answer, records it in the QuestionLog and hands back the
ask id that a thumbs up or down will point at. No IP addresses, no cookies: only the anonymous conversation id the
surface made up."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from assistant.errors import AssistantError
from assistant.questionlog import LogError, QuestionLog
from assistant.records import Reply
from assistant.web.gate import Answerer

log = logging.getLogger("assistant.questions")

CONVERSATION = re.compile(r"^[A-Za-z0-9_-]{0,64}$")  # what a surface may send as its conversation id ("": none)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_COMMENT = 500


class LogUnavailable(AssistantError):
    """The question log's database could not be written just now."""


@dataclass(frozen=True)
class Asked:
    """An answer and the id it was logged under (a random token); ask_id is None when logging is off or the write
    failed."""

    reply: Reply
    ask_id: str | None


class Journal:
    """Wraps an Answerer (the Gate) and the QuestionLog. The surfaces call ask() and rate(), nothing else."""

    PURGE_EVERY = 86400.0  # seconds: a long-running app still forgets questions past the retention period

    def __init__(self, bot: Answerer, questions: QuestionLog, model: str = "") -> None:
        self.bot = bot
        self.questions = questions
        self.model = model  # the embedder's name: the log keeps each question's vector under it
        self._purged = time.monotonic()  # QuestionLog.open has just purged

    @property
    def enabled(self) -> bool:
        return self.questions.enabled

    def admitted(self) -> AbstractContextManager:
        """A place for one question that is about to be asked; raises QueueFull at once when the Gate is full."""
        admitted = getattr(self.bot, "admitted", None)  # only a Gate limits admission
        return admitted() if admitted is not None else nullcontext()

    def ask(
        self, question: str, history: Sequence[Sequence[str]] | None = None, *, surface: str, conversation: str = ""
    ) -> Asked:
        """Answer, then log the question with its latency (including any wait for a free worker)."""
        start = time.perf_counter()
        reply = self.bot.ask(question, history)
        latency_ms = (time.perf_counter() - start) * 1000
        return Asked(reply, self._record(question, reply, latency_ms, surface, conversation))

    def _record(self, question: str, reply: Reply, latency_ms: float, surface: str, conversation: str) -> str | None:
        text = " ".join(_CONTROL.sub(" ", question).split())
        conversation = conversation if CONVERSATION.match(conversation or "") else ""
        try:
            if time.monotonic() - self._purged > self.PURGE_EVERY:
                self._purged = time.monotonic()
                self.questions.purge()
            return self.questions.record(text, reply, latency_ms, surface, conversation, model=self.model)
        except (LogError, sqlite3.Error) as e:  # a full disk must not stop the assistant answering
            log.warning("question not logged: %s", e)
            return None

    def rate(self, ask_id: str, rating: int, comment: str = "") -> bool:
        """Store a thumbs up (1) or down (-1) against a logged answer, replacing any earlier rating of it. False when
        logging is off. Raises LogError for an unknown ask id or a rating other than ±1."""
        if not self.enabled:
            return False
        comment = " ".join(_CONTROL.sub(" ", comment or "").split())[:MAX_COMMENT]
        try:
            self.questions.feedback(ask_id, rating, comment)
        except sqlite3.Error as e:
            raise LogUnavailable(f"The rating could not be stored ({e}); please try again") from None
        return True


def rating_of(liked: bool | str) -> tuple[int, str] | None:
    """Gradio's LikeData.liked as (rating, comment): True is 1, False is -1, another feedback option is -1 with
    that option as the comment; "" (a thumb clicked off again) is None."""
    if liked is True:
        return 1, ""
    if liked is False:
        return -1, ""
    if isinstance(liked, str) and liked.strip():
        return -1, liked.strip()
    return None
