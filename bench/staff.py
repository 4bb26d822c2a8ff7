"""Sections 6 and 7: the staff loop on the real model.

publish: publish an answer → the next client question cites it. A fresh copy of the guide is indexed once, then
each round publishes one entry (with two phrasings) through `Studio.publish` (write the file, re-index only what
changed, check every phrasing) and asks the question as a client would. For comparison, the same corpus is
re-embedded from scratch (`open_index(force=True)`: what every publish cost before incremental builds).

grouping: the staff report with 1,000, 5,000 and 20,000 distinct questions logged (synthetic, bigram-chain
questions over the guide's words; all unanswered, the worst case for grouping). Cold: the very first report
(no question embedded yet); warm: the next one; restarted: a new Studio on the same log (vectors kept in the log).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, median

ENTRIES = (  # (question, answer, other phrasings): one published per round
    ("Can my friend wait in the lounge during my massage?", "Yes. Your friend may wait in the lounge with tea.",
     ("can someone come with me", "is there a waiting area for my partner")),
    ("Do you sell gift cards?", "Yes. Gift cards are sold at the front desk and never expire.",
     ("can I buy a voucher", "do you have gift certificates")),
    ("Is there parking at the studio?", "Yes. Free parking is behind the building, next to the bakery.",
     ("where do I park", "is parking free")),
    ("Can I bring my own music?", "Yes. Bring a playlist on your phone and we will play it through the speaker.",
     ("is it ok to play my own songs", "can you put on my spotify")),
    ("Do you have a couples room?", "Yes. Our couples room fits two massage tables side by side.",
     ("is there a room for two", "can we book together")),
)
ROUNDS = len(ENTRIES)
SIZES = (1_000, 5_000, 20_000)


def _bot(corpus: Path, index: Path):
    from assistant import Assistant

    return Assistant.load(corpus_dir=corpus, index_dir=index)


def run_publish(quick: bool) -> dict:
    from assistant import store
    from assistant.questionlog import QuestionLog
    from assistant.studio import Studio

    work = Path(tempfile.mkdtemp(prefix="massage-publish-"))
    try:
        corpus = work / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        (corpus / "studio-faq.md").unlink(missing_ok=True)
        bot = _bot(corpus, work / "index")
        studio = Studio(bot, QuestionLog.open(work / "data", enabled=False))
        rounds = 2 if quick else ROUNDS
        to_live, publish_s, edit_s, unpublish_s, cited = [], [], [], [], []
        for question, answer, also in ENTRIES[:rounds]:
            start = time.perf_counter()
            change = studio.publish(question, answer, also=list(also))
            publish_s.append(time.perf_counter() - start)
            reply = bot.ask(question)
            to_live.append(time.perf_counter() - start)
            cited.append(bool(reply.citations) and reply.citations[0].source == "studio-faq.md")
            start = time.perf_counter()
            change = studio.edit(question, add=[f"{question.rstrip('?')} please"], version=change.version)
            edit_s.append(time.perf_counter() - start)
        for question, _, _ in ENTRIES[:rounds]:
            start = time.perf_counter()
            studio.unpublish(question)
            unpublish_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        store.open_index(corpus, work / "index", bot.embedder, force=True)
        full = time.perf_counter() - start
        return {
            "rounds": rounds,
            "publish_to_cited_s": to_live,
            "publish_s": publish_s,
            "edit_s": edit_s,
            "unpublish_s": unpublish_s,
            "cited": cited,
            "full_rebuild_s": full,
            "passages": len(bot.index.passages),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _questions(count: int, seed: int = 7) -> list[str]:
    from synthetic import GUIDE, SentenceMaker

    maker = SentenceMaker(GUIDE.read_text(encoding="utf-8"), seed)
    seen: dict[str, None] = {}
    while len(seen) < count:
        words = maker.sentence().rstrip(".").split()
        seen.setdefault(" ".join(words[: maker.rng.randint(4, 10)]) + "?", None)
    return list(seen)


def run_grouping(quick: bool) -> dict:
    from assistant.questionlog import QuestionLog
    from assistant.records import Reply
    from assistant.studio import Studio
    from assistant.grouping import MAX_DISTINCT, MAX_GROUPS

    sizes = (1_000,) if quick else SIZES
    referred = Reply("Sorry, I can't answer that from our guide.", True, kind="out_of_scope")
    work = Path(tempfile.mkdtemp(prefix="massage-grouping-"))
    try:
        bot = _bot(ROOT / "corpus", work / "index")
        out = {}
        for size in sizes:
            log = QuestionLog.open(work / f"data-{size}")
            now = time.time()
            for i, q in enumerate(_questions(size)):
                log.record(q, referred, 10.0, "api", now=now - (i % 7) * 86400)
            studio = Studio(bot, log)
            start = time.perf_counter()
            report = studio.report(days=7)
            cold = time.perf_counter() - start
            warm, restarted = [], []
            for _ in range(3):
                start = time.perf_counter()
                studio.report(days=7)
                warm.append(time.perf_counter() - start)
                start = time.perf_counter()
                Studio(bot, log).report(days=7)
                restarted.append(time.perf_counter() - start)
            unanswered = report.sections["unanswered"]
            out[str(size)] = {
                "distinct": size,
                "cold_s": cold,
                "warm_s": median(warm),
                "restarted_s": median(restarted),
                "groups": len(unanswered.groups),
                "grouped": sum(g.count for g in unanswered.groups),
                "left_out": unanswered.left_out,
            }
            log.close()
        return {"sizes": out, "max_distinct": MAX_DISTINCT, "max_groups": MAX_GROUPS}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render_publish(r: dict) -> list[str]:
    live = median(r["publish_to_cited_s"])
    return [
        f"The guide plus one studio entry per round ({r['passages']} passages), {r['rounds']} rounds, medians. "
        "`publish` writes corpus/studio-faq.md, re-indexes (re-embedding only the texts that changed), and asks "
        "every phrasing once to show staff what clients now get; the client question after it is then timed too.",
        "",
        "| step | median s | all rounds s |",
        "| --- | ---: | --- |",
        f"| publish → the next client question cites it | {live:.2f} | "
        f"{', '.join(f'{v:.2f}' for v in r['publish_to_cited_s'])} |",
        f"| `Studio.publish` alone (write, re-index, check 3 phrasings) | {median(r['publish_s']):.2f} | "
        f"{', '.join(f'{v:.2f}' for v in r['publish_s'])} |",
        f"| `Studio.edit` (add a phrasing) | {median(r['edit_s']):.2f} | {', '.join(f'{v:.2f}' for v in r['edit_s'])} |",
        f"| `Studio.unpublish` | {median(r['unpublish_s']):.2f} | {', '.join(f'{v:.2f}' for v in r['unpublish_s'])} |",
        f"| for comparison: re-embedding the whole corpus (every publish before) | {r['full_rebuild_s']:.2f} | |",
        "",
        f"Cited first after publishing: {sum(r['cited'])} of {len(r['cited'])}.",
    ]


def render_grouping(r: dict) -> list[str]:
    lines = [
        f"Distinct unanswered questions logged over 7 days, all asked once (the worst case). Bounds "
        f"(`assistant/grouping.py`): at most {r['max_distinct']:,} distinct questions grouped per section, the most "
        f"asked first, into at most {r['max_groups']} groups; the rest are counted as left out (and are in the CSV). "
        "Cold = the very first report, nothing embedded yet (the grouped questions are embedded once, then kept in "
        "the question log); warm = the next load; restarted = a new `Studio` on the same log (after a restart: the "
        "vectors come from the log). Medians of 3. A served app also embeds newly logged questions in the "
        "background (256 every 10 s) once the report has been opened, so a report rarely starts cold.",
        "",
        "| distinct questions | report cold s | warm s | restarted s | groups | questions grouped | left out |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in sorted(r["sizes"].values(), key=lambda s: s["distinct"]):
        lines.append(f"| {s['distinct']:,} | {s['cold_s']:.2f} | {s['warm_s']:.2f} | {s.get('restarted_s', float('nan')):.2f} | "
                     f"{s['groups']} | {s['grouped']:,} | {s['left_out']:,} |")
    return lines
