"""Hits → a short extractive reply with [n] markers, or a kind, deliberate referral."""

from __future__ import annotations

import re
from dataclasses import replace

from collections.abc import Callable

from assistant.records import Citation, Hit, Passage, Reference, Reply

OUT_OF_SCOPE = "Sorry, I can't answer that from our guide. {contact}"
MEDICAL = (
    "I can't answer that from our guide: it's about your own health, and that deserves advice from someone "
    "who knows your situation. Please ask your doctor, or a licensed massage therapist, before you book. {contact}"
)
_RESEARCH = re.compile(r"\b(research\w*|stud(y|ies)|evidence|proof|proven|scien\w*|clinical|trials?|papers?|sources?)\b", re.I)


def referral(kind: str, contact: str, margin: float = 0.0) -> Reply:
    template = MEDICAL if kind == "medical" else OUT_OF_SCOPE
    return Reply(answer=template.format(contact=contact).strip(), abstained=True, kind=kind, margin=margin)


def fixed(kind: str, text: str, contact: str = "", margin: float = 0.0) -> Reply:
    """A reply that quotes no document: another language, or small talk."""
    return Reply(answer=f"{text} {contact}".strip(), abstained=True, kind=kind, margin=margin)


def smalltalk(text: str, lead: str, examples: list[str], margin: float = 0.0) -> Reply:
    lines = [text]
    if examples:
        lines.append(lead + "\n" + "\n".join(f"- {e}" for e in examples))
    return Reply(answer="\n\n".join(lines), abstained=True, kind="smalltalk", margin=margin)


def caution(reply: Reply, referral_text: str, contact: str) -> Reply:
    """A personal-health answer: the documents' words, and always the referral to a doctor."""
    return replace(reply, answer=f"{reply.answer}\n\n{referral_text} {contact}".strip(), kind="caution")


def from_facts(facts, source: str, contact: str, max_age_days: int, today=None) -> Reply:
    """Quote the studio's own facts for a topic, flagging any not checked for a while."""
    from assistant.facts import is_stale

    lines = [f"{f.answer} [{i}]" for i, f in enumerate(facts, 1)]
    stale = [f for f in facts if is_stale(f, max_age_days, today)]
    answer = " ".join(lines)
    if stale:
        oldest = min(f.checked for f in stale)
        answer += f"\n\nThis was last checked on {oldest.isoformat()}, so it may be out of date. {contact}"
    citations = tuple(Citation(source, f.title, f.answer, 1.0, passage_id=f"{source}#{f.topic}") for f in facts)
    return Reply(answer=answer, abstained=False, citations=citations, kind="studio")


def compose(
    question: str,
    hits: list[Hit],
    max_citations: int = 3,
    min_support: float = 0.30,
    margin: float = 0.06,
    max_sentences: int = 2,
    items: Callable[[Passage], list[Passage]] = lambda p: [],
) -> Reply:
    """Quote the best passage, plus a close runner-up; cite up to max_citations passages.
    A sentence that introduces a list ("…outcomes, including:") is quoted with its items."""
    if _RESEARCH.search(question):
        hits = _research_first(hits)
    top = hits[0]
    cited = [top] + [h for h in hits[1:] if h.dense >= min_support and h.passage.quote != top.passage.quote]
    cited = cited[:max_citations]
    quoted = [top] + [h for h in cited[1:] if h.dense >= top.dense - margin][: max_sentences - 1]

    expanded = {id(h): _with_items(h, items(h.passage)) for h in cited}
    cited = [expanded[id(h)] for h in cited]
    quoted = [expanded[id(h)] for h in quoted]
    lines = [f"{_sentence(h.passage.quote)} [{cited.index(h) + 1}]" for h in quoted]
    answer = " ".join(lines)
    if _RESEARCH.search(question):
        studies = _unique_refs(quoted)
        if studies:
            answer += "\n\nStudies cited:\n" + "\n".join(f"- Study {r.number}: {r.title}" for r in studies)
    citations = tuple(
        Citation(h.passage.source, h.passage.section, h.passage.quote, h.score, h.passage.references, h.passage.id)
        for h in cited
    )
    return Reply(answer=answer, abstained=False, citations=citations, kind="answer", hits=tuple(hits))


def _with_items(hit: Hit, items: list[Passage]) -> Hit:
    """A list's lead-in sentence, joined with its items and their references."""
    if not items:
        return hit
    p = hit.passage
    refs = {r.number: r for x in [p, *items] for r in x.references}
    text = f"{p.text} " + "; ".join(x.text for x in items)
    merged = replace(p, text=text, references=tuple(refs[n] for n in sorted(refs)))
    return replace(hit, passage=merged)


def _research_first(hits: list[Hit], margin: float = 0.12) -> list[Hit]:
    """For 'is there research…' questions, prefer a close passage that cites studies."""
    best = hits[0].dense
    with_refs = [h for h in hits if h.passage.references and h.dense >= best - margin]
    if not with_refs or with_refs[0] is hits[0]:
        return hits
    return [with_refs[0]] + [h for h in hits if h is not with_refs[0]]


def _unique_refs(hits: list[Hit]) -> list[Reference]:
    seen: dict[int, Reference] = {}
    for h in hits:
        for r in h.passage.references:
            seen.setdefault(r.number, r)
    return [seen[n] for n in sorted(seen)]


def _sentence(text: str) -> str:
    text = text.strip()
    if text.endswith((":", ";", ",")):
        text = text[:-1]
    return text if text.endswith((".", "!", "?", ")")) else text + "."
