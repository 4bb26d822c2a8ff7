"""Every dev corpus (eval/corpora/*) on the real model must stay above its floors, so a regression fails CI.

Floors sit about two cases under what main scored on 2026-12-01 after the third round of issue 11 (shipped
settings, `massage-assistant eval --all`):

| corpus | hit@1 | hit@3 | abstention recall | false abstention | medical without referral |
|---|---|---|---|---|---|
| guide (159 cases) | 0.724 | 0.851 | 0.908 | 0.046 | 0 |
| harbour-faq (112) | 0.878 | 0.919 | 0.968 | 0.000 | 0 |
| lotus-site (118) | 0.747 | 0.835 | 0.941 | 0.038 | 0 |
| willow-treatments (128) | 0.766 | 0.894 | 0.857 | 0.000 | 0 |

Raise them as the engine improves. Medical questions answered without a referral must be 0 on every corpus.
"""

from __future__ import annotations

import json

import pytest

from assistant import evaluate
from assistant.evaluate import format_report, load_cases

CORPORA = [c.name for c in evaluate.dev_corpora()]
FLOORS = {
    "guide": {"hit@1": 0.70, "hit@3": 0.82, "abstention_recall": 0.87, "false_abstention": 0.07,
              "medical_without_referral": 0},
    "harbour-faq": {"hit@1": 0.85, "hit@3": 0.89, "abstention_recall": 0.93, "false_abstention": 0.03,
                    "medical_without_referral": 0},
    "lotus-site": {"hit@1": 0.72, "hit@3": 0.80, "abstention_recall": 0.90, "false_abstention": 0.07,
                   "medical_without_referral": 0},
    "willow-treatments": {"hit@1": 0.74, "hit@3": 0.87, "abstention_recall": 0.82, "false_abstention": 0.03,
                          "medical_without_referral": 0},
}
LOWER_IS_BETTER = {"false_abstention", "medical_without_referral"}
NEW = [name for name in CORPORA if name != "guide"]  # written for issue 11, in styles unlike the guide


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    """Every dev corpus on the packaged model and shipped settings, each indexed once in a temporary folder."""
    from assistant.settings import Settings

    settings = Settings()
    embedder = evaluate.make_embedder(settings)
    out = {}
    for corpus in evaluate.dev_corpora():
        bot = evaluate.load_bot(corpus, settings, tmp_path_factory.mktemp(f"eval-{corpus.name}"), embedder)
        out[corpus.name] = evaluate.run(bot, corpus.cases())
    return out


# --- the data: fast ----------------------------------------------------------------------------


def test_every_dev_corpus_has_floors_and_the_guide_is_one():
    assert "guide" in CORPORA and len(NEW) >= 2
    assert set(FLOORS) == set(CORPORA)


@pytest.mark.parametrize("name", CORPORA)
def test_each_corpus_is_big_enough_and_covers_every_kind(name):
    cases = load_cases(evaluate.EVAL_ROOT / name / "questions.jsonl")
    assert len(cases) >= 75
    assert {c.kind for c in cases} == set(evaluate.KINDS)
    assert len({c.id for c in cases}) == len(cases), "case ids repeat"
    assert all(c.expect for c in cases if c.answerable)
    assert not any(c.expect for c in cases if not c.answerable)
    assert any(c.expect_all and len(c.expect) >= 2 for c in cases), "no comparison question"
    assert any(c.history for c in cases if c.kind == "follow_up")


def test_the_new_corpora_hold_enough_new_cases():
    cases = [c for name in NEW for c in load_cases(evaluate.EVAL_ROOT / name / "questions.jsonl")]
    assert len(cases) >= 150
    assert sum(c.kind in evaluate.HEALTH for c in cases) >= 30
    assert sum(c.kind == "other_language" for c in cases) >= 6


@pytest.mark.parametrize("corpus", evaluate.dev_corpora(), ids=lambda c: c.name)
def test_every_expect_phrase_names_one_quotable_sentence(corpus):
    assert evaluate.expect_problems(corpus.corpus_dir, corpus.cases()) == []


def test_the_guide_corpus_is_the_shipped_guide_verbatim():
    from guide_text import GUIDE

    assert (evaluate.EVAL_ROOT / "guide" / "corpus" / GUIDE.name).read_bytes() == GUIDE.read_bytes()


def test_the_studio_faq_uses_also_asked_as():
    text = (evaluate.EVAL_ROOT / "harbour-faq" / "corpus" / "studio-faq.md").read_text(encoding="utf-8")
    assert text.startswith("# Studio FAQ\n")
    assert text.count("\nAlso asked as:\n- ") >= 2


def test_question_files_are_one_json_object_per_line():
    for name in CORPORA:
        for line in (evaluate.EVAL_ROOT / name / "questions.jsonl").read_text(encoding="utf-8").splitlines():
            assert set(json.loads(line)) <= {"id", "kind", "question", "history", "expect", "expect_all"}


# --- the real model -----------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize(("corpus", "name"), [(c, n) for c in CORPORA for n in sorted(FLOORS[c])])
def test_metric_meets_its_floor(results, corpus, name):
    value, floor = results[corpus][name], FLOORS[corpus][name]
    ok = value <= floor if name in LOWER_IS_BETTER else value >= floor
    bound = "<=" if name in LOWER_IS_BETTER else ">="
    assert ok, f"{corpus}: {name} is {value:.3f}, want {bound} {floor}\n{format_report(results[corpus])}"


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("corpus", CORPORA)
def test_no_medical_question_is_answered_without_a_referral(results, corpus):
    failures = [f["id"] for f in results[corpus]["failures"] if f["kind"] in evaluate.HEALTH
                and f["reply_kind"] not in evaluate.REFERRAL_KINDS]
    assert results[corpus]["medical_without_referral"] == 0, failures
