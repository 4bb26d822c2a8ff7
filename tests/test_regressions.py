"""Bugs found in review, each pinned by the smallest reproduction."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import answer, footnotes
from assistant.corpus import Document, parse
from assistant.records import Hit, Passage
from assistant.retrieval import build_query

GUIDE = (Path(__file__).resolve().parent.parent / "corpus" / "back-massage-guide.txt").read_text(encoding="utf-8")


def test_reference_list_is_found_even_with_text_after_it():
    passages = parse(Document("g.txt", GUIDE + "\n\nAlways drink water.\n"))
    assert not any('"' in p.text and p.text.startswith("Study") for p in passages)
    assert any(p.text == "Always drink water." for p in passages)
    assert sum(1 for p in passages if p.references) == sum(1 for p in parse(Document("g.txt", GUIDE)) if p.references)
    assert all("pain,12" not in p.text for p in passages)


@pytest.mark.parametrize("text", ["Sessions last 1.5 hours.", "Rich in vitamin B12 and iron.", "Play the MP3 file."])
def test_numbers_and_codes_are_not_markers(text):
    decoded = footnotes.decode(text, 17, 1)
    assert decoded.text == text and decoded.markers == ()


@pytest.mark.parametrize(
    "question",
    [
        "How much pressure will the therapist use?",
        "Any tips for my first massage?",
        "What do you do in a shiatsu session?",
        "Do you have any advice for a first timer?",
        "What should I be expecting at my first massage?",  # "expecting" is a pregnancy keyword, not here
        "what kinds of massage do you offer",  # nearest example was "do you offer side-by-side massages?"
    ],
)
@pytest.mark.model
def test_guide_questions_are_not_studio_business(model_bot, question):
    assert model_bot.classify(question) != "studio"
    assert not model_bot.ask(question).abstained


def test_is_there_does_not_make_a_follow_up():
    assert not build_query("Is there research on massage and sleep?", [("What is shiatsu?", "…")]).follow_up


def _hit(text: str, dense: float) -> Hit:
    return Hit(Passage(id=text, source="s.txt", section=None, text=text), score=dense, dense=dense)


def test_runners_up_are_quoted_only_when_close_and_markers_point_at_their_citation():
    reply = answer.compose("q", [_hit("Top.", 0.9), _hit("Weak.", 0.5), _hit("Close.", 0.88)], max_sentences=3)
    assert reply.answer == "Top. [1] Close. [3]"
    assert [c.text for c in reply.citations] == ["Top.", "Weak.", "Close."]
