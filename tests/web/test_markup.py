"""Replies → chat messages, chat messages → history: pure functions, exact outputs."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from assistant import Citation, Reference, Reply
from assistant.web import markup


@given(st.text())
def test_escaping_round_trips_any_text(text):
    assert markup.unescape_markdown(markup.escape_markdown(text)) == text


def test_escaped_question_has_no_live_markup():
    escaped = markup.escape_markdown('<img src=x onerror="a()"> ![i](http://x/a.png) [l](http://x) *b*')
    assert re.search(r"(?<!\\)[<>\[\]()!*=\"]", escaped) is None  # every mark is backslashed
    assert escaped.startswith(r"\<img src\=x onerror\=\"a\(\)\"\>")


def test_answer_then_collapsed_sources_with_section_quote_and_studies():
    reply = Reply(
        "Loose clothing is best. [1]",
        False,
        (Citation("guide.txt", "What to wear", "Loose clothing (e.g. shorts) is best.", 0.9, (Reference(9, "A trial"),)),),
    )
    answer, sources = markup.reply_messages(reply)
    assert answer == {"role": "assistant", "content": "Loose clothing is best. [1]"}
    assert sources["metadata"] == {"title": "Sources", "status": "done"}
    assert sources["content"] == (
        "**\\[1\\] What to wear**\n\n> Loose clothing \\(e\\.g\\. shorts\\) is best\\.\n\n*Studies:* 9\\. A trial"
    )


def test_section_falls_back_to_source_file():
    text = markup.sources_markdown([Citation("faq.md", None, "Yes.", 0.5)])
    assert text == "**\\[1\\] faq\\.md**\n\n> Yes\\."


def test_abstention_has_a_heading_and_no_sources():
    reply = Reply("I'm sorry. Call us on 555-0100.", True, (), kind="medical")
    (message,) = markup.reply_messages(reply)
    assert message["content"] == "#### A question for a professional\n\nI'm sorry. Call us on 555-0100."
    assert "metadata" not in message


def test_history_from_browser_parts_drops_sources_and_unescapes():
    chat = [
        {"role": "user", "content": [{"type": "text", "text": r"What should I wear\?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Loose clothing. [1]"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "> quote"}], "metadata": {"title": "Sources"}},
        {"role": "user", "content": [{"type": "text", "text": "And for shiatsu\\?"}]},
        {"role": "assistant", "content": "Fully clothed. [1]", "metadata": None},
    ]
    assert markup.history_from_chat(chat) == [
        ("What should I wear?", "Loose clothing. [1]"),
        ("And for shiatsu?", "Fully clothed. [1]"),
    ]


def test_history_from_api_strings_and_chat_message_objects():
    import gradio as gr

    chat = [
        gr.ChatMessage(role="user", content="Hi"),
        gr.ChatMessage(content="Hello", metadata={"title": "Sources"}),
        gr.ChatMessage(content="Hello"),
        {"role": "assistant", "content": "orphan answers before any question are ignored"},
    ]
    assert markup.history_from_chat(chat) == [("Hi", "Hello\norphan answers before any question are ignored")]
    assert markup.history_from_chat(None) == []
    assert markup.history_from_chat([{"role": "user", "content": [{"type": "file", "file": {}}]}]) == [("", "")]


def test_clean_chat_keeps_text_and_our_sources_and_drops_everything_else():
    file_part = {"type": "file", "file": {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}}
    chat = [
        {"role": "user", "content": [{"type": "text", "text": "What should I wear?"}, file_part]},
        {"role": "assistant", "content": "Loose clothing. [1]"},
        {"role": "assistant", "content": "> quote", "metadata": {"title": "Sources", "status": "done", "id": 7}},
        {"role": "assistant", "content": "thinking", "metadata": {"title": "Tool call"}},
        {"role": "tool", "content": "x"},
        {"role": "user", "content": file_part},
        "not a message",
    ]
    assert markup.clean_chat(chat) == [
        {"role": "user", "content": "What should I wear?"},
        {"role": "assistant", "content": "Loose clothing. [1]"},
        {"role": "assistant", "content": "> quote", "metadata": {"title": "Sources", "status": "done"}},
        {"role": "user", "content": ""},
    ]


def test_small_talk_is_a_plain_reply_without_a_refusal_heading():
    reply = Reply("Hello! Ask me, for example: What should I wear?", True, (), kind="smalltalk")
    assert markup.reply_messages(reply) == [{"role": "assistant", "content": reply.answer}]
    refused = Reply("Sorry, I can't answer that.", True, (), kind="out_of_scope")
    assert markup.reply_messages(refused)[0]["content"].startswith("#### Not something our guide covers")
