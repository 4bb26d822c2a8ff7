"""compose(): hand-made hits → a short extractive answer whose [n] markers point at its citations."""

from __future__ import annotations

from assistant.answer import compose, referral
from assistant.records import Hit, Passage, Reference

SLEEP_REFS = (Reference(12, "Back massage and sleep in ICU"), Reference(13, "Back massage for postpartum insomnia"))


def hit(text: str, dense: float, score: float | None = None, refs=(), lead: str = "") -> Hit:
    passage = Passage(id=text[:10], source="guide.txt", section="Benefits", text=text, references=refs, lead=lead)
    return Hit(passage, score=dense if score is None else score, dense=dense)


def test_quotes_the_top_passage_with_marker_one():
    reply = compose("q", [hit("Soothing music might be playing.", 0.8), hit("The room is dimly lit.", 0.2)])
    assert reply.answer == "Soothing music might be playing. [1]"
    assert [c.text for c in reply.citations] == ["Soothing music might be playing."]
    assert reply.abstained is False and reply.kind == "answer"


def test_close_runner_up_is_quoted_as_marker_two_and_weak_hits_are_not_cited():
    hits = [hit("A is true.", 0.80), hit("B is true.", 0.78), hit("C is true.", 0.31), hit("D is true.", 0.29)]
    reply = compose("q", hits, max_citations=3, min_support=0.30, margin=0.06)
    assert reply.answer == "A is true. [1] B is true. [2]"
    assert [c.text for c in reply.citations] == ["A is true.", "B is true.", "C is true."]


def test_distant_runner_up_is_cited_but_not_quoted():
    reply = compose("q", [hit("A is true.", 0.80), hit("B is true.", 0.60)], margin=0.06)
    assert reply.answer == "A is true. [1]"
    assert len(reply.citations) == 2


def test_citations_stop_at_max_citations_and_skip_repeats():
    hits = [hit("A.", 0.9), hit("A.", 0.9), hit("B.", 0.9), hit("C.", 0.9), hit("D.", 0.9)]
    reply = compose("q", hits, max_citations=3)
    assert [c.text for c in reply.citations] == ["A.", "B.", "C."]


def test_list_item_is_quoted_with_its_lead_in_and_ends_as_a_sentence():
    item = hit("Facilitating better sleep", 0.9, refs=SLEEP_REFS, lead="Massage promotes outcomes, including:")
    reply = compose("does massage help sleep", [item])
    assert reply.answer.startswith("Massage promotes outcomes, including: Facilitating better sleep. [1]")
    assert reply.citations[0].references == SLEEP_REFS


def test_research_question_prefers_a_close_passage_with_studies_and_lists_them():
    plain = hit("Sleep matters to everyone.", 0.70)
    cited = hit("Facilitating better sleep", 0.65, refs=SLEEP_REFS)
    reply = compose("is there research on sleep?", [plain, cited])
    assert reply.citations[0].text == "Facilitating better sleep"
    assert reply.answer.endswith(
        "Studies cited:\n- Study 12: Back massage and sleep in ICU\n- Study 13: Back massage for postpartum insomnia"
    )


def test_plain_question_does_not_list_studies():
    reply = compose("does massage help sleep", [hit("Facilitating better sleep", 0.9, refs=SLEEP_REFS)])
    assert "Studies cited" not in reply.answer


def test_score_is_carried_to_the_citation():
    reply = compose("q", [hit("A.", 0.5, score=0.123456)])
    assert reply.citations[0].to_dict()["score"] == 0.1235


def test_referrals_abstain_with_the_contact_line():
    out = referral("out_of_scope", "Ask Sam.")
    med = referral("medical", "Ask Sam.")
    assert (out.abstained, out.kind, out.citations) == (True, "out_of_scope", ())
    assert (med.abstained, med.kind, med.citations) == (True, "medical", ())
    assert out.answer.endswith("Ask Sam.") and med.answer.endswith("Ask Sam.")
    assert "doctor" in med.answer and "doctor" not in out.answer


def test_caution_keeps_the_quote_and_always_adds_the_referral():
    from assistant.answer import caution

    reply = caution(compose("q", [hit("Massage can ease arthritis pain.", 0.8)]), "Ask your doctor first.", "Call us.")
    assert reply.kind == "caution" and reply.abstained is False and reply.citations
    assert reply.answer == "Massage can ease arthritis pain. [1]\n\nAsk your doctor first. Call us."
    assert reply.to_dict()["kind"] == "caution"


def test_smalltalk_abstains_and_offers_the_example_questions():
    from assistant.answer import smalltalk

    reply = smalltalk("Hello!", "You could ask:", ["What should I wear?", "Does it hurt?"], margin=0.3)
    assert reply.abstained is True and reply.kind == "smalltalk" and reply.citations == ()
    assert reply.answer == "Hello!\n\nYou could ask:\n- What should I wear?\n- Does it hurt?"
    assert reply.margin == 0.3
    assert reply.to_dict() == {"answer": reply.answer, "abstained": True, "citations": [], "kind": "smalltalk"}
