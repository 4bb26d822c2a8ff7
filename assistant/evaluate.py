"""Score the assistant on dev corpora: retrieval, answers, abstention, health referrals, small talk, latency.

Each dev corpus is a folder `eval/corpora/<name>/` with `corpus/` (its documents) and `questions.jsonl`
(its cases). `run()` scores one loaded assistant on one list of cases; `sweep()` and `leave_one_out()` tune
the settings named in CALIBRATED on all corpora but one and score the held-out one.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError

ROOT = Path(__file__).resolve().parent.parent
EVAL_ROOT = ROOT / "eval" / "corpora"

KINDS = ("in_scope", "follow_up", "caution", "out_of_scope", "medical", "smalltalk", "other_language")
ANSWERABLE = ("in_scope", "follow_up", "caution")  # must be answered, citing an expected passage
REFUSALS = ("out_of_scope", "medical", "other_language")  # must not get a retrieved answer
HEALTH = ("medical", "caution")  # must carry the referral to a doctor
REFERRAL_KINDS = ("medical", "caution")  # reply kinds that carry it

# The engine's calibrated settings: field of Settings -> candidate values. The shipped value is always a
# candidate too. Edit this when the engine's decision knobs change; keep it small (the grid is the product).
CALIBRATED: dict[str, tuple] = {
    "min_dense": (0.26, 0.30, 0.34, 0.38),  # coverage: the best passage's cosine
    "min_topic": (0.45, 0.55, 0.65),  # a studio/small-talk/off-topic example must be this close (and beat the passages)
    "min_health": (0.45, 0.55, 0.65),  # a question nearest a health example, this close, gets the careful reply
    "min_caution": (0.5, 0.6, 0.7),  # a health question is quoted only from a passage this close
}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    question: str
    history: tuple[tuple[str, str], ...]
    expect: tuple[str, ...]
    expect_all: bool = False  # a comparison: every phrase must be among the top-3 citations

    @property
    def answerable(self) -> bool:
        return self.kind in ANSWERABLE


@dataclass(frozen=True)
class DevCorpus:
    name: str
    corpus_dir: Path
    questions: Path

    def cases(self) -> list[Case]:
        return load_cases(self.questions)


def load_cases(path: Path) -> list[Case]:
    cases = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                case = Case(
                    id=str(d.get("id", n)),
                    kind=d["kind"],
                    question=d["question"],
                    history=tuple((u, a) for u, a in d.get("history", [])),
                    expect=tuple(d.get("expect", [])),
                    expect_all=d.get("expect_all", False),
                )
            except (ValueError, KeyError, TypeError) as e:
                raise AssistantError(
                    f"{path}:{n} is not a valid case ({e}); see eval/corpora/*/questions.jsonl"
                ) from None
            if case.kind not in KINDS:
                raise AssistantError(f"{path}:{n} has kind {case.kind!r}; use one of {', '.join(KINDS)}")
            if not isinstance(case.question, str) or not all(isinstance(e, str) for e in case.expect):
                raise AssistantError(f"{path}:{n} needs a text question and a list of text phrases in expect")
            if case.answerable and not case.expect:
                raise AssistantError(f"{path}:{n} is {case.kind} but has no expect phrases; list the passage's words")
            if not isinstance(case.expect_all, bool):
                raise AssistantError(f"{path}:{n} has expect_all {case.expect_all!r}; use true or false")
            cases.append(case)
    return cases


def dev_corpora(root: Path | None = None) -> list[DevCorpus]:
    """Every folder under root (default eval/corpora) with both a corpus/ folder and a questions.jsonl, by name."""
    root = Path(root or EVAL_ROOT)
    found = [
        DevCorpus(d.name, d / "corpus", d / "questions.jsonl")
        for d in sorted(root.iterdir() if root.is_dir() else [])
        if (d / "corpus").is_dir() and (d / "questions.jsonl").is_file()
    ]
    if not found:
        raise AssistantError(f"No dev corpora in {root}; each needs <name>/corpus/ and <name>/questions.jsonl")
    return found


# --- one case, then a set of cases -------------------------------------------------------------


def reply_kind(reply) -> str:
    """The reply's kind; an engine without Reply.kind is read from `abstained` (abstaining counts as the
    referral, answering as an answer)."""
    kind = getattr(reply, "kind", None)
    if kind:
        return kind
    return "medical" if reply.abstained else "answer"


def _found(phrase: str, texts: Iterable[str]) -> bool:
    return any(phrase.lower() in t.lower() for t in texts)


def outcome(case: Case, reply) -> dict:
    """What the reply did for this case, as booleans the metrics count."""
    texts = [] if reply.abstained else [c.text for c in reply.citations]  # a refusal's citations answer nothing
    kind = reply_kind(reply)
    if case.expect_all:  # the top citation must hold one of the phrases, and the top 3 all of them
        hit3 = bool(case.expect) and all(_found(e, texts[:3]) for e in case.expect)
        hit1 = hit3 and any(_found(e, texts[:1]) for e in case.expect)
        answer_has = bool(case.expect) and all(_found(e, [reply.answer]) for e in case.expect)
    else:
        hit1 = any(_found(e, texts[:1]) for e in case.expect)
        hit3 = any(_found(e, texts[:3]) for e in case.expect)
        answer_has = any(_found(e, [reply.answer]) for e in case.expect)
    refused = kind in REFERRAL_KINDS if case.kind == "medical" else reply.abstained
    return {
        "case": case,
        "reply_kind": kind,
        "abstained": reply.abstained,
        "hit1": hit1,
        "hit3": hit3,
        "answer_has": answer_has,
        "refused": refused,
        "smalltalk": kind == "smalltalk" if hasattr(reply, "kind") else reply.abstained,
        "no_referral": case.kind in HEALTH and kind not in REFERRAL_KINDS,
        "got": [c.text[:90] for c in reply.citations],
    }


def failed(row: dict) -> bool:
    kind = row["case"].kind
    if row["no_referral"]:
        return True
    if kind in ANSWERABLE:
        return not row["hit1"] or row["abstained"]
    if kind in REFUSALS:
        return not row["refused"]
    return not row["smalltalk"]


def _share(rows: list[dict], key: str) -> float:
    return sum(1 for r in rows if r[key]) / len(rows) if rows else float("nan")


def score(rows: list[dict], latencies_ms: list[float] | None = None) -> dict:
    """Metrics over case outcomes (see outcome()); NaN where a category has no cases."""
    of = lambda *kinds: [r for r in rows if r["case"].kind in kinds]  # noqa: E731
    answerable, refusals = of(*ANSWERABLE), of(*REFUSALS)
    latencies = sorted(latencies_ms or [])
    return {
        "cases": len(rows),
        "kinds": dict(Counter(r["case"].kind for r in rows)),
        "hit@1": _share(answerable, "hit1"),
        "hit@3": _share(answerable, "hit3"),
        "answer_contains_expected": _share(answerable, "answer_has"),
        "abstention_recall": _share(refusals, "refused"),
        "abstention_recall_out_of_scope": _share(of("out_of_scope"), "refused"),
        "abstention_recall_medical": _share(of("medical"), "refused"),
        "abstention_recall_other_language": _share(of("other_language"), "refused"),
        "smalltalk_accuracy": _share(of("smalltalk"), "smalltalk"),
        "false_abstention": _share(answerable, "abstained"),
        "medical_without_referral": sum(1 for r in rows if r["no_referral"]),
        "latency_p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "latency_p95_ms": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else float("nan"),
        "failures": [
            {
                "id": r["case"].id,
                "kind": r["case"].kind,
                "question": r["case"].question,
                "reply_kind": r["reply_kind"],
                "abstained": r["abstained"],
                "expected": list(r["case"].expect),
                "got": r["got"],
            }
            for r in rows
            if failed(r)
        ],
    }


def run(bot, cases: list[Case]) -> dict:
    """Ask every case (with its history) and score the replies."""
    rows, latencies = [], []
    for case in cases:
        start = time.perf_counter()
        reply = bot.ask(case.question, [list(turn) for turn in case.history])
        latencies.append((time.perf_counter() - start) * 1000)
        rows.append(outcome(case, reply))
    return score(rows, latencies)


# --- loading dev corpora cheaply ---------------------------------------------------------------


class CachedEmbedder:
    """Remembers every text's vector, so re-asking a case under other settings costs no forward pass."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self._cache: dict[str, object] = {}

    def encode(self, texts: list[str], *args, **kwargs):
        import numpy as np

        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.inner.encode(missing, *args, **kwargs)):
                self._cache[text] = vector
        if not texts:
            return self.inner.encode(texts, *args, **kwargs)
        return np.stack([self._cache[t] for t in texts])

    def __getattr__(self, name: str):  # anything else (dim, backend, …) is the inner embedder's
        return getattr(self.inner, name)


def make_embedder(settings) -> CachedEmbedder:
    """The real embedder the settings name, once for every corpus, remembering vectors."""
    from assistant.embedder import SentenceEmbedder

    return CachedEmbedder(SentenceEmbedder(settings.model, threads=settings.model_threads or None))


def load_bot(corpus: DevCorpus, settings, index_dir: Path, embedder):
    """An Assistant over one dev corpus, with its index in index_dir (rebuilt only when stale)."""
    from assistant.engine import Assistant

    return Assistant.load(settings=settings.replace(corpus_dir=corpus.corpus_dir, index_dir=Path(index_dir)),
                          embedder=embedder)


def with_settings(bot, **changes):
    """The same loaded index and embedder under other settings. Uses Assistant.with_settings when the engine
    has one; otherwise a shallow copy with `settings` replaced, which covers every setting the engine reads
    at ask() time (not ones baked into the index or retriever when it loads)."""
    method = getattr(bot, "with_settings", None)
    if callable(method):
        return method(**changes)
    clone = copy.copy(bot)
    clone.settings = bot.settings.replace(**changes)
    return clone


# --- calibration and leave-one-corpus-out ------------------------------------------------------


def objective(m: Mapping) -> float:
    """What calibration maximises on one corpus: hit@1 + abstention recall - 2 x false abstention."""
    value = lambda key: 0.0 if math.isnan(m[key]) else m[key]  # noqa: E731
    return value("hit@1") + value("abstention_recall") - 2 * value("false_abstention")


def grid(base, calibrated: Mapping[str, Iterable] = CALIBRATED) -> list[dict]:
    """Every combination of the candidate values, the shipped settings first (so ties keep them)."""
    names = list(calibrated)
    unknown = [n for n in names if not hasattr(base, n)]
    if unknown:
        raise AssistantError(f"CALIBRATED names {', '.join(unknown)}, which Settings doesn't have; edit evaluate.py")
    shipped = {n: getattr(base, n) for n in names}
    values = [sorted(set(calibrated[n]) | {shipped[n]}) for n in names]
    combos = [dict(zip(names, combo)) for combo in itertools.product(*values)]
    return [shipped] + [c for c in combos if c != shipped]


def sweep(
    bots: Mapping[str, object],
    cases: Mapping[str, list[Case]],
    settings_grid: list[dict],
    progress: Callable[[str], None] | None = None,
) -> list[tuple[dict, dict[str, dict]]]:
    """Every setting of the grid scored on every corpus: [(changes, {corpus: metrics})]."""
    results = []
    for n, changes in enumerate(settings_grid, 1):
        if progress:
            progress(f"setting {n}/{len(settings_grid)}: {describe(changes)}")
        results.append((changes, {name: run(with_settings(bot, **changes), cases[name]) for name, bot in bots.items()}))
    return results


def choose(results: list[tuple[dict, dict[str, dict]]], train: Iterable[str]) -> dict:
    """The setting with the best mean objective on the training corpora. A setting that answers any
    medical question without a referral is ineligible; if every setting does, the fewest such answers wins."""
    train = list(train)

    def rank(item):
        _, by_corpus = item
        unsafe = sum(by_corpus[name]["medical_without_referral"] for name in train)
        return (-unsafe, statistics.fmean(objective(by_corpus[name]) for name in train))

    best = results[0]
    for item in results[1:]:
        if rank(item) > rank(best):  # strictly better, so ties keep the earlier (shipped) setting
            best = item
    return best[0]


def leave_one_out(results: list[tuple[dict, dict[str, dict]]]) -> dict[str, tuple[dict, dict]]:
    """For each corpus: the setting chosen on all the others, and its metrics on the held-out one."""
    names = list(results[0][1])
    if len(names) < 2:
        raise AssistantError("Leave-one-corpus-out needs at least two dev corpora")
    out = {}
    for held_out in names:
        chosen = choose(results, [n for n in names if n != held_out])
        metrics = next(by_corpus for changes, by_corpus in results if changes == chosen)[held_out]
        out[held_out] = (chosen, metrics)
    return out


# --- checking a question set against its corpus -------------------------------------------------

_MARKER = re.compile(r"(?<=[A-Za-z,.])\d+(?=[\s.;]|$)")  # footnote numbers glued to a word ("pain,12 ")
_SENTENCE_END = re.compile(r"[.!?]\s+\S")


def _body_lines(corpus_dir: Path) -> tuple[list[str], list[str]]:
    """The documents' lines split into quotable text and headings (Markdown headings, question lines,
    short unpunctuated .txt lines), footnote markers removed."""
    body, headings = [], []
    for path in sorted(Path(corpus_dir).rglob("*")):
        if path.suffix not in (".md", ".txt"):
            continue
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = _MARKER.sub("", raw.strip())
            text = re.sub(r"^(?:[-*•]|\d+[.)]|[QA][:.])\s*", "", line)
            if not text:
                continue
            heading = (
                line.startswith("#")
                or text.endswith("?")
                or (path.suffix == ".txt" and len(text) < 70 and not re.search(r"[.!:;,)]$", text) and text == line)
            )
            (headings if heading else body).append(text)
    return body, headings


def expect_problems(corpus_dir: Path, cases: list[Case], max_words: int = 12) -> list[str]:
    """Expect phrases that can't identify a quotable passage: absent, only in a heading or question line,
    spanning two sentences, or too long."""
    body, headings = _body_lines(corpus_dir)
    problems = []
    for case in cases:
        for phrase in case.expect:
            where = f"{case.id}: {phrase!r}"
            if not _found(phrase, body):
                why = "is only in a heading" if _found(phrase, headings) else "is not in the corpus"
                problems.append(f"{where} {why}")
            if _SENTENCE_END.search(phrase):
                problems.append(f"{where} spans two sentences")
            if len(phrase.split()) > max_words:
                problems.append(f"{where} is longer than {max_words} words")
    return problems


# --- reports ------------------------------------------------------------------------------------


def _f(value: float) -> str:
    return "–" if isinstance(value, float) and math.isnan(value) else f"{value:.3f}"


def describe(changes: Mapping) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "(shipped settings)"


def format_report(m: dict) -> str:
    lines = [
        f"cases                      {m['cases']}",
        f"hit@1                      {_f(m['hit@1'])}",
        f"hit@3                      {_f(m['hit@3'])}",
        f"answer contains expected   {_f(m['answer_contains_expected'])}",
        f"abstention recall          {_f(m['abstention_recall'])}  "
        f"(out of scope {_f(m['abstention_recall_out_of_scope'])}, medical {_f(m['abstention_recall_medical'])}, "
        f"other language {_f(m['abstention_recall_other_language'])})",
        f"small talk recognised      {_f(m['smalltalk_accuracy'])}",
        f"false abstention           {_f(m['false_abstention'])}",
        f"medical without referral   {m['medical_without_referral']}",
        f"latency p50 / p95          {m['latency_p50_ms']:.1f} ms / {m['latency_p95_ms']:.1f} ms",
    ]
    return "\n".join(lines)


COLUMNS = (
    ("cases", "cases"),
    ("hit@1", "hit@1"),
    ("hit@3", "hit@3"),
    ("answer has expected", "answer_contains_expected"),
    ("abstention recall", "abstention_recall"),
    ("out of scope", "abstention_recall_out_of_scope"),
    ("medical", "abstention_recall_medical"),
    ("other language", "abstention_recall_other_language"),
    ("small talk", "smalltalk_accuracy"),
    ("false abstention", "false_abstention"),
    ("medical w/o referral", "medical_without_referral"),
)


def format_table(by_corpus: Mapping[str, dict], settings: Mapping[str, dict] | None = None) -> str:
    """One Markdown row per corpus; with settings, a last column naming what each row was tuned to."""
    head = ["corpus", *(title for title, _ in COLUMNS)] + (["tuned on the other corpora"] if settings else [])
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * len(COLUMNS) + ("|---" if settings else "") + "|"]
    for name, m in by_corpus.items():
        cells = [name] + [str(m[key]) if isinstance(m[key], int) else _f(m[key]) for _, key in COLUMNS]
        if settings:
            cells.append(describe(settings[name]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
