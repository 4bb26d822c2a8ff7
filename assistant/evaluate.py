"""Run the assistant over a JSONL question set and measure retrieval, answers, abstention and latency."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError

KINDS = ("in_scope", "follow_up", "out_of_scope", "medical")


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    question: str
    history: tuple[tuple[str, str], ...]
    expect: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return self.kind in ("in_scope", "follow_up")


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
                )
            except (ValueError, KeyError, TypeError) as e:
                raise AssistantError(f"{path}:{n} is not a valid case ({e}); see eval/questions.jsonl") from None
            if case.kind not in KINDS:
                raise AssistantError(f"{path}:{n} has kind {case.kind!r}; use one of {', '.join(KINDS)}")
            cases.append(case)
    return cases


def _hit(texts: list[str], expect: tuple[str, ...]) -> bool:
    return any(e.lower() in t.lower() for t in texts for e in expect)


def run(bot, cases: list[Case]) -> dict:
    """Metrics over the cases, plus the failures for inspection."""
    rows = []
    latencies = []
    for case in cases:
        start = time.perf_counter()
        reply = bot.ask(case.question, list(case.history))
        latencies.append((time.perf_counter() - start) * 1000)
        texts = [c.text for c in reply.citations]
        rows.append(
            {
                "case": case,
                "abstained": reply.abstained,
                "hit1": _hit(texts[:1], case.expect),
                "hit3": _hit(texts[:3], case.expect),
                "answer_has": any(e.lower() in reply.answer.lower() for e in case.expect),
                "reply": reply,
            }
        )
    answerable = [r for r in rows if r["case"].answerable]
    refusals = [r for r in rows if not r["case"].answerable]
    out_of_scope = [r for r in rows if r["case"].kind == "out_of_scope"]
    medical = [r for r in rows if r["case"].kind == "medical"]

    def share(items, key) -> float:
        return sum(1 for r in items if r[key]) / len(items) if items else float("nan")

    latencies.sort()
    return {
        "cases": len(rows),
        "hit@1": share(answerable, "hit1"),
        "hit@3": share(answerable, "hit3"),
        "answer_contains_expected": share(answerable, "answer_has"),
        "abstention_recall": share(refusals, "abstained"),
        "abstention_recall_out_of_scope": share(out_of_scope, "abstained"),
        "abstention_recall_medical": share(medical, "abstained"),
        "false_abstention": share(answerable, "abstained"),
        "latency_p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "latency_p95_ms": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else float("nan"),
        "failures": [
            {
                "id": r["case"].id,
                "kind": r["case"].kind,
                "question": r["case"].question,
                "abstained": r["abstained"],
                "expected": list(r["case"].expect),
                "got": [c.text[:90] for c in r["reply"].citations],
            }
            for r in rows
            if (r["case"].answerable and (not r["hit1"] or r["abstained"])) or (not r["case"].answerable and not r["abstained"])
        ],
    }


def format_report(m: dict) -> str:
    lines = [
        f"cases                      {m['cases']}",
        f"hit@1                      {m['hit@1']:.3f}",
        f"hit@3                      {m['hit@3']:.3f}",
        f"answer contains expected   {m['answer_contains_expected']:.3f}",
        f"abstention recall          {m['abstention_recall']:.3f}  "
        f"(out of scope {m['abstention_recall_out_of_scope']:.3f}, medical {m['abstention_recall_medical']:.3f})",
        f"false abstention           {m['false_abstention']:.3f}",
        f"latency p50 / p95          {m['latency_p50_ms']:.1f} ms / {m['latency_p95_ms']:.1f} ms",
    ]
    return "\n".join(lines)
