"""Assistant end to end on the fake embedder: bad input, the reply contract, abstentions, grounded answers."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from assistant import Assistant, BadQuestion, CorpusError, Settings
from assistant.settings import DEFAULT_CONTACT
from assistant.batching import BatchingEmbedder
from guide_text import GUIDE, guide_contains
from fakes import CountingEmbedder, FakeEmbedder

FAKE_TOPICS = Path(__file__).resolve().parent / "fake_topics.toml"

ANSWERABLE = [
    "which clothing is best?",
    "sleep",
    "tell me about shiatsu",
    "trigger point discomfort",
    "music in the room",
    "massage health outcomes",  # the lead-in sentence, quoted with its list
]


def snapshot(*roots: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under the roots: size, modification time and content hash."""
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                stat = path.stat()
                out[str(path)] = (stat.st_size, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "Please type a question"),
        ("   \t\n ", "Please type a question"),
        ("\x00\x07", "Please type a question"),
        ("\u200b\u200c\u2060\ufeff", "Please type a question"),  # zero-width characters only
        ("why?" * 25_000, "100,000 characters long; please keep it under 1,000"),
        (None, "must be text, not NoneType"),
        (42, "must be text, not int"),
    ],
)
def test_bad_question_is_refused_clearly_and_changes_nothing(bot, corpus_dir, index_dir, question, message):
    before = snapshot(corpus_dir, index_dir)
    with pytest.raises(BadQuestion, match=re.escape(message)):
        bot.ask(question)
    assert snapshot(corpus_dir, index_dir) == before


@pytest.mark.parametrize(
    "history",
    ["What is shiatsu?", [("only one",)], [("a", "b", "c")], [["q", 3]], 7],
)
def test_malformed_history_is_refused(bot, history):
    with pytest.raises(BadQuestion, match=r"history must be a list of \[question, answer\] pairs"):
        bot.ask("What should I wear for it?", history)


def test_question_at_the_limit_is_accepted(bot):
    reply = bot.ask("clothing " + "x" * (bot.settings.max_question_chars - len("clothing ")))
    assert reply.abstained is False


def test_control_characters_are_cleaned_not_refused(bot):
    assert bot.ask("which\x00 clothing\x1b is best?") == bot.ask("which  clothing  is best?")


# --- the reply contract -------------------------------------------------------------------------


@pytest.mark.parametrize("question", ANSWERABLE)
def test_answer_to_dict_has_exactly_the_contract_keys(bot, question):
    d = bot.ask(question).to_dict()
    assert set(d) == {"answer", "abstained", "citations", "kind"}
    assert isinstance(d["answer"], str) and d["answer"]
    assert d["abstained"] is False
    assert 1 <= len(d["citations"]) <= bot.settings.max_citations
    for c in d["citations"]:
        assert set(c) == {"source", "section", "text", "score", "references"}
        assert c["source"] == GUIDE.name
        assert isinstance(c["section"], str) and isinstance(c["text"], str) and isinstance(c["score"], float)
        for r in c["references"]:
            assert set(r) == {"number", "title"} and isinstance(r["number"], int) and r["title"]
    assert json.loads(json.dumps(d)) == d


def test_citations_are_best_first(bot):
    d = bot.ask("music in the room").to_dict()
    scores = [c["score"] for c in d["citations"]]
    assert scores == sorted(scores, reverse=True)
    # the best sentence, quoted after the one before it that speaks of the music too
    assert d["citations"][0]["text"] == (
        "Soothing music might be playing in the background. The room is dimly lit and the client's eyes are closed."
    )


# --- abstaining ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("what is your price?", "out_of_scope"),
        ("What are your opening hours?", "out_of_scope"),
        ("quantum chromodynamics", "out_of_scope"),  # nothing in the documents is close
        ("I'm pregnant, can I get a massage?", "medical"),
        ("I take blood thinners, is massage ok?", "medical"),
    ],
)
def test_abstentions_have_no_citations_and_give_the_contact_line(bot, question, kind):
    reply = bot.ask(question)
    assert reply.kind == kind
    assert reply.to_dict() == {"answer": reply.answer, "abstained": True, "citations": [], "kind": kind}
    assert DEFAULT_CONTACT in reply.answer
    assert not re.search(r"\[\d+\]", reply.answer)


def test_medical_referral_points_to_a_professional(bot):
    answer = bot.ask("I have blood clots, is massage safe?").answer
    assert "doctor" in answer and "licensed massage therapist" in answer


def test_configured_contact_line_is_used(corpus_dir, index_dir):
    contact = "Call Lotus Studio on 555-0100, Monday to Saturday."
    bot = Assistant.load(
        corpus_dir=corpus_dir, index_dir=index_dir, embedder=FakeEmbedder(), settings=Settings(contact=contact)
    )
    for question in ("what is your price?", "I'm pregnant, can I get a massage?", "quantum chromodynamics"):
        reply = bot.ask(question)
        assert reply.abstained and reply.answer.endswith(contact)
        assert DEFAULT_CONTACT not in reply.answer


def test_contact_line_comes_from_the_environment(monkeypatch, corpus_dir, index_dir):
    monkeypatch.setenv("MASSAGE_CONTACT", "Text Mia at the desk.")
    bot = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=FakeEmbedder())
    assert bot.ask("what is your price?").answer.endswith("Text Mia at the desk.")


# --- grounded answers ---------------------------------------------------------------------------


def segments(answer: str) -> list[tuple[str, int]]:
    """(sentence, marker number) for each quoted sentence in the answer's first paragraph."""
    first = answer.split("\n\n")[0]
    found = re.findall(r"\s*(.+?) \[(\d+)\]", first)
    assert "".join(f"{s} [{n}]" for s, n in found).replace(" ", "") == first.replace(" ", ""), first
    return [(s, int(n)) for s, n in found]


@pytest.mark.parametrize("question", ANSWERABLE)
def test_every_marker_points_to_a_citation_and_quotes_it_verbatim(bot, question):
    reply = bot.ask(question)
    quoted = segments(reply.answer)
    assert 1 <= len(quoted) <= 2
    assert [n for _, n in quoted] == list(range(1, len(quoted) + 1))
    for sentence, n in quoted:
        citation = reply.citations[n - 1]
        assert sentence.rstrip(".:;,") == citation.text.rstrip(".:;,")
        assert guide_contains(citation.text), citation.text
    for citation in reply.citations:
        assert guide_contains(citation.text), citation.text


def test_guide_contains_rejects_invented_text():
    assert guide_contains("Soothing music might be playing in the background.")
    assert guide_contains("Massage therapy in general has been shown to effectively promote a range of positive "
                          "health and wellness outcomes, including: Facilitating better sleep; Promoting "
                          "cardiovascular health by lowering blood pressure")
    assert not guide_contains("Soothing music is always playing in the background.")
    assert not guide_contains("Massage therapy cures back pain.")
    assert not guide_contains("Massage therapy in general has been shown to effectively promote a range of positive "
                              "health and wellness outcomes, including: Curing insomnia")


def test_clothing_question_cites_the_clothing_sentence(bot):
    reply = bot.ask("which clothing is best?")
    assert reply.citations[0].text == (
        "Thinner, loose-fitting clothing is best (think gym shorts or leggings and a t-shirt)."
    )
    assert reply.citations[0].section == "What to expect at your first back massage"


def test_research_question_lists_the_studies_it_cites(bot):
    reply = bot.ask("is there research on sleep?")
    top = reply.citations[0]
    assert "Facilitating better sleep" in top.text
    assert [r.number for r in top.references] == [12, 13]
    assert "Studies cited:" in reply.answer
    for r in top.references:
        assert f"Study {r.number}: {r.title}" in reply.answer


def test_follow_up_uses_the_previous_question(bot):
    question = "what about clothing for it?"
    alone = bot.ask(question)
    after = bot.ask(question, [("Tell me about shiatsu", "Shiatsu (Japanese acupressure massage).")])
    assert "loose-fitting clothing" in after.citations[0].text
    # the earlier turn pulls the shiatsu passages up, which the question alone never reaches
    shiatsu = "Shiatsu (Japanese acupressure massage)"
    assert shiatsu in [h.passage.text for h in after.hits[:3]]
    assert shiatsu not in [h.passage.text for h in alone.hits[:3]]


def test_history_none_and_empty_are_the_same(bot):
    assert bot.ask("sleep", None) == bot.ask("sleep", [])


def test_search_returns_hits_without_the_answer_policy(bot):
    hits = bot.search("how much clothing", k=2)  # a price question to ask(), a plain query to search()
    assert len(hits) == 2
    assert "loose-fitting clothing" in hits[0].passage.text


# --- loading ------------------------------------------------------------------------------------


def test_load_reports_what_it_serves(bot, index_dir):
    info = bot.info()
    assert info["model"] == "fake"
    assert info["passages"] == 42
    assert info["index"] == str(index_dir)
    assert info["sources"] == [GUIDE.name]
    assert info["problems"] == []


def test_second_load_reuses_the_saved_index(corpus_dir, index_dir):
    Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=FakeEmbedder())
    counting = CountingEmbedder()
    bot = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=counting)
    examples = [e for t in bot._state.topics.topics for e in t.examples]
    assert counting.calls == [examples]  # only the topic examples, once, in one batch; no passage
    assert bot.ask("which clothing is best?").abstained is False
    assert len(counting.calls) == 2 and counting.calls[1] == ["which clothing is best?"]  # one pass per question


def test_truncated_index_file_is_rebuilt_on_load(corpus_dir, index_dir):
    Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=FakeEmbedder())
    build = index_dir / json.loads((index_dir / "manifest.json").read_text())["build"]
    victim = build / "vectors.faiss"
    victim.write_bytes(victim.read_bytes()[:100])
    bot = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=FakeEmbedder())
    assert "loose-fitting clothing" in bot.ask("which clothing is best?").citations[0].text


def _non_utf8(d: Path) -> None:
    (d / "menu.txt").write_bytes("Massage \xa360, caf\xe9".encode("latin-1"))


def _empty_file(d: Path) -> None:
    (d / "menu.txt").write_text("", encoding="utf-8")


def _only_headings(d: Path) -> None:
    (d / "menu.md").write_text("# Menu\n\n## Prices\n", encoding="utf-8")


def _duplicate(d: Path) -> None:
    shutil.copy(GUIDE, d / "menu.txt")


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_non_utf8, r"menu\.txt is not UTF-8"),
        (_empty_file, r"menu\.txt is empty"),
        (_only_headings, r"menu\.md has no text to answer from"),
        (_duplicate, r"menu\.txt duplicates back-massage-guide\.txt"),
    ],
)
def test_unusable_corpus_file_is_named(corpus_dir, index_dir, spoil, message):
    spoil(corpus_dir)
    with pytest.raises(CorpusError, match=message):
        Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=FakeEmbedder())


def test_empty_corpus_is_refused(tmp_path):
    (tmp_path / "corpus").mkdir()
    with pytest.raises(CorpusError, match=r"has no \.md, \.txt, \.html, \.docx or \.pdf files; add the guide"):
        Assistant.load(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", embedder=FakeEmbedder())


def test_broken_corpus_after_a_good_build_keeps_answering_and_says_why(corpus_dir, index_dir):
    Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=FakeEmbedder())
    _non_utf8(corpus_dir)
    bot = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=FakeEmbedder())
    assert bot.ask("which clothing is best?").abstained is False
    (problem,) = bot.info()["problems"]
    assert "menu.txt is not UTF-8" in problem


@pytest.mark.parametrize(("model_threads", "max_batch", "threads", "batched"), [(1, 8, 1, True), (0, 1, None, False)])
def test_load_builds_the_embedder_from_settings(monkeypatch, corpus_dir, index_dir, model_threads, max_batch, threads,
                                                batched):
    made = []

    def embedder(model, threads):
        made.append((model, threads))
        return FakeEmbedder()

    monkeypatch.setattr("assistant.engine.SentenceEmbedder", embedder)
    settings = Settings(corpus_dir=corpus_dir, index_dir=index_dir, model_threads=model_threads, max_batch=max_batch)
    bot = Assistant.load(settings=settings)
    assert made == [("", threads)]
    assert isinstance(bot.embedder, BatchingEmbedder) is batched
    assert bot.ask("music in the room").citations  # and it answers through whichever it is


# --- decisions from the topics file (tests/fake_topics.toml: one fake-vocabulary word per topic) --------


def test_small_talk_is_answered_with_the_documents_own_examples(bot):
    reply = bot.ask("hello")
    assert reply.kind == "smalltalk" and reply.abstained is True and reply.citations == ()
    assert reply.answer.startswith("Hello!") and reply.answer.count("\n- ") >= 2
    assert reply.margin > 0


def test_weather_is_off_topic_and_price_is_studio_business_the_guide_never_answers(bot):
    for question in ("weather", "what is your price?"):
        reply = bot.ask(question)
        assert reply.kind == "out_of_scope" and reply.abstained is True


def test_every_reply_kind_is_a_contract_kind(bot):
    from assistant.records import KINDS

    for question in ("hello", "weather", "what is your price?", "I'm pregnant", "which clothing is best?"):
        assert bot.ask(question).to_dict()["kind"] in KINDS


def test_a_health_keyword_without_a_passage_naming_it_gets_the_referral(bot):
    reply = bot.ask("I take blood thinners, which clothing is best?")  # clothing passages never name thinners
    assert reply.kind == "medical" and reply.citations == ()


def test_a_health_question_a_passage_speaks_to_is_quoted_with_the_referral(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "care.md").write_text(
        "# Care\n\nWe treat pregnant clients from the second trimester with extra pillows.\n\nWe play music.\n",
        encoding="utf-8",
    )
    shutil.copy(FAKE_TOPICS, corpus / "topics.toml")
    bot = Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=fake_embedder)
    reply = bot.ask("I'm pregnant, can I come?")
    assert reply.kind == "caution" and reply.abstained is False
    assert reply.citations[0].text.startswith("We treat pregnant clients")
    assert reply.answer.endswith(bot.contact) and "doctor" in reply.answer


def health_bot(tmp_path, care: str, health: str, vocabulary: tuple[str, ...]) -> Assistant:
    """An assistant over one care page, with one health topic ('conditions') whose keys are `health` (TOML)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "care.md").write_text(f"# Care\n\n{care}\n\nWe play music.\n", encoding="utf-8")
    (corpus / "topics.toml").write_text(
        'replace_defaults = true\n[[topic]]\nname = "conditions"\nkind = "health"\nexamples = ["pregnant"]\n'
        f"{health}\n",
        encoding="utf-8",
    )
    return Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=FakeEmbedder(vocabulary))


@pytest.mark.parametrize(("keywords", "kind"), [('[["surgery", "operation"]]', "caution"), ('["surgery", "operation"]', "medical")])
def test_a_passage_naming_another_word_of_the_keyword_family_is_quoted_with_the_referral(tmp_path, keywords, kind):
    bot = health_bot(tmp_path, "Clients who had surgery can come six weeks later, with a note from their doctor.",
                     f"keywords = {keywords}", ("come", "operation", "surgery", "music", "pregnant"))
    reply = bot.ask("I had an operation, can I come?")  # the passage says "surgery", never "operation"
    assert reply.kind == kind and "doctor" in reply.answer
    assert [c.text[:19] for c in reply.citations] == (["Clients who had sur"] if kind == "caution" else [])


def test_a_health_question_is_quoted_from_the_passage_naming_most_of_what_it_names(tmp_path):
    bot = health_bot(
        tmp_path,
        "We offer a pregnancy massage from the second trimester.\n\n"
        "Talk to your midwife first if you are pregnant and have high blood pressure.",
        'keywords = [["pregnant", "pregnancy", "expecting"], ["blood pressure", "bp"]]',
        ("massage", "music", "offer", "come"),  # no shared word: naming alone decides
    )
    reply = bot.ask("expecting and my bp is high, can I come?")
    assert reply.kind == "caution" and reply.citations[0].text.startswith("Talk to your midwife")
    assert bot.ask("expecting, can I come?").citations[0].text.startswith("We offer a pregnancy massage")


@pytest.mark.parametrize(("question", "kind"), [("diagnosed with anxiety, will massage calm it?", "caution"),
                                                ("diagnosed with gout, can I come?", "medical")])
def test_a_health_trigger_names_no_condition_so_only_a_close_passage_is_quoted(tmp_path, question, kind):
    bot = health_bot(tmp_path, "Massage can calm anxiety.", 'keywords = ["pregnant"]\ntriggers = ["diagnos*"]',
                     ("massage", "calm", "anxiety", "music", "pregnant", "come"))
    reply = bot.ask(question)
    assert reply.kind == kind and "doctor" in reply.answer
    assert [c.text for c in reply.citations] == (["Massage can calm anxiety."] if kind == "caution" else [])


def test_a_studio_file_answers_studio_business_a_general_guide_does_not(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(FAKE_TOPICS, corpus / "topics.toml")
    (corpus / "guide.txt").write_text("The price of massage varies by city.\n", encoding="utf-8")
    bot = Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=fake_embedder)
    assert bot.ask("price").kind == "out_of_scope"  # the guide never speaks as the studio ("we", "our")
    (corpus / "prices.md").write_text("# Prices\n\nOur price for an hour of massage is $80.\n", encoding="utf-8")
    bot.refresh()
    reply = bot.ask("price")
    assert reply.kind == "studio" and reply.citations[0].source == "prices.md"


def test_the_staff_faq_is_the_studios_own_even_without_we_or_our(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(FAKE_TOPICS, corpus / "topics.toml")
    (corpus / "guide.txt").write_text("The price of massage varies by city.\n", encoding="utf-8")
    (corpus / "studio-faq.md").write_text("# Studio FAQ\n\n## What is the price?\n\nThe price is $80 an hour.\n",
                                          encoding="utf-8")
    bot = Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=fake_embedder)
    reply = bot.ask("what is the price?")
    assert reply.kind == "studio" and reply.citations[0].source == "studio-faq.md"
    assert reply.answer.startswith("The price is $80 an hour.")


def test_an_entry_found_by_its_own_question_is_never_discarded_as_a_catch_all(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    topics = FAKE_TOPICS.read_text(encoding="utf-8")
    topics += '\n[[topic]]\nname = "cta"\nkind = "catchall"\nexamples = ["music room therapist"]\n'
    (corpus / "topics.toml").write_text(topics, encoding="utf-8")
    (corpus / "studio.md").write_text(
        "# Our studio\n\n## Which shiatsu?\n\nOur music room therapist.\n\n"
        "## Sleep\n\nWe help sleep.\n\nOur music room therapist awaits.\n", encoding="utf-8")
    bot = Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=fake_embedder)
    assert len(bot._state.weak) == 2  # both lines are catch-alls by their text
    reply = bot.ask("which shiatsu?")  # but the first one's own question found it
    assert reply.citations and reply.citations[0].text == "Our music room therapist."
    assert not any("awaits" in c.text for c in bot.ask("music room therapist").citations)


def test_a_studio_question_is_refused_from_a_passage_about_another_studio_topic(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(FAKE_TOPICS, corpus / "topics.toml")
    (corpus / "prices.md").write_text("# Prices\n\nOur price for a therapist is $80.\n", encoding="utf-8")
    bot = Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=fake_embedder)
    state = bot._state
    row = state.labels[state.position[bot.search("price therapist", k=1)[0].passage.id]]
    names = [state.topics.topics[i].name for i in state.studio_topics]
    assert names[int(row.argmax())] == "price"  # the passage is labelled by its own vectors
    # about opening hours, and close enough to the price passage (cosine 0.5) to have been quoted before
    reply = bot.ask("opening therapist")
    assert reply.kind == "out_of_scope" and reply.abstained is True and reply.margin < 0
    without = copy.copy(bot)
    without.settings = bot.settings.replace(min_agree=2.0)  # topic agreement off: the price passage was quoted
    assert without.ask("opening therapist").citations[0].source == "prices.md"
    assert bot.ask("price therapist").citations[0].source == "prices.md"  # the passage's own topic is answered
    (corpus / "hours.md").write_text("# Hours\n\nWe are opening at 9 for every therapist.\n", encoding="utf-8")
    bot.refresh()
    reply = bot.ask("opening therapist")
    assert reply.abstained is False and reply.citations[0].source == "hours.md"


def test_small_talk_examples_from_section_titles_use_the_language_profile():
    from assistant.engine import _examples
    from assistant.records import Passage

    passages = [Passage("g#1", "guide.txt", "Hot stone massage", "Warm basalt stones are placed on the back.")]
    assert _examples(passages, "Erzähl mir von {topic}") == ("Erzähl mir von hot stone massage",)


def page_bot(tmp_path, name: str, text: str, vocabulary: tuple[str, ...]) -> Assistant:
    """An assistant over one page, where a neighbour joins a quote only when it is at least 0.5 close."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / name).write_text(text, encoding="utf-8")
    return Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", settings=Settings(min_support=0.5),
                          embedder=FakeEmbedder(vocabulary))


def test_the_top_passage_is_quoted_with_the_neighbouring_sentences_that_answer_too(tmp_path):
    bot = page_bot(
        tmp_path, "stones.md",
        "# Hot stones\n\nWe heat smooth stones in water. The basalt stones rest on your back. "
        "Music, music and more music plays in every room. Parking is free on the street.\n\n"
        "Basalt stones are never placed on broken skin.\n",
        ("stones", "basalt", "music", "parking", "skin"),
    )
    reply = bot.ask("basalt stones?")
    # the best sentence and the one before it (its own words are close), in document order; not the music
    # line (read after "…rest on your back." it is still mostly music), not the next paragraph
    assert reply.citations[0].text == "We heat smooth stones in water. The basalt stones rest on your back."
    assert reply.answer.startswith("We heat smooth stones in water. The basalt stones rest on your back. [1]")


def test_a_sentence_after_the_top_one_joins_when_read_after_it(tmp_path):
    bot = page_bot(
        tmp_path, "mld.md",
        "# Lymphatic drainage\n\nParking is free. Lymphatic drainage uses very light strokes. "
        "It feels like almost nothing. Parking, parking and parking again.\n",
        ("lymphatic", "drainage", "light", "parking", "feels"),
    )
    reply = bot.ask("is lymphatic drainage light?")
    # "It feels like almost nothing" shares no word with the question, but read after the sentence before it,
    # it does; the parking line before the top sentence has no word of the question, so it stays out
    assert reply.citations[0].text == "Lymphatic drainage uses very light strokes. It feels like almost nothing."


# --- offerings: a service or amenity no document names is refused, not answered with the nearest sentence ----


def offerings_bot(tmp_path, treatments: str, offerings: str, facts: str = "",
                  vocabulary=("massage", "music", "pregnant", "offer", "hello")) -> Assistant:
    """An assistant over one treatments page, with the fake topics plus these [offerings] lines (TOML)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "treatments.md").write_text(f"# Treatments\n\n{treatments}\n\nWe play music.\n", encoding="utf-8")
    topics = FAKE_TOPICS.read_text(encoding="utf-8")
    (corpus / "topics.toml").write_text(f"{topics}\n[offerings]\n{offerings}\n", encoding="utf-8")
    if facts:
        (corpus / "studio.toml").write_text(facts, encoding="utf-8")
    return Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=FakeEmbedder(vocabulary))


def test_a_question_naming_an_offering_no_document_names_is_refused_saying_what(tmp_path):
    bot = offerings_bot(tmp_path, "We offer shiatsu massage and hot stone massage.", 'cupping = ["cupping", "hijama"]')
    reply = bot.ask("do you offer cupping massage?")
    assert reply.to_dict() == {"answer": reply.answer, "abstained": True, "citations": [], "kind": "out_of_scope"}
    assert reply.answer == f"Sorry, I couldn't find anything about cupping in our documents. {DEFAULT_CONTACT}"
    follow_up = bot.ask("what about hijama?", history=[("do you offer shiatsu massage?", "We offer shiatsu.")])
    assert follow_up.kind == "out_of_scope" and "cupping" in follow_up.answer
    without = copy.copy(bot)
    without._state = replace(bot._state, unnamed=())  # the net off: the nearest sentence was quoted
    assert without.ask("do you offer cupping massage?").citations[0].text.startswith("We offer shiatsu")
    assert bot.ask("do you offer shiatsu massage?").citations[0].text.startswith("We offer shiatsu")
    assert bot.ask("hello! cupping?").kind == "smalltalk"  # small talk comes first


@pytest.mark.parametrize(
    ("treatments", "offerings", "question"),
    [
        ("We offer cupping massage.", 'cupping = "cupping"', "do you offer cupping massage?"),  # the same word
        ("Our reflexologist offers foot massage.", 'reflexology = "reflexolog*"', "reflexology massage?"),  # a start
        ("Relax in our hot tub after your massage.", '"hot tubs" = ["hot tub*", "jacuzzi*"]', "a jacuzzi after massage?"),
    ],
)
def test_an_offering_a_passage_names_by_any_member_is_answered(tmp_path, treatments, offerings, question):
    bot = offerings_bot(tmp_path, treatments, offerings)
    assert bot._state.unnamed == ()
    reply = bot.ask(question)
    assert reply.abstained is False and reply.citations[0].text == treatments


def test_health_comes_before_the_offerings_net(tmp_path):
    bot = offerings_bot(tmp_path, "We offer shiatsu massage.", 'acupuncture = "acupunctur*"')
    assert bot.ask("acupuncture massage?").kind == "out_of_scope"
    reply = bot.ask("I'm pregnant, can I have acupuncture?")  # a health keyword: the referral, not "couldn't find"
    assert reply.kind == "medical" and "doctor" in reply.answer


def test_a_studio_fact_naming_an_offering_counts_as_naming_it(tmp_path):
    facts = ('[[facts]]\ntopic = "price"\ntitle = "Prices"\nanswer = "A sauna session is $20."\n'
             "checked = 2026-11-01\n")
    bot = offerings_bot(tmp_path, "We offer shiatsu massage.", 'saunas = ["sauna", "saunas"]', facts=facts)
    assert bot._state.unnamed == ()
    assert bot.ask("do you have a sauna?").kind != "out_of_scope"


def test_the_unnamed_offerings_are_found_once_per_index_and_a_refresh_updates_them(tmp_path, monkeypatch):
    from assistant.policy import Topics

    bot = offerings_bot(tmp_path, "We offer shiatsu massage.", 'saunas = ["sauna", "saunas"]')
    assert [o.name for o in bot._state.unnamed] == ["saunas"]

    def per_question(*args, **kwargs):
        raise AssertionError("looked the documents up on a question")

    with monkeypatch.context() as m:  # asking never looks the documents up again
        m.setattr(Topics, "unnamed_offerings", per_question)
        assert bot.ask("is there a sauna after my massage?").kind == "out_of_scope"
    (tmp_path / "corpus" / "spa.md").write_text("# Spa\n\nOur sauna is free after a massage.\n", encoding="utf-8")
    assert bot.refresh()
    assert bot._state.unnamed == ()
    reply = bot.ask("is there a sauna after my massage?")
    assert reply.abstained is False and reply.citations[0].source == "spa.md"


def test_a_refresh_picks_up_an_edited_offerings_table_without_embedding_the_examples_again(tmp_path):
    bot = offerings_bot(tmp_path, "We offer shiatsu massage.", 'saunas = "sauna"')
    topics_file = tmp_path / "corpus" / "topics.toml"
    topics_file.write_text(topics_file.read_text(encoding="utf-8") + 'reiki = "reiki"\n', encoding="utf-8")
    vectors = bot._state.topics._vectors
    assert bot.refresh()
    assert [o.name for o in bot._state.unnamed] == ["saunas", "reiki"]
    assert bot._state.topics._vectors is vectors
    assert bot.ask("reiki massage?").kind == "out_of_scope"


def test_a_published_answer_whose_question_names_the_offering_is_quoted(tmp_path):
    bot = offerings_bot(tmp_path, "We offer shiatsu massage.", 'cupping = "cupping"')
    assert bot.ask("do you offer cupping massage?").kind == "out_of_scope"
    (tmp_path / "corpus" / "studio-faq.md").write_text(  # as the staff view publishes it: only the question names it
        "# Studio FAQ\n\n## Do you offer cupping massage?\n\nNo, but we offer hot stones with our massage.\n",
        encoding="utf-8")
    assert bot.refresh()
    reply = bot.ask("do you offer cupping massage?")
    assert reply.abstained is False and reply.citations[0].text == "No, but we offer hot stones with our massage."
