"""Named questions end to end on the real packaged model and the shipped guide."""

from __future__ import annotations

import re

import pytest

from guide_text import guide_contains

pytestmark = pytest.mark.model

SHIATSU = [("What is shiatsu?", "Shiatsu (Japanese acupressure massage).")]
TRIGGER = [("Tell me about trigger point therapy", "It applies sustained, targeted finger pressure to knots.")]


def top_texts(reply, n: int = 3) -> list[str]:
    return [c.text for c in reply.citations[:n]]


def test_what_to_wear_cites_loose_fitting_clothing(model_bot):
    reply = model_bot.ask("What should I wear?")
    assert reply.abstained is False
    assert "loose-fitting clothing" in reply.citations[0].text
    assert "loose-fitting clothing" in reply.answer.split("[1]")[0]


def test_what_to_wear_for_it_after_shiatsu(model_bot):
    reply = model_bot.ask("What should I wear for it?", SHIATSU)
    assert reply.abstained is False
    assert "loose-fitting clothing" in reply.citations[0].text


def test_does_it_hurt_after_trigger_point_cites_the_discomfort_passage(model_bot):
    reply = model_bot.ask("does it hurt?", TRIGGER)
    assert reply.abstained is False
    assert "localized discomfort" in reply.citations[0].text


def test_sleep_research_cites_studies_12_and_13_with_titles(model_bot):
    reply = model_bot.ask("is there research on massage and sleep?")
    assert reply.abstained is False
    top = reply.citations[0]
    assert "Facilitating better sleep" in top.text
    assert [r.number for r in top.references] == [12, 13]
    assert (
        "Study 12: Back massage intervention for improving health and sleep quality among intensive care unit patients"
        in reply.answer
    )
    assert "Study 13: Randomised controlled trial of the effectiveness of using back massage" in reply.answer


@pytest.mark.parametrize(
    ("question", "kind"),
    [("how much is a massage?", "out_of_scope"), ("I'm pregnant, can I get a massage?", "medical")],
)
def test_referrals(model_bot, question, kind):
    reply = model_bot.ask(question)
    assert reply.abstained is True and reply.kind == kind
    assert reply.citations == ()
    assert model_bot.settings.contact in reply.answer


def test_unrelated_question_abstains(model_bot):
    reply = model_bot.ask("what is the capital of France?")
    assert model_bot.classify("what is the capital of France?") == "offtopic"  # nearest an off-topic example
    assert reply.abstained is True and reply.kind == "out_of_scope"


# --- the examples (issue 11) ------------------------------------------------------------


@pytest.mark.parametrize("question", ["hi", "thanks!", "who are you?", "what can you do?"])
def test_small_talk_gets_a_friendly_reply_with_example_questions(model_bot, question):
    reply = model_bot.ask(question)
    assert reply.kind == "smalltalk" and reply.abstained is True and reply.citations == ()
    assert "can't answer" not in reply.answer
    assert reply.answer.count("\n- ") >= 2  # example questions from the documents
    assert reply.to_dict()["kind"] == "smalltalk"


def test_difference_between_swedish_and_deep_tissue_quotes_both(model_bot):
    reply = model_bot.ask("What's the difference between Swedish and deep tissue?")
    assert reply.abstained is False
    texts = " ".join(top_texts(reply, 2))
    assert "steady, rhythmic kneading" in texts and "slow, deep strokes" in texts
    assert "[1]" in reply.answer and "[2]" in reply.answer


@pytest.mark.parametrize("question", ["What techniques are there?", "What techniques do you offer?"])
def test_list_questions_quote_the_list_with_its_items(model_bot, question):
    reply = model_bot.ask(question)
    assert reply.abstained is False
    first = reply.citations[0].text
    assert first.startswith("Some popular techniques beyond Swedish massage")
    assert all(t in first for t in ("myofascial release", "Shiatsu", "deep tissue massage", "Thai yoga massage"))


@pytest.mark.parametrize(
    "question",
    ["Can massage help my posture from programming all day?", "Does massage help with stress on weekends?"],
)
def test_a_word_of_another_topic_does_not_refuse_a_guide_question(model_bot, question):
    reply = model_bot.ask(question)
    assert reply.abstained is False and reply.citations


@pytest.mark.parametrize(
    "question",
    [
        "numbness in my arm, will massage fix it?",
        "numbness in my arm, will massage fix it? u think so?",
        "dizzy spells when i stand up, massage ok?",
        "found a lump on my back",
        "running a temperature today, should the appointment go ahead",
    ],
)
def test_symptoms_get_the_referral_never_a_benefit_claim(model_bot, question):
    reply = model_bot.ask(question)
    assert reply.kind == "medical" and reply.abstained is True and reply.citations == ()
    assert "doctor" in reply.answer


def test_a_question_in_german_about_pregnancy_gets_an_english_referral(model_bot):
    reply = model_bot.ask("Darf ich in der Schwangerschaft eine Massage bekommen?")
    assert reply.abstained is True and reply.citations == ()
    assert reply.kind == "medical"
    assert "English" in reply.answer and "doctor" in reply.answer


def test_a_question_in_spanish_gets_no_retrieved_answer(model_bot):
    reply = model_bot.ask("¿Qué tipo de masaje es mejor para relajarse?")
    assert reply.abstained is True and reply.citations == () and "English" in reply.answer


@pytest.mark.parametrize("question", ["can my partner stay in the room?", "do you do couples massages?"])
def test_on_topic_but_unanswered_is_refused(model_bot, question):
    reply = model_bot.ask(question)
    assert reply.abstained is True and reply.kind == "out_of_scope"


def test_arthritis_gets_the_guide_passage_and_the_doctor(model_bot):
    reply = model_bot.ask("I have arthritis, will a back massage help me?")
    assert reply.kind == "caution" and reply.abstained is False
    assert any("arthritis" in c.text for c in reply.citations)
    assert "doctor" in reply.answer.split("\n\n")[-1]


@pytest.mark.parametrize(
    "question",
    [
        "What should I wear?",
        "does massage help sports injuries?",
        "what is swedish massage",
        "Is aromatherapy relaxing?",
    ],
)
def test_real_answers_quote_the_guide_verbatim(model_bot, question):
    reply = model_bot.ask(question)
    assert reply.abstained is False
    first = reply.answer.split("\n\n")[0]
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", first)]
    assert markers == list(range(1, len(markers) + 1)) and len(markers) <= len(reply.citations)
    for c in reply.citations:
        assert guide_contains(c.text), c.text


def test_questions_asked_together_get_the_answers_they_get_alone(model_bot):
    """Concurrent questions share packed forward passes (assistant/batching.py); that must not change an answer."""
    import threading
    from pathlib import Path

    from assistant import evaluate
    from assistant.batching import BatchingEmbedder

    assert isinstance(model_bot.embedder, BatchingEmbedder)
    cases = evaluate.load_cases(Path(__file__).resolve().parents[1] / "eval" / "questions.jsonl")[:24]
    alone = [model_bot.ask(c.question, list(c.history)).to_dict() for c in cases]
    for _ in range(5):  # until some pass really was shared; released together, that is almost always the first try
        before = (model_bot.embedder.batches, model_bot.embedder.batched_texts)
        together: list[dict | None] = [None] * len(cases)
        start = threading.Barrier(len(cases))

        def ask(i: int) -> None:
            start.wait()
            together[i] = model_bot.ask(cases[i].question, list(cases[i].history)).to_dict()

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(cases))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for got, expected in zip(together, alone):
            assert got is not None
            assert got["answer"] == expected["answer"] and got["abstained"] == expected["abstained"]
            assert [c["text"] for c in got["citations"]] == [c["text"] for c in expected["citations"]]
            for a, b in zip(got["citations"], expected["citations"]):
                assert abs(a["score"] - b["score"]) < 1e-4
        passes = model_bot.embedder.batches - before[0]
        texts = model_bot.embedder.batched_texts - before[1]
        if texts > passes:
            return
    pytest.fail("24 questions released together never shared a forward pass")
