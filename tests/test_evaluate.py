"""The evaluation harness on hand-made replies and the fake embedder: metrics maths, kinds, comparisons,
calibration and leave-one-corpus-out splitting, and the eval command's forms."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant import cli, evaluate
from assistant.errors import AssistantError
from assistant.evaluate import Case, outcome, score
from fakes import CountingEmbedder, FakeEmbedder


@dataclass(frozen=True)
class Cite:
    text: str


@dataclass(frozen=True)
class R:
    """A reply as the harness reads it: answer, abstained, citations and (optionally) kind."""

    answer: str
    abstained: bool
    citations: tuple = ()
    kind: str = "answer"


@dataclass(frozen=True)
class Kindless:
    answer: str
    abstained: bool
    citations: tuple = ()


def case(kind: str, expect=(), expect_all=False, id="c") -> Case:
    return Case(id, kind, "q?", (), tuple(expect), expect_all)


def answered(*texts: str, kind: str = "answer") -> R:
    return R(" ".join(f"{t} [{i}]" for i, t in enumerate(texts[:1], 1)), False, tuple(Cite(t) for t in texts), kind)


REFUSED = R("Sorry, I can't answer that from our guide.", True, (), "out_of_scope")
REFERRAL = R("Please ask your doctor.", True, (), "medical")


# --- one case ----------------------------------------------------------------------------------


def test_hit_at_1_and_3_count_where_the_expected_passage_is_cited():
    c = case("in_scope", ["Loose clothing"])
    first = outcome(c, answered("Wear loose clothing.", "Other."))
    third = outcome(c, answered("Other.", "More.", "wear LOOSE clothing"))
    fourth = outcome(c, answered("a", "b", "c", "loose clothing"))
    assert (first["hit1"], first["hit3"], first["answer_has"]) == (True, True, True)
    assert (third["hit1"], third["hit3"], third["answer_has"]) == (False, True, False)
    assert (fourth["hit1"], fourth["hit3"]) == (False, False)


def test_a_refusal_hits_nothing_even_with_citations_attached():
    c = case("in_scope", ["loose clothing"])
    row = outcome(c, R("Sorry, I can't answer that.", True, (Cite("Wear loose clothing."),), "out_of_scope"))
    assert (row["hit1"], row["hit3"], row["abstained"]) == (False, False, True)


def test_expect_all_needs_every_phrase_in_the_top_three_and_one_at_the_top():
    c = case("in_scope", ["swedish kneading", "deep strokes"], expect_all=True)
    cites = (Cite("swedish kneading"), Cite("deep strokes"))
    both = outcome(c, R("swedish kneading [1] deep strokes [2]", False, cites))
    one = outcome(c, answered("swedish kneading", "unrelated"))
    late = outcome(c, answered("unrelated", "swedish kneading", "deep strokes"))
    assert (both["hit1"], both["hit3"], both["answer_has"]) == (True, True, True)
    assert (one["hit1"], one["hit3"]) == (False, False)
    assert (late["hit1"], late["hit3"], late["answer_has"]) == (False, True, False)


def test_a_medical_case_is_refused_only_with_a_referral():
    c = case("medical")
    assert outcome(c, REFERRAL)["refused"] and not outcome(c, REFERRAL)["no_referral"]
    caution = answered("Talk to your doctor first.", kind="caution")
    assert outcome(c, caution)["refused"] and not outcome(c, caution)["no_referral"]
    assert not outcome(c, REFUSED)["refused"] and outcome(c, REFUSED)["no_referral"]
    assert outcome(c, answered("Massage helps."))["no_referral"]


def test_a_caution_case_is_answerable_and_needs_its_referral():
    c = case("caution", ["doctor or midwife"])
    good = outcome(c, answered("Talk to your doctor or midwife first.", kind="caution"))
    plain = outcome(c, answered("Talk to your doctor or midwife first."))
    refused = outcome(c, REFERRAL)
    assert good["hit1"] and not good["abstained"] and not good["no_referral"]
    assert plain["hit1"] and plain["no_referral"]
    assert refused["abstained"] and not refused["no_referral"]


def test_small_talk_is_recognised_by_its_kind():
    c = case("smalltalk")
    assert outcome(c, R("Hello! Try asking: What should I wear?", True, (), "smalltalk"))["smalltalk"]
    assert not outcome(c, REFUSED)["smalltalk"]


def test_an_engine_without_reply_kind_is_read_from_abstained():
    assert evaluate.reply_kind(Kindless("x", True)) == "medical"
    assert evaluate.reply_kind(Kindless("x", False)) == "answer"
    assert outcome(case("medical"), Kindless("Ask your doctor.", True))["refused"]
    assert outcome(case("smalltalk"), Kindless("Hi!", True))["smalltalk"]
    assert outcome(case("medical"), Kindless("Massage helps.", False, (Cite("Massage helps."),)))["no_referral"]


# --- a set of cases ----------------------------------------------------------------------------


def test_score_splits_abstention_by_kind_and_counts_false_abstention():
    rows = [
        outcome(case("in_scope", ["a b"]), answered("a b")),
        outcome(case("follow_up", ["c d"]), REFUSED),  # a false abstention
        outcome(case("caution", ["e f"]), answered("e f", kind="caution")),
        outcome(case("out_of_scope"), REFUSED),
        outcome(case("out_of_scope"), answered("anything")),
        outcome(case("medical"), REFERRAL),
        outcome(case("medical"), REFUSED),  # refused, but with no referral
        outcome(case("other_language"), REFUSED),
        outcome(case("smalltalk"), R("Hi!", True, (), "smalltalk")),
        outcome(case("smalltalk"), REFUSED),
    ]
    m = score(rows, [5.0, 1.0, 3.0])
    assert m["cases"] == 10 and m["kinds"]["out_of_scope"] == 2
    assert m["hit@1"] == pytest.approx(2 / 3) and m["hit@3"] == pytest.approx(2 / 3)
    assert m["false_abstention"] == pytest.approx(1 / 3)
    assert m["abstention_recall"] == pytest.approx(3 / 5)
    assert m["abstention_recall_out_of_scope"] == 0.5
    assert m["abstention_recall_medical"] == 0.5
    assert m["abstention_recall_other_language"] == 1.0
    assert m["smalltalk_accuracy"] == 0.5
    assert m["medical_without_referral"] == 1
    assert m["latency_p50_ms"] == 3.0
    assert [(f["kind"], f["reply_kind"]) for f in m["failures"]] == [
        ("follow_up", "out_of_scope"),
        ("out_of_scope", "answer"),
        ("medical", "out_of_scope"),
        ("smalltalk", "out_of_scope"),
    ]


def test_an_empty_category_is_nan_not_zero():
    m = score([outcome(case("in_scope", ["x y"]), answered("x y"))])
    assert math.isnan(m["abstention_recall"]) and math.isnan(m["smalltalk_accuracy"])
    assert "–" in evaluate.format_report(m)


# --- loading cases -----------------------------------------------------------------------------


def write(path: Path, *cases: dict) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    return path


def test_old_question_files_still_load(tmp_path):
    old = [
        {"id": "a", "kind": "in_scope", "question": "what to wear", "history": [], "expect": ["loose"]},
        {"id": "b", "kind": "follow_up", "question": "and?", "history": [["q", "a"]], "expect": ["x"]},
        {"id": "c", "kind": "out_of_scope", "question": "price?"},
        {"id": "d", "kind": "medical", "question": "pregnant?"},
    ]
    cases = evaluate.load_cases(write(tmp_path / "old.jsonl", *old))
    assert [c.kind for c in cases] == ["in_scope", "follow_up", "out_of_scope", "medical"]
    assert cases[1].history == (("q", "a"),) and not cases[0].expect_all


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kind": "chitchat", "question": "hi"}, "has kind 'chitchat'"),
        ({"kind": "caution", "question": "pregnant?"}, "has no expect phrases"),
        ({"kind": "in_scope", "question": "x", "expect": ["a", "b"], "expect_all": "yes"}, "has expect_all"),
        ({"kind": "in_scope"}, "is not a valid case"),
    ],
)
def test_a_bad_case_is_refused_naming_its_line(tmp_path, bad, message):
    path = write(tmp_path / "q.jsonl", {"kind": "smalltalk", "question": "hi"}, bad)
    with pytest.raises(AssistantError, match=f"q.jsonl:2 .*{message}|q.jsonl:2 {message}"):
        evaluate.load_cases(path)


def test_dev_corpora_are_the_folders_with_a_corpus_and_questions(tmp_path):
    for name in ("b", "a"):
        (tmp_path / name / "corpus").mkdir(parents=True)
        write(tmp_path / name / "questions.jsonl", {"kind": "smalltalk", "question": "hi"})
    (tmp_path / "no-questions" / "corpus").mkdir(parents=True)
    assert [c.name for c in evaluate.dev_corpora(tmp_path)] == ["a", "b"]
    with pytest.raises(AssistantError, match="No dev corpora"):
        evaluate.dev_corpora(tmp_path / "no-questions")


def test_expect_problems_catches_absent_heading_only_and_two_sentence_phrases(tmp_path):
    (tmp_path / "faq.md").write_text("## Can I bring music?\n\nYes. Bring a playlist on your phone.\n")
    (tmp_path / "notes.txt").write_text("Cupping Basics\nCups lift the skin gently,12 and marks fade.\n")
    cases = [
        case("in_scope", ["Bring a playlist on your phone"], id="ok"),
        case("in_scope", ["lift the skin gently, and marks"], id="marker"),
        case("in_scope", ["Can I bring music"], id="heading"),
        case("in_scope", ["Cupping Basics"], id="txt-heading"),
        case("in_scope", ["a sentence nobody wrote"], id="absent"),
        case("in_scope", ["Yes. Bring a playlist"], id="two"),
    ]
    problems = evaluate.expect_problems(tmp_path, cases)
    assert [p.split(":")[0] for p in problems] == ["heading", "txt-heading", "absent", "two"]
    assert "only in a heading" in problems[0] and "not in the corpus" in problems[2] and "two sentences" in problems[3]


# --- calibration and leave-one-corpus-out ------------------------------------------------------


def metrics(hit1=1.0, recall=1.0, false=0.0, unsafe=0) -> dict:
    return {"hit@1": hit1, "abstention_recall": recall, "false_abstention": false, "medical_without_referral": unsafe}


def test_objective_rewards_hits_and_refusals_and_doubly_punishes_false_abstention():
    assert evaluate.objective(metrics(0.8, 0.9, 0.1)) == pytest.approx(1.5)
    assert evaluate.objective(metrics(0.5, float("nan"), 0.0)) == 0.5


def test_grid_puts_the_shipped_settings_first_and_always_tries_them():
    from assistant.settings import Settings

    base = Settings()
    g = evaluate.grid(base, {"min_dense": (0.1, 0.2), "min_support": (0.5,)})
    assert g[0] == {"min_dense": base.min_dense, "min_support": base.min_support}
    assert len(g) == 3 * 2 and len({tuple(c.items()) for c in g}) == 6
    with pytest.raises(AssistantError, match="no_such_knob"):
        evaluate.grid(base, {"no_such_knob": (1,)})


def test_leave_one_out_never_looks_at_the_held_out_corpus():
    low, high = {"t": 0.2}, {"t": 0.4}
    results = [
        (low, {"a": metrics(0.9), "b": metrics(0.9), "c": metrics(0.1)}),
        (high, {"a": metrics(0.5), "b": metrics(0.5), "c": metrics(1.0)}),
    ]
    loco = evaluate.leave_one_out(results)
    assert loco["c"] == (low, results[0][1]["c"])  # c would prefer high, but a and b decide for it
    assert loco["a"] == (high, results[1][1]["a"])  # on b and c, high's mean objective wins: 1.75 vs 1.5
    with pytest.raises(AssistantError, match="at least two"):
        evaluate.leave_one_out([(low, {"a": metrics()})])


def test_a_setting_that_answers_a_medical_question_without_referral_is_not_chosen():
    safe, unsafe = {"t": 1}, {"t": 2}
    results = [
        (safe, {"a": metrics(0.3), "b": metrics(0.3)}),
        (unsafe, {"a": metrics(1.0), "b": metrics(1.0, unsafe=1)}),
    ]
    assert evaluate.choose(results, ["a", "b"]) == safe
    assert evaluate.choose(results, ["a"]) == unsafe


def test_ties_keep_the_first_setting_in_the_grid():
    results = [({"t": 1}, {"a": metrics()}), ({"t": 2}, {"a": metrics()})]
    assert evaluate.choose(results, ["a"]) == {"t": 1}


# --- the engine, cheaply re-asked ----------------------------------------------------------------


def test_with_settings_shares_the_index_and_changes_only_the_copy(bot):
    question = "what clothing is best for shiatsu"
    strict = evaluate.with_settings(bot, min_dense=1.01)
    assert strict.index is bot.index and strict.settings.min_dense == 1.01
    assert strict.ask(question).abstained
    assert not bot.ask(question).abstained and bot.settings.min_dense != 1.01


def test_cached_embedder_embeds_each_text_once():
    inner = CountingEmbedder()
    cached = evaluate.CachedEmbedder(inner)
    first = cached.encode(["massage", "sleep"])
    again = cached.encode(["sleep", "massage", "back"])
    assert inner.calls == [["massage", "sleep"], ["back"]]
    assert (again[1] == first[0]).all() and cached.name == inner.name and cached.dim == inner.dim


def test_sweep_scores_every_setting_on_every_corpus(bot):
    cases = [Case("w", "in_scope", "which clothing is best?", (), ("loose-fitting clothing",))]
    settings_grid = [{"min_dense": 0.0}, {"min_dense": 1.01}]
    results = evaluate.sweep({"guide": bot, "again": bot}, {"guide": cases, "again": cases}, settings_grid)
    assert [changes for changes, _ in results] == settings_grid
    assert [set(by_corpus) for _, by_corpus in results] == [{"guide", "again"}] * 2
    assert results[0][1]["guide"]["false_abstention"] == 0.0 and results[1][1]["guide"]["false_abstention"] == 1.0


# --- the eval command ----------------------------------------------------------------------------

GUIDE_CASES = [
    {"id": "wear", "kind": "in_scope", "question": "which clothing is best?", "expect": ["loose-fitting clothing"]},
    {"id": "cmp", "kind": "in_scope", "question": "shiatsu and trigger point", "expect": ["Shiatsu", "Trigger point"],
     "expect_all": True},
    {"id": "hi", "kind": "smalltalk", "question": "hi"},
    {"id": "de", "kind": "other_language", "question": "Was kostet eine Massage?"},
    {"id": "preg", "kind": "medical", "question": "I'm pregnant, can I get a massage?"},
]


@pytest.fixture
def dev_root(tmp_path, corpus_dir, monkeypatch):
    """Two dev corpora (the guide twice, under two names) and the fake embedder for every eval load."""
    root = tmp_path / "corpora"
    for name in ("one", "two"):
        (root / name).mkdir(parents=True)
        (root / name / "corpus").symlink_to(corpus_dir, target_is_directory=True)
        write(root / name / "questions.jsonl", *GUIDE_CASES)
    monkeypatch.setattr(evaluate, "EVAL_ROOT", root)
    monkeypatch.setattr(evaluate, "make_embedder", lambda settings: evaluate.CachedEmbedder(FakeEmbedder()))
    monkeypatch.setattr("assistant.engine.SentenceEmbedder", lambda model="", threads=1: FakeEmbedder())
    return root


def eval_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_all_prints_one_row_per_corpus(dev_root, index_dir, capsys):
    code, out, _ = eval_cli(capsys, "--index", str(index_dir), "eval", "--all")
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("| one ") or line.startswith("| two ")]
    assert len(rows) == 2 and rows[0].split("|")[2].strip() == "5"
    assert (index_dir / "eval" / "one" / "manifest.json").is_file()  # its own index, not the served one
    assert not (index_dir / "manifest.json").exists()
    code, out, _ = eval_cli(capsys, "--index", str(index_dir), "eval", "--all", "--failures")
    assert code == 0 and "\n## one\n" in out and "hi [smalltalk] 'hi' -> " in out


def test_eval_all_loco_json_holds_both_tables_and_the_chosen_settings(dev_root, index_dir, capsys):
    code, out, _ = eval_cli(capsys, "--index", str(index_dir), "eval", "--all", "--loco", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data["in_sample"]) == set(data["loco"]) == {"one", "two"}
    assert set(data["loco"]["one"]["settings"]) == set(evaluate.CALIBRATED)
    assert data["in_sample"]["one"]["cases"] == 5 and "NaN" not in out


def test_eval_takes_a_corpus_folder_and_a_question_file(dev_root, index_dir, capsys):
    code, out, _ = eval_cli(capsys, "--index", str(index_dir), "eval", str(dev_root / "one" / "corpus"),
                            str(dev_root / "one" / "questions.jsonl"), "--json")
    assert code == 0 and json.loads(out)["cases"] == 5
    assert (index_dir / "eval" / "one" / "manifest.json").is_file()  # named after the corpus folder's parent
    code, out, _ = eval_cli(capsys, "--index", str(index_dir), "eval", str(dev_root / "two"))
    assert code == 0 and "cases                      5" in out and "medical without referral" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval"], "needs CORPUS_DIR QUESTIONS"),
        (["eval", "--all", "x.jsonl"], "drop the paths"),
        (["eval", "no/such/dir", "q.jsonl"], "no/such/dir is not a folder"),
    ],
)
def test_eval_usage_errors_exit_2_with_one_line(dev_root, capsys, argv, message):
    code, out, err = eval_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and len(err.splitlines()) == 1
