"""Chat messages in and out: a Reply becomes an answer plus a collapsed Sources message; chat history becomes turns.

Pure functions over plain dicts (Gradio's message format), so they are tested without a browser or Gradio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assistant.records import Citation, Reply

SOURCES = "Sources"  # title of our own collapsed citations message; dropped from history
HEADINGS = {  # an h4, so the page's CSS can style abstentions apart from answers
    "out_of_scope": "#### Not something our guide covers",
    "medical": "#### A question for a professional",
    "caution": "#### What our documents say, and a word of care",  # heads a quoted health answer
}

_PUNCT = r"""\!"#$%&'()*+,-./:;<=>?@[]^_`{|}~"""
_ESCAPE = re.compile("([" + re.escape(_PUNCT) + "])")
_UNESCAPE = re.compile(r"\\([" + re.escape(_PUNCT) + "])")


def escape_markdown(text: str) -> str:
    """Backslash every ASCII punctuation mark (CommonMark allows all), so text shows literally: no HTML,
    no links, no images, no emphasis. Newlines stay as they are."""
    return _ESCAPE.sub(r"\\\1", text)


def unescape_markdown(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text)


def user_message(question: str) -> dict:
    return {"role": "user", "content": escape_markdown(question)}


def reply_messages(reply: Reply) -> list[dict]:
    """The answer as markdown, then its sources as a collapsed block (none for an abstention)."""
    if reply.kind == "smalltalk":  # a chat reply, not a refusal: no heading
        return [{"role": "assistant", "content": reply.answer}]
    if reply.abstained:
        heading = HEADINGS.get(reply.kind, HEADINGS["out_of_scope"])
        return [{"role": "assistant", "content": f"{heading}\n\n{reply.answer}"}]
    head = f"{HEADINGS['caution']}\n\n" if reply.kind == "caution" else ""
    messages = [{"role": "assistant", "content": head + reply.answer}]
    if reply.citations:
        messages.append(
            {
                "role": "assistant",
                "content": sources_markdown(reply.citations),
                "metadata": {"title": SOURCES, "status": "done"},
            }
        )
    return messages


def sources_markdown(citations: Iterable[Citation]) -> str:
    """One block per citation: [n] section, the quoted passage, the studies it cites."""
    blocks = []
    for n, c in enumerate(citations, 1):
        lines = [f"**\\[{n}\\] {escape_markdown(c.section or c.source)}**", "", f"> {escape_markdown(c.text)}"]
        if c.references:
            studies = "; ".join(f"{r.number}\\. {escape_markdown(r.title)}" for r in c.references)
            lines += ["", f"*Studies:* {studies}"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def content_text(content: object) -> str:
    """Text of a message's content: a plain string (API) or a list of {"type": "text", "text": …} parts (browser)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        text = content.get("text", "") if content.get("type", "text") == "text" else ""
        return text if isinstance(text, str) else ""
    if isinstance(content, (list, tuple)):
        return "\n".join(t for t in (content_text(part) for part in content) if t)
    return ""


def _field(message: object, name: str) -> object:
    return message.get(name) if isinstance(message, dict) else getattr(message, name, None)


def clean_chat(chat: Sequence[object] | None) -> list[dict]:
    """The chat rebuilt from text only: a role we use, plain-string content, and no metadata but our own Sources
    title. A client sends the chat back with every question; whatever else it holds (file or component parts, a
    path, a URL) is dropped, so nothing it names ever becomes output for Gradio to copy and serve."""
    clean: list[dict] = []
    for message in chat or []:
        role = _field(message, "role")
        if role not in ("user", "assistant"):
            continue
        text = content_text(_field(message, "content"))
        metadata = _field(message, "metadata")
        if isinstance(metadata, dict) and metadata.get("title") == SOURCES and role == "assistant":
            clean.append({"role": role, "content": text, "metadata": {"title": SOURCES, "status": "done"}})
        elif not (isinstance(metadata, dict) and metadata.get("title")):
            clean.append({"role": role, "content": text})
    return clean


def history_from_chat(chat: Sequence[object] | None) -> list[tuple[str, str]]:
    """(question, answer) turns from Chatbot messages, without our Sources blocks or any other titled message."""
    turns: list[tuple[str, str]] = []
    question: str | None = None
    answer: list[str] = []
    for message in chat or []:
        metadata = _field(message, "metadata") or {}
        if isinstance(metadata, dict) and metadata.get("title"):
            continue
        text = content_text(_field(message, "content"))
        role = _field(message, "role")
        if role == "user":
            if question is not None:
                turns.append((question, "\n".join(answer)))
            question, answer = unescape_markdown(text), []
        elif role == "assistant" and question is not None:
            answer.append(text)
    if question is not None:
        turns.append((question, "\n".join(answer)))
    return turns
