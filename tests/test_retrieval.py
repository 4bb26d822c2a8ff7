"""Follow-up query building and score fusion, on a three-passage corpus with exact fake vectors.

The retriever fuses, per passage:
    (1 - paragraph_weight) * best view cosine + paragraph_weight * paragraph cosine + keyword_weight * BM25 / best BM25
    + sentence_weight * the passage's own text cosine
so every score below is computed by hand from the fake embedder's word counts.
"""

from __future__ import annotations

import math

import pytest

from assistant.retrieval import Query, Retriever, build_query
from assistant.store import open_index
from fakes import FakeEmbedder

SPA = "Spa notes\n\nShiatsu uses finger pressure. Clothing stays on.\n\nSleep improves after massage.\n"
VOCAB = ("shiatsu", "pressure", "clothing", "sleep", "massage")
SHIATSU, CLOTHING, SLEEP = (
    "Shiatsu uses finger pressure.",
    "Clothing stays on.",
    "Sleep improves after massage.",
)


@pytest.fixture
def spa(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "spa.txt").write_text(SPA, encoding="utf-8")
    embedder = FakeEmbedder(VOCAB)
    index = open_index(corpus, tmp_path / "index", embedder)
    assert [p.text for p in index.passages] == [SHIATSU, CLOTHING, SLEEP]
    return index, embedder


def retriever(spa, paragraph_weight=0.2, keyword_weight=0.05, sentence_weight=0.1) -> Retriever:
    index, embedder = spa
    return Retriever(
        index, embedder, candidates=10, paragraph_weight=paragraph_weight, keyword_weight=keyword_weight,
        sentence_weight=sentence_weight,
    )


def test_fused_scores_rank_exactly(spa):
    hits = retriever(spa).retrieve(Query("clothing", "clothing"))
    assert [h.passage.text for h in hits] == [CLOTHING, SHIATSU, SLEEP]
    clothing, shiatsu, sleep = hits
    # "Clothing stays on." matches its own view exactly; its paragraph (shiatsu, pressure, clothing) at 1/sqrt(3)
    assert clothing.dense == pytest.approx(1.0)
    assert clothing.keyword == pytest.approx(1.0)
    assert clothing.score == pytest.approx(0.8 * 1.0 + 0.2 / math.sqrt(3) + 0.05 * 1.0 + 0.1 * 1.0)
    # the shiatsu sentence shares no word with the query: only its paragraph lifts it above the sleep one
    assert shiatsu.dense == pytest.approx(0.0) and shiatsu.keyword == 0.0
    assert shiatsu.score == pytest.approx(0.2 / math.sqrt(3))
    assert sleep.score == pytest.approx(0.0)


def test_paragraph_weight_zero_leaves_pure_cosine(spa):
    hits = retriever(spa, paragraph_weight=0.0, keyword_weight=0.0, sentence_weight=0.0).retrieve(
        Query("sleep massage", "sleep massage")
    )
    assert hits[0].passage.text == SLEEP
    assert hits[0].score == pytest.approx(1.0)
    assert [h.score for h in hits[1:]] == pytest.approx([0.0, 0.0])


def test_keyword_alone_can_rank_a_word_the_vectors_do_not_know(spa):
    # "finger" is outside the fake vocabulary: every cosine is 0, and BM25 alone decides
    hits = retriever(spa, keyword_weight=1.0).retrieve(Query("finger", "finger"))
    assert hits[0].passage.text == SHIATSU
    assert hits[0].dense == pytest.approx(0.0)
    assert hits[0].keyword == pytest.approx(1.0)
    assert hits[0].score == pytest.approx(1.0)
    assert all(h.score == pytest.approx(0.0) for h in hits[1:])


def test_k_limits_the_number_of_hits(spa):
    assert len(retriever(spa).retrieve(Query("clothing", "clothing"), k=1)) == 1


def test_follow_up_averages_the_question_alone_and_the_folded_query(spa):
    query = build_query("what about clothing for it?", [("Tell me about shiatsu", "Shiatsu is…")])
    assert query.follow_up and query.text == "Tell me about shiatsu what about clothing for it?"
    top = retriever(spa).retrieve(query)[0]
    assert top.passage.text == CLOTHING
    # question alone: best view "Clothing stays on." = 1
    # folded (shiatsu + clothing): best view is the sentence with its context, (1,1,1)·(1,0,1) / (sqrt 3 · sqrt 2)
    assert top.dense == pytest.approx((1.0 + 2 / math.sqrt(6)) / 2)


# --- build_query ---------------------------------------------------------------------------------

HISTORY = [
    ("What is shiatsu?", "Shiatsu (Japanese acupressure massage)."),
    ("Tell me about trigger point therapy", "…"),
]


@pytest.mark.parametrize(
    ("question", "folded"),
    [
        ("does it hurt?", "Tell me about trigger point therapy does it hurt?"),
        ("What should I wear for it?", "Tell me about trigger point therapy What should I wear for it?"),
        ("and what about after?", "Tell me about trigger point therapy and what about after?"),
        ("is that one relaxing too", "Tell me about trigger point therapy is that one relaxing too"),
    ],
)
def test_follow_up_folds_in_the_latest_user_turn(question, folded):
    query = build_query(question, HISTORY)
    assert query == Query(folded, question, follow_up=True)


@pytest.mark.parametrize(
    "question",
    [
        "What should I wear?",  # stands alone
        "How does massage help sleep?",
        "does it hurt when the therapist presses really hard on a knot in the upper back muscles?",  # too long to lean
    ],
)
def test_self_contained_questions_are_not_folded(question):
    assert build_query(question, HISTORY) == Query(question, question)


def test_without_history_nothing_is_folded():
    assert build_query("does it hurt?", []) == Query("does it hurt?", "does it hurt?")


def test_a_sentence_matched_through_the_sentence_before_it_defers_to_that_sentence(spa):
    index, embedder = spa
    query = Query("shiatsu pressure clothing", "shiatsu pressure clothing")
    plain = {h.passage.text: h for h in Retriever(index, embedder, context_penalty=0.0).retrieve(query)}
    hits = Retriever(index, embedder, context_penalty=0.05).retrieve(query)
    scored = {h.passage.text: h for h in hits}
    # "Clothing stays on." reads as the query only after "Shiatsu uses finger pressure.": its best view is borrowed
    assert plain[CLOTHING].dense == pytest.approx(1.0)
    assert scored[CLOTHING].score == pytest.approx(plain[CLOTHING].score - 0.05)
    assert scored[SHIATSU].score == pytest.approx(plain[SHIATSU].score)  # its own text: no penalty
