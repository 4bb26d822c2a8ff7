"""Studio facts (corpus/studio.toml), studio FAQ documents, and picking up corpus edits without a restart."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from assistant import Assistant, CorpusError
from assistant.facts import is_stale, load_facts
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
VOCAB = ("massage", "clothing", "couples", "room", "water", "drink", "price", "sleep", "back", "pain", "opening", "pregnant")
FAKE_TOPICS = Path(__file__).resolve().parent / "fake_topics.toml"  # topic decisions these fake vectors can make

FACTS = """
[studio]
name = "Test Studio"
contact = "Call Test Studio on 555-0199."

[[facts]]
topic = "price"
title = "Prices"
answer = "A 60-minute back massage is $80."
checked = {price_checked}

[[facts]]
topic = "hours"
title = "Opening hours"
answer = "Open Tuesday to Saturday, 9 to 7."
checked = {hours_checked}
"""


def write_facts(corpus: Path, price_checked: dt.date, hours_checked: dt.date) -> None:
    (corpus / "studio.toml").write_text(
        FACTS.format(price_checked=price_checked.isoformat(), hours_checked=hours_checked.isoformat()),
        encoding="utf-8",
    )


@pytest.fixture
def studio(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "back-massage-guide.txt", corpus)
    shutil.copy(FAKE_TOPICS, corpus / "topics.toml")
    return corpus


def load(corpus: Path, tmp_path: Path) -> Assistant:
    return Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=FakeEmbedder(VOCAB))


def test_without_facts_studio_questions_abstain_with_the_contact_line(studio, tmp_path):
    bot = load(studio, tmp_path)
    reply = bot.ask("What is your price for 60 minutes?")
    assert reply.abstained and reply.citations == ()
    assert bot.settings.contact in reply.answer


def test_facts_answer_studio_questions_citing_the_file(studio, tmp_path):
    today = dt.date.today()
    write_facts(studio, today, today)
    bot = load(studio, tmp_path)
    reply = bot.ask("What is your price for 60 minutes?")
    assert not reply.abstained
    assert reply.answer.startswith("A 60-minute back massage is $80. [1]")
    assert [(c.source, c.section) for c in reply.citations] == [("studio.toml", "Prices")]
    assert "out of date" not in reply.answer


def test_an_old_fact_carries_a_may_be_out_of_date_note_and_the_contact_line(studio, tmp_path):
    today = dt.date.today()
    write_facts(studio, today, today - dt.timedelta(days=400))
    bot = load(studio, tmp_path)
    reply = bot.ask("What are your opening hours?")
    assert "Open Tuesday to Saturday" in reply.answer
    assert "may be out of date" in reply.answer
    assert "Call Test Studio on 555-0199." in reply.answer  # the studio's own contact line


def test_a_fact_never_overrides_health_content(studio, tmp_path):
    today = dt.date.today()
    write_facts(studio, today, today)
    bot = load(studio, tmp_path)
    medical = bot.ask("I'm pregnant, how much is a massage?")
    assert medical.abstained and medical.citations == ()
    general = bot.ask("what clothing should I wear")
    assert [c.source for c in general.citations][0] == "back-massage-guide.txt"


def test_staleness_is_measured_in_days():
    from assistant.facts import Fact

    fact = Fact("price", "Prices", "x", dt.date(2026, 1, 1))
    assert not is_stale(fact, 30, today=dt.date(2026, 1, 31))
    assert is_stale(fact, 30, today=dt.date(2026, 2, 1))


@pytest.mark.parametrize(
    "text, message",
    [
        ("not = [valid", "not valid TOML"),
        ('[[facts]]\ntopic = "astrology"\nanswer = "x"\nchecked = 2026-01-01\n', "topic 'astrology'"),
        ('[[facts]]\ntopic = "price"\nanswer = "x"\n', "needs a date"),
        ('[[facts]]\ntopic = "price"\nchecked = 2026-01-01\n', "has no answer"),
    ],
)
def test_a_broken_facts_file_names_itself(tmp_path, text, message):
    (tmp_path / "studio.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match=message) as e:
        load_facts(tmp_path)
    assert "studio.toml" in str(e.value)


def test_a_published_faq_answers_the_very_next_question_without_restart(studio, tmp_path):
    bot = load(studio, tmp_path)
    assert bot.ask("do you have a couples room?").abstained
    (studio / "studio-faq.md").write_text(
        "# Do you have a couples room?\n\nYes, our couples room fits two massage tables.\n", encoding="utf-8"
    )
    assert bot.refresh() is True
    reply = bot.ask("do you have a couples room?")
    assert not reply.abstained
    assert reply.citations[0].source == "studio-faq.md"
    assert reply.citations[0].section == "Do you have a couples room?"
    assert "couples room fits two massage tables" in reply.answer
    assert bot.refresh() is False  # nothing changed since


def test_a_broken_edit_keeps_the_last_good_index_and_reports_it(studio, tmp_path):
    (studio / "studio-faq.md").write_text("# Drink water?\n\nDrink water after a massage.\n", encoding="utf-8")
    bot = load(studio, tmp_path)
    before = bot.ask("should I drink water after a massage")
    (studio / "studio-faq.md").write_bytes(b"# Drink water?\n\n\xff\xfe broken bytes\n")
    assert bot.refresh() is True
    problems = bot.info()["problems"]
    assert len(problems) == 1 and "studio-faq.md is not UTF-8" in problems[0]
    after = bot.ask("should I drink water after a massage")
    assert after.to_dict() == before.to_dict()
    # fixing the file clears the problem
    (studio / "studio-faq.md").write_text("# Drink water?\n\nDrink a glass of water.\n", encoding="utf-8")
    assert bot.refresh() is True
    assert bot.info()["problems"] == []
    assert "Drink a glass of water." in bot.ask("should I drink water after a massage").answer


def test_a_broken_facts_edit_keeps_the_last_good_facts(studio, tmp_path):
    today = dt.date.today()
    write_facts(studio, today, today)
    bot = load(studio, tmp_path)
    (studio / "studio.toml").write_text("broken = [", encoding="utf-8")
    assert bot.refresh() is True
    assert "studio.toml is not valid TOML" in bot.info()["problems"][0]
    assert "$80" in bot.ask("What is your price for 60 minutes?").answer
