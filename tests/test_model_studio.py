"""The staff loop on the real model: an answer published to one phrasing is found by paraphrases that share few of
its words, quoted whole, and only by them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.questionlog import QuestionLog
from assistant.studio import Studio
from assistant.studiofaq import FAQ_FILE

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent
MUSIC = "Can I bring my own music?"
ANSWER = "Yes. Bring a playlist on your phone and your therapist will play it through the room speaker."
PARAPHRASES = (
    "is it ok to play my own songs",
    "can you put on my spotify",
    "could my favourite tunes be on during the session",
    "may I listen to my playlist while I'm on the table",
)
UNRELATED = ("What should I wear?", "What is trigger point therapy?", "Do you have a sauna?")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio-model")
    shutil.copytree(ROOT / "corpus", root / "corpus")
    (root / "corpus" / FAQ_FILE).unlink(missing_ok=True)
    bot = Assistant.load(corpus_dir=root / "corpus", index_dir=root / "index")
    studio = Studio(bot, QuestionLog.open(root / "data", enabled=False))
    before = {q: bot.ask(q) for q in UNRELATED}
    change = studio.publish(MUSIC, ANSWER)
    assert change.cited
    return studio, before


@pytest.mark.parametrize("question", PARAPHRASES)
def test_a_paraphrase_gets_the_published_entry_cited_first_and_quoted_whole(studio, question):
    bot = studio[0].bot
    reply = bot.ask(question)
    assert not reply.abstained, reply.answer
    top = reply.citations[0]
    assert (top.source, top.section) == (FAQ_FILE, MUSIC)
    assert ANSWER in reply.answer.replace(" [1]", ""), reply.answer


@pytest.mark.parametrize("question", UNRELATED)
def test_unrelated_questions_still_do_not_get_it(studio, question):
    bot, before = studio[0].bot, studio[1]
    reply = bot.ask(question)
    assert all(c.source != FAQ_FILE for c in reply.citations[:1]), reply.answer
    assert reply.abstained == before[question].abstained
