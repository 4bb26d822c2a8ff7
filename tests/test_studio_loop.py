"""The staff loop through the library (assistant/studio.py) on the fake embedder: publish, edit, unpublish, bad input
that changes nothing, and the report's groups and trend."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pytest

from assistant.grouping import Asked, group
from assistant.questionlog import QuestionLog
from assistant.records import Citation, Reply
from assistant.studio import Conflict, NotFound, PublishError, Studio
from assistant.studiofaq import FAQ_FILE

MUSIC = "Do you have a couples room?"
ANSWER = "Yes, our couples room fits two massage tables side by side."
DAY = 86400.0


@pytest.fixture
def studio(bot, tmp_path):
    log = QuestionLog.open(tmp_path / "data")
    yield Studio(bot, log)
    log.close()


def snapshot(studio: Studio) -> tuple:
    path = studio.corpus_dir / FAQ_FILE
    return (path.read_bytes() if path.exists() else None, studio.bot.index.manifest["build"],
            studio.bot.ask(MUSIC).to_dict())


def test_publish_writes_the_entry_with_its_phrasings_and_checks_each_one(studio):
    change = studio.publish(MUSIC, ANSWER, also=["is there a room for two", "can we book a couples massage"])
    assert (studio.corpus_dir / FAQ_FILE).read_text(encoding="utf-8") == (
        f"# Studio FAQ\n\n## {MUSIC}\n\nAlso asked as:\n- is there a room for two\n- can we book a couples massage\n\n"
        f"{ANSWER}\n"
    )
    assert [c.phrasing for c in change.checks] == [MUSIC, "is there a room for two", "can we book a couples massage"]
    heading = change.checks[0]
    assert heading.cited and not heading.abstained and ANSWER in heading.answer
    reply = studio.bot.ask(MUSIC)  # live before publish returned: no restart, no watcher
    assert (reply.citations[0].source, reply.citations[0].section) == (FAQ_FILE, MUSIC)
    assert "Also asked as" not in reply.answer  # the phrasings are never quoted as the answer
    assert change.version == studio.faq().version != ""


def test_edit_answer_add_and_remove_phrasings_then_unpublish(studio):
    first = studio.publish(MUSIC, ANSWER, also=["can we book a couples massage"])
    edited = studio.edit(MUSIC, answer="Yes, book the couples massage room by phone.", add=["couples room price?"],
                         remove=["can we book a couples massage"], version=first.version)
    assert edited.entry.also == ("couples room price?",)
    assert edited.entry.answer == "Yes, book the couples massage room by phone."
    assert [c.phrasing for c in edited.checks] == [MUSIC, "couples room price?"]
    indexed = " ".join(p.text for p in studio.bot.index.passages if p.source == FAQ_FILE)
    assert indexed == "Yes, book the couples massage room by phone."  # re-indexed before edit() returned
    gone = studio.unpublish(MUSIC, version=edited.version)
    assert gone.entry is None and [c.phrasing for c in gone.checks] == [MUSIC, "couples room price?"]
    assert not any(c.cited for c in gone.checks)
    assert studio.faq().entries == () and not (studio.corpus_dir / FAQ_FILE).exists()
    assert all(c.source != FAQ_FILE for c in studio.bot.ask(MUSIC).citations)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda s: s.publish(MUSIC, ""), PublishError, "can't be empty"),
        (lambda s: s.publish(MUSIC, "a" * 10_000), PublishError, "10,000 characters"),
        (lambda s: s.publish(MUSIC, "Yes <script>alert(1)</script>"), PublishError, "HTML markup"),
        (lambda s: s.publish(MUSIC, "See [map](javascript:alert(1))."), PublishError, "Markdown link"),
        (lambda s: s.publish(MUSIC, "x"), PublishError, "needs words"),
        (lambda s: s.publish(MUSIC, "---"), PublishError, "needs words"),
        (lambda s: s.publish("Parking?", "Behind the studio.", also=["what about my music"]), Conflict,
         "already finds the entry 'Do you have a couples room\\?'"),
        (lambda s: s.publish("Parking?", "Behind the studio.", also=[MUSIC.lower()]), Conflict, "already finds"),
        (lambda s: s.publish(MUSIC.upper(), "No."), Conflict, "already answers"),
        (lambda s: s.edit("Parking?", add=["parking spot"]), NotFound, "no entry 'Parking\\?'"),
        (lambda s: s.edit(MUSIC, remove=["never added"]), NotFound, "no phrasing"),
        (lambda s: s.edit(MUSIC, remove=[MUSIC]), PublishError, "unpublish"),
        (lambda s: s.edit(MUSIC, answer="<b>bold</b>"), PublishError, "HTML markup"),
        (lambda s: s.unpublish("Parking?"), NotFound, "no entry"),
        (lambda s: s.edit(MUSIC, answer="Yes.", version="0" * 64), Conflict, "changed since you loaded it"),
    ],
)
def test_bad_input_changes_nothing_and_says_why(studio, call, error, message):
    studio.publish(MUSIC, ANSWER, also=["what about my music"])
    before = snapshot(studio)
    with pytest.raises(error, match=message):
        call(studio)
    assert snapshot(studio) == before


def test_an_edit_racing_a_hand_edit_of_the_file_is_refused(studio):
    loaded = studio.publish(MUSIC, ANSWER).version
    path = studio.corpus_dir / FAQ_FILE
    path.write_text(path.read_text(encoding="utf-8") + "\n## Parking?\n\nBehind the studio.\n", encoding="utf-8")
    hand = path.read_bytes()
    with pytest.raises(Conflict, match="hand edit"):
        studio.edit(MUSIC, answer="No.", version=loaded)
    with pytest.raises(Conflict, match="hand edit"):
        studio.unpublish(MUSIC, version=loaded)
    assert path.read_bytes() == hand  # the hand edit is kept
    assert studio.edit(MUSIC, answer="No.", version=studio.faq().version).entry.answer == "No."
    assert [e.question for e in studio.faq().entries] == [MUSIC, "Parking?"]


def test_a_change_the_parser_refuses_is_undone(studio, monkeypatch):
    studio.publish(MUSIC, ANSWER)
    before = snapshot(studio)
    from assistant import corpus

    real = corpus.parse

    def broken(doc, max_chars=600):
        if doc.source == FAQ_FILE and "Parking" in doc.text and MUSIC in doc.text:  # the whole file, not the entry
            raise corpus.CorpusError(f"{FAQ_FILE} has no text to answer from")
        return real(doc, max_chars)

    monkeypatch.setattr(corpus, "parse", broken)
    with pytest.raises(PublishError, match="was left as it was"):
        studio.publish("Parking?", "Behind the studio.")
    monkeypatch.setattr(corpus, "parse", real)
    assert snapshot(studio)[0] == before[0]
    assert studio.bot.info()["problems"] == []


# --- the report ---------------------------------------------------------------------------------

ANSWERED = Reply("Loose clothing. [1]", False, (Citation("g.txt", "Wear", "Loose clothing.", 0.8, (), "g.txt#3"),))
NARROW = Reply("Maybe. [1]", False, (Citation("g.txt", "Talk", "Some talk.", 0.36, (), "g.txt#9"),))
REFERRED = Reply("Sorry.", True, kind="out_of_scope")
SMALLTALK = Reply("Hello! Ask me about massage.", True, kind="smalltalk")
MEDICAL = Reply("Please ask your doctor.", True, kind="medical")


@dataclass(frozen=True)
class Margined(Reply):
    margin: float = 1.0


def test_the_report_has_four_groupings_and_a_trend(studio, bot):
    log, now = studio.questions, time.time()
    for q in ["do you have parking", "parking?", "do you have parking"]:
        log.record(q, REFERRED, 5, "api", now=now - DAY)
    log.record("hello", SMALLTALK, 5, "chat", now=now)  # small talk is never a gap to fill
    log.record("I'm pregnant", MEDICAL, 5, "chat", now=now)
    down = log.record("what clothing", ANSWERED, 5, "chat", now=now)
    log.feedback(down, -1, "too short")
    log.record("can I talk during the massage", NARROW, 5, "chat", now=now)  # no margin: the top score is near
    log.record("narrow call", Margined("x", False, ANSWERED.citations, margin=0.01), 5, "chat", now=now)
    log.record("clear call", Margined("x", False, ANSWERED.citations, margin=0.4), 5, "chat", now=now)
    for _ in range(3):
        log.record("what clothing", ANSWERED, 5, "widget", now=now)

    report = studio.report(days=7, now=now).to_dict()
    assert [(g["example"], g["count"]) for g in report["unanswered"]["groups"]] == [("do you have parking", 3)]
    assert report["unanswered"]["groups"][0]["questions"] == ["do you have parking", "parking?"]
    assert [(g["example"], g["down_votes"]) for g in report["rated_down"]["groups"]] == [("what clothing", 1)]
    low = {q for g in report["low_confidence"]["groups"] for q in g["questions"]}  # no margin (or the default 0.0):
    # the top citation's score decides
    assert low == {"can I talk during the massage", "narrow call"}
    top = report["most_asked"]["groups"][0]
    assert (top["example"], top["cited"]) == ("what clothing", "g.txt#3")
    assert report["counts"]["abstentions"] == 4  # the three referrals and the medical one; not the greeting
    trend = report["trend"]
    assert len(trend) == 8 and trend[-1]["date"] == time.strftime("%Y-%m-%d", time.gmtime(now))
    assert (trend[-2]["answered"], trend[-2]["referred"]) == (0, 3)
    assert (trend[-1]["answered"], trend[-1]["referred"], trend[-1]["down"]) == (7, 1, 1)
    assert sum(d["answered"] + d["referred"] for d in trend) == 11


def test_most_asked_shows_the_passage_it_was_answered_from(studio, bot):
    reply = bot.ask("What should I wear for a massage?")
    for _ in range(2):
        studio.questions.record("What should I wear for a massage?", reply, 5, "api")
    [top] = studio.report(days=1).to_dict()["most_asked"]["groups"]
    assert top["cited"] == reply.citations[0].passage_id and top["passage"] == reply.citations[0].text


def unit(*xs):
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_grouping_joins_the_nearest_group_and_keeps_its_bounds():
    vectors = {"a": unit(1, 0, 0), "a2": unit(0.95, 0.05, 0), "b": unit(0, 1, 0), "c": unit(0, 0, 1)}
    encode = lambda texts: np.stack([vectors[t] for t in texts])  # noqa: E731
    asked = [Asked(i, q) for i, q in enumerate(["a", "b", "a2", "a", "c", "b", "a"])]
    found = group(asked, encode)
    assert [(g.example, g.count, g.questions) for g in found] == [("a", 4, ("a", "a2")), ("b", 2, ("b",)),
                                                                   ("c", 1, ("c",))]
    assert found.left_out == 0
    bounded = group(asked, encode, max_distinct=2)  # only the two most asked wordings are embedded and grouped
    assert [(g.example, g.count) for g in bounded] == [("a", 3), ("b", 2)] and bounded.left_out == 2
    capped = group(asked, encode, max_groups=1)
    assert [(g.example, g.count) for g in capped] == [("a", 4)] and capped.left_out == 3


def test_grouping_many_distinct_questions_embeds_at_most_the_bound():
    rng = np.random.default_rng(0)
    texts = [f"q{i}" for i in range(5_000)]
    table = {t: v for t, v in zip(texts, rng.normal(size=(len(texts), 16)).astype(np.float32))}
    seen: list[int] = []

    def encode(batch):
        seen.append(len(batch))
        return np.stack([table[t] for t in batch])

    found = group([Asked(i, t) for i, t in enumerate(texts)], encode, max_distinct=1_000, max_groups=300)
    assert seen == [1_000]
    assert sum(g.count for g in found) + found.left_out == 5_000
    assert len(found) <= 300


def test_question_vectors_are_kept_in_the_log_so_a_restart_embeds_nothing_again(bot, tmp_path):
    from fakes import CountingEmbedder

    log = QuestionLog.open(tmp_path / "data")
    for q in ["do you have parking", "parking?", "gift cards"]:
        log.record(q, REFERRED, 5, "api")
    counting = CountingEmbedder()
    first = Studio(bot, log)
    first.vectors._encode = counting.encode
    assert first.warm(limit=2) == 2 and counting.calls == [["do you have parking", "parking?"]]
    assert first.warm() == 1 and first.warm() == 0
    restarted = Studio(bot, log)
    restarted.vectors._encode = counting.encode
    report = restarted.report(days=1)
    assert len(counting.calls) == 2  # nothing embedded again after the restart
    assert sum(g.count for g in report.sections["unanswered"]) == 3
    log.purge(now=time.time() + 91 * DAY)  # the questions age out, and their vectors with them
    assert log.vectors(["parking?"], first.vectors.model) == {}
    log.close()


def test_a_failed_re_index_puts_the_file_back(studio, monkeypatch):
    studio.publish(MUSIC, ANSWER)
    before = snapshot(studio)

    def fail() -> bool:
        raise RuntimeError("the model could not be loaded")

    monkeypatch.setattr(studio.bot, "refresh", fail)
    with pytest.raises(RuntimeError, match="could not be loaded"):
        studio.edit(MUSIC, answer="No.")
    monkeypatch.undo()
    assert snapshot(studio) == before


def test_publishing_embeds_only_the_new_entry_and_the_checked_phrasings(corpus_dir, tmp_path):
    from fakes import CountingEmbedder

    from assistant import Assistant

    counting = CountingEmbedder()
    bot = Assistant.load(corpus_dir=corpus_dir, index_dir=tmp_path / "index", embedder=counting)
    at_start = counting.texts_embedded  # the guide's passages and the topic examples
    studio = Studio(bot, QuestionLog.open(tmp_path / "data", enabled=False))
    counting.calls.clear()
    studio.publish(MUSIC, ANSWER, also=["is there a room for two"])
    embedded = [t for call in counting.calls for t in call]
    assert len(embedded) < 20 < at_start, embedded  # not the guide again, not the topic examples again
    assert all(("couples" in t or "room for two" in t or "massage tables" in t) for t in embedded), embedded


def test_markup_a_hand_edit_put_in_the_file_shows_in_the_report(studio):
    studio.publish(MUSIC, ANSWER)
    path = studio.corpus_dir / FAQ_FILE
    path.write_text(path.read_text(encoding="utf-8").replace(ANSWER, 'Yes <img src=x onerror="alert(1)">.'),
                    encoding="utf-8")
    problems = studio.report(days=1).problems
    assert len(problems) == 1 and "HTML markup" in problems[0] and MUSIC in problems[0]


def test_a_question_answered_through_the_journal_keeps_the_vector_it_was_asked_with(bot, tmp_path):
    from fakes import CountingEmbedder

    from assistant.web.journal import Journal

    log = QuestionLog.open(tmp_path / "data")
    journal = Journal(bot, log, model=bot.embedder.name)
    journal.ask("Is  there soothing music?", surface="api")  # logged with its spaces collapsed
    journal.ask("hola, ¿qué tal?", surface="api")  # another language: never embedded, so no vector to keep
    (kept,) = log.vectors(["Is there soothing music?", "hola, ¿qué tal?"], bot.embedder.name).values()
    assert np.allclose(kept, bot.embedder.encode(["Is there soothing music?"])[0])
    counting = CountingEmbedder()
    studio = Studio(bot, log)
    studio.vectors._encode = counting.encode
    assert studio.warm() == 1 and counting.calls == [["hola, ¿qué tal?"]]  # only the one never embedded
    assert Journal(bot, log).ask("music?", surface="api").ask_id  # no model named: logged, no vector kept
    assert log.vectors(["music?"], bot.embedder.name) == {}
    log.close()
