"""Decisions by meaning from the topics file: validation, keywords, documents, language; then the real model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant import CorpusError
from assistant.corpus import document_flags
from assistant.policy import DEFAULTS, asked_offering, keywords_in, load_topics
from assistant.records import Passage

# --- the topics file ------------------------------------------------------------------------------


def test_packaged_defaults_load_and_cover_every_kind():
    topics = load_topics()
    assert {t.kind for t in topics.topics} >= {"studio", "health", "smalltalk", "offtopic", "general", "catchall"}
    assert all(t.examples for t in topics.topics)
    assert all(not t.keywords for t in topics.topics if t.kind != "health")  # the keyword net is health-only
    assert all(t.reply for t in topics.of_kind("smalltalk"))


def test_a_studio_file_adds_topics_and_replaces_one_by_name(tmp_path):
    (tmp_path / "topics.toml").write_text(
        '[[topic]]\nname = "parking"\nkind = "studio"\nexamples = ["where do I park?"]\n\n'
        '[[topic]]\nname = "price"\nkind = "studio"\nexamples = ["what do you charge?"]\n',
        encoding="utf-8",
    )
    topics = load_topics(tmp_path)
    assert topics.by_name("parking").examples == ("where do I park?",)
    assert topics.by_name("price").examples == ("what do you charge?",)
    assert topics.by_name("greeting") is not None  # the defaults stay
    assert len([t for t in topics.topics if t.name == "price"]) == 1


def test_replace_defaults_keeps_only_the_studio_topics(tmp_path):
    (tmp_path / "topics.toml").write_text(
        'replace_defaults = true\n[[topic]]\nname = "hallo"\nkind = "smalltalk"\nreply = "Hallo!"\nexamples = ["hallo"]\n',
        encoding="utf-8",
    )
    assert [t.name for t in load_topics(tmp_path).topics] == ["hallo"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[[topic]]\nname = "x"\nkind = "astrology"\nexamples = ["a"]\n', 2, "kind 'astrology'"),
        ('[[topic]]\nname = "x"\nkind = "studio"\nexamples = []\n', 2, "needs examples"),
        ('\n\n[[topic]]\nkind = "studio"\nexamples = ["a"]\n', 3, "needs a name"),
        ('[[topic]]\nname = "x"\nkind = "studio"\nexamples = ["a"]\nkeywords = ["b"]\n', 2, "only for health"),
        ('[[topic]]\nname = "x"\nkind = "studio"\nexamples = ["a"]\nexampels = ["b"]\n', 2, "unknown key 'exampels'"),
        ('[[topic]]\nname = "x"\nkind = "health"\nexamples = ["a"]\nkeywords = ["b", []]\n', 2, "lists of text"),
        ('[[topic]]\nname = "x"\nkind = "studio"\nexamples = ["a"]\ntriggers = ["b"]\n', 2, "only for health"),
        ('[[topic]]\nname = "x"\nkind = "health"\nexamples = ["a"]\ntriggers = "b"\n', 2, "triggers must be a list"),
        ('[[topic]]\nname = "x"\nkind = "health"\nexamples = ["a"]\nunless = [1]\n', 2, "unless must be a list"),
        ('[[topic]]\nname = "x"\nkind = "studio"\nexamples = ["a"]\nunless = ["b"]\n', 2, "only for health"),
        ('[[topic]]\nname = "x"\nkind = "health"\nexamples = ["a"]\nkeywords = [["b", 3]]\n', 2, "lists of text"),
        ('[[topic]]\nname = "x"\nkind = "studio"\nexamples = ["a"\n', 4, "not valid TOML"),
        ('[documents]\ngeneral = "guide.txt"\n', 2, "must be a list"),
        ('\n[language]\nabout_topic = "Erzähl mir von {thema}"\n', 2, "[language] has a bad value"),
    ],
)
def test_a_broken_topics_file_names_its_file_and_line(tmp_path, text, line, message):
    (tmp_path / "topics.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match=re.escape(message)) as e:
        load_topics(tmp_path)
    assert f"topics.toml:{line}" in str(e.value) or f"line {line}" in str(e.value)


def test_default_topics_are_the_packaged_file():
    assert DEFAULTS.name == "topics.toml" and DEFAULTS.is_file()


# --- keywords: whole words, or word starts with '*' -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("whats ur phone number", []),  # "numb" is a whole word, not a prefix
        ("numbness in my arm", ["numbness"]),
        ("my arm is numb", ["numb"]),
        ("I am Pregnant", ["pregnant"]),
        ("tingling fingers", ["tingl*"]),
        ("on blood thinners", ["blood thinner*"]),
    ],
)
def test_keywords_match_whole_words_or_marked_prefixes(text, found):
    assert keywords_in(text, ("numb", "numbness", "pregnant", "tingl*", "blood thinner*")) == found


def test_the_health_keyword_net_catches_symptoms_without_a_pronoun_before_them():
    topics = load_topics()
    for question in ("numbness in my arm, will massage fix it?", "dizzy after lying down, u think massage helps?",
                     "found a lump near my spine", "is it ok in the first trimester"):
        assert topics.health_keyword(question) is not None, question
    assert topics.health_keyword("whats ur phone number") is None


def test_a_keyword_inside_an_unless_phrase_names_nothing_but_counts_elsewhere_in_the_question():
    topics = load_topics()
    for question in ("What should I be expecting at my first massage?", "what am i expecting from deep tissue"):
        assert topics.health_keyword(question) is None, question
    for question in ("expecting, can i still have the hot stones", "we're expecting twins in june",
                     "I'm expecting, what should I be expecting at my first massage?"):
        assert topics.health_keyword(question) is not None, question
    assert keywords_in("i'll be expecting you", ("expecting",), ("be expecting",)) == []
    assert keywords_in("expecting, so what should i be expecting", ("expecting",), ("be expecting",)) == ["expecting"]


def test_studio_questions_with_words_near_health_words_stay_out_of_the_net():
    topics = load_topics()
    for question in ("what are your hours of operation?", "are the long strokes firm?", "I'm torn between two",
                     "do you do prenatal massage?"):
        assert topics.health_keyword(question) is None, question
    for question in ("I had an operation in May", "twisted my knee on a run", "I had a stroke last year",
                     "which oil cures insomnia", "feel light-headed after"):
        assert topics.health_keyword(question) is not None, question


# --- offerings: services and amenities a question is refused about when no document names them -------


def asks(question: str, offerings):
    """The offering a question asks about, when no document names any of these."""
    return asked_offering(question, offerings, offerings)


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("do you offer cupping?", "cupping"),
        ("do you do facials", "facials"),
        ("is there a sauna", "saunas"),
        ("do you have a loyalty card", "loyalty schemes"),
        ("any punch card for regulars?", "loyalty schemes"),
        ("is there a rewards program", "loyalty schemes"),
        ("can I bring my dog", "pets"),
        ("do you do reflexology", "reflexology"),
        ("is there a cafe for lunch", "a cafe or restaurant"),
        ("can we stay overnight", "overnight stays"),
        ("are you hiring?", "jobs"),
        ("do you run courses", "massage courses"),
        ("student discount?", "student discounts"),
        ("mobile massage at my hotel", "mobile massage"),
        ("what about a jacuzzi?", "hot tubs"),
        ("can I have a shower after?", "showers"),
    ],
)
def test_the_shipped_offerings_name_what_clients_ask_a_studio_has(question, name):
    topics = load_topics()
    found = asks(question, topics.offerings)
    assert found is not None and found.name == name


@pytest.mark.parametrize(
    "question",
    [
        "can I pay by card?", "is there a class for beginners?", "how warm is the room?",
        "do you have a pool of therapists?", "my job is stressful, will massage help?",
        "can I come on my lunch break?", "I read on the internet that massage detoxes you",
        "should I go swimming after my massage?", "can a member of staff help me undress?",
        "what should I wear?", "how much is an hour?", "can I book for two hours?",
        "should I bring shower gel?", "can two people work on me at once?", "can I leave the oil on overnight?",
        "what are the rewards of regular massage?",
    ],
)
def test_generic_words_are_no_offering_so_ordinary_questions_are_never_caught(question):
    assert asks(question, load_topics().offerings) is None


def test_every_shipped_offering_has_a_readable_name_and_no_digits():
    topics = load_topics()
    assert len(topics.offerings) >= 50
    assert len({o.name for o in topics.offerings}) == len(topics.offerings)
    assert all(o.words and not any(c.isdigit() for w in o.words for c in w) for o in topics.offerings)
    assert topics.language.absent.format(thing="cupping") == (
        "Sorry, I couldn't find anything about cupping in our documents.")


def test_a_question_also_naming_an_offering_the_documents_name_goes_to_the_documents():
    offerings = load_topics().offerings
    unnamed = tuple(o for o in offerings if o.name != "hot stone massage")  # the documents speak of hot stones
    assert asked_offering("do you do cupping?", offerings, unnamed).name == "cupping"
    assert asked_offering("do you do cupping or hot stones?", offerings, unnamed) is None
    assert asked_offering("do you do cupping or facials?", offerings, unnamed).name == "cupping"


def test_an_offering_is_named_by_a_known_word_a_word_start_or_a_phrase_as_written():
    topics = load_topics()
    from assistant.search import KeywordIndex

    def unnamed(texts: list[str], facts: tuple[str, ...] = ()) -> set[str]:
        keywords = KeywordIndex.fit(texts or ["Welcome."])
        return {o.name for o in topics.unnamed_offerings(keywords, lambda i: texts[i], facts)}

    missing = unnamed(["Relax in our hot tub afterwards.", "Our reflexologist works here on Mondays.", "Loyalty pays."])
    assert "hot tubs" not in missing  # "hot tub*" as written: "do you have a jacuzzi?" is answered
    assert "reflexology" not in missing  # "reflexolog*" starts "reflexologist"
    assert "loyalty schemes" not in missing  # "loyalty", a member of its own
    assert "jobs" in missing  # "works here" is not "work here"
    assert {"cupping", "saunas", "pets"} <= missing
    assert "hot tubs" in unnamed(["The tub is hot."])  # both words, but not the phrase
    assert "hot tubs" in unnamed(["Our tea is hot.", "Tub chairs in reception."])  # nor across passages
    assert "jobs" not in unnamed(["Therapists love to work here."])
    assert "a gym" not in unnamed(["Sore, as after a gym session."])  # a stopword in a phrase is read as written
    assert "a gym" in unnamed(["The gym next door."])
    assert "parking" not in unnamed([], ("Parking: there is a car park behind the studio.",))  # a studio fact


def test_a_studio_file_adds_replaces_and_drops_offerings(tmp_path):
    (tmp_path / "topics.toml").write_text(
        '[offerings]\n"float tanks" = ["float tank*", "floatation"]\n'
        'saunas = ["sauna", "infrared cabin*"]\ncupping = []\n',
        encoding="utf-8",
    )
    topics = load_topics(tmp_path)
    by_name = {o.name: o.words for o in topics.offerings}
    assert by_name["float tanks"] == ("float tank*", "floatation")
    assert by_name["saunas"] == ("sauna", "infrared cabin*")  # replaced by its name
    assert "cupping" not in by_name and "reflexology" in by_name  # dropped; the other defaults stay
    assert asks("is there an infrared cabin?", topics.offerings).name == "saunas"
    (tmp_path / "topics.toml").write_text('replace_defaults = true\n[offerings]\nsaunas = "sauna"\n', encoding="utf-8")
    assert [(o.name, o.words) for o in load_topics(tmp_path).offerings] == [("saunas", ("sauna",))]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[offerings]\nsauna = ["sauna"]\ncupping = 3\n', 3, "offering 'cupping' must be a word or a list"),
        ('\n[offerings]\n"hot tubs" = ["hot tub*", ""]\n', 3, "offering 'hot tubs' must be a word or a list"),
        ('[offerings]\nsauna = ["sauna"]\n\n"four hands" = ["4 hands"]\n', 4, "write numbers as words"),
        ('[offerings]\n\nloyalty = ["loyalty", "reward* card*"]\n', 3, "a * stands only at the end"),
        ('offerings = ["sauna"]\n', 1, "offerings must be a table"),
        ('[offerings.spa]\nsauna = "sauna"\n', 1, "offering 'spa' must be a word or a list"),
        ('\n[offering]\nsauna = "sauna"\n', 2, "unknown key 'offering'"),
        ('[language]\nabsent = "Nothing on {service}"\n', 1, "[language] has a bad value"),
    ],
)
def test_a_broken_offering_names_its_file_and_line(tmp_path, text, line, message):
    (tmp_path / "topics.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match=re.escape(message)) as e:
        load_topics(tmp_path)
    assert f"topics.toml:{line}:" in str(e.value)


# --- languages and documents ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "foreign"),
    [
        ("Wie viel kostet eine Hot-Stone-Massage?", True),  # borrows three words the documents know
        ("hot stone massage price pls", False),  # telegraphic English: no function word, but every word known
        ("thai massage clothes loose fitting?", False),
        ("what does a hot stone massage cost", False),
    ],
)
def test_a_question_with_no_function_word_needs_more_known_words(question, foreign):
    documents = {"massage", "hot", "stone", "price", "thai", "clothes", "cost"}
    assert load_topics().foreign(question, lambda w: w in documents) is foreign



@pytest.mark.parametrize(
    ("question", "foreign"),
    [
        ("Darf ich in der Schwangerschaft eine Massage bekommen?", True),
        ("¿Puedo recibir un masaje si estoy embarazada?", True),
        ("マッサージは痛いですか", True),
        ("wat shud i wear 2 my massage", False),
        ("hi", False),
        ("numbness in my arm, will massage fix it?", False),
    ],
)
def test_another_language_is_recognised_by_its_words(question, foreign):
    known = {"massage", "wear", "arm", "fix", "will", "in", "my", "it", "i"}
    assert load_topics().foreign(question, lambda w: w in known) is foreign


def _passage(source: str, text: str) -> Passage:
    return Passage(id=f"{source}#1", source=source, section=None, text=text)


def test_a_document_without_the_studio_voice_is_a_general_guide(tmp_path):
    topics = load_topics()
    passages = [
        _passage("guide.txt", "Massage therapy can relieve back pain. " * 40),
        _passage("faq.md", "We are open late on Fridays and our therapists are trained."),
    ]
    assert topics.general_documents(passages, {}) == {"guide.txt"}
    assert topics.general_documents(passages, {"guide.txt": False}) == frozenset()  # front matter: general: false
    assert topics.general_documents(passages, {"faq.md": True}) == {"guide.txt", "faq.md"}


def test_front_matter_flags_a_general_guide(tmp_path):
    (tmp_path / "guide.md").write_text("---\ngeneral: true\n---\n# Guide\n\nMassage helps.\n", encoding="utf-8")
    (tmp_path / "ours.md").write_text("# Ours\n\nWe open at nine.\n", encoding="utf-8")
    assert document_flags(tmp_path) == {"guide.md": True}


def test_settings_defaults_name_no_document():
    from assistant.settings import Settings

    assert Settings().general_sources == ()
    assert "back-massage-guide" not in Path(DEFAULTS).read_text(encoding="utf-8")


# --- the real model: decisions by meaning ----------------------------------------------------------


@pytest.mark.model
@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What does a 60 minute session cost?", "studio"),
        ("What are your opening hours?", "studio"),
        ("are you open on sundays?", "studio"),
        ("how do i book a massage with you", "studio"),
        ("Should I tip my therapist?", "studio"),
        ("What is the weather like today?", "offtopic"),
        ("Write a python function to reverse a list", "offtopic"),
        ("I'm pregnant, can I get a massage?", "health"),
        ("I have blood clots in my legs", "health"),
        ("I injured my shoulder last week, can I still get a massage?", "health"),
        ("I take blood thinners, is massage ok?", "health"),
        ("can massage replace my antidepressants?", "health"),
        ("numbness in my arm, will massage fix it?", "health"),
        ("my back is killing me, can I get a deep tissue massage?", "health"),  # not the "kinds of massage" example
        ("hi", "smalltalk"),
        ("thanks!", "smalltalk"),
        ("who are you?", "smalltalk"),
        ("What should I wear?", None),
        ("What is shiatsu?", None),
        ("How much pressure will the therapist use?", None),
        ("Do you have any advice for a first timer?", None),
        ("Can massage help my posture from programming all day?", None),
        ("What techniques do you offer?", None),
    ],
)
def test_questions_are_decided_by_their_nearest_topic_examples(model_bot, question, kind):
    assert model_bot.classify(question) == kind


def test_the_example_in_docs_topics_md_loads_as_documented(tmp_path):
    text = (Path(__file__).resolve().parent.parent / "docs" / "topics.md").read_text(encoding="utf-8")
    (tmp_path / "topics.toml").write_text(re.search(r"```toml\n(.*?)```", text, re.S).group(1), encoding="utf-8")
    topics = load_topics(tmp_path)
    assert topics.by_name("parking").kind == "studio"
    assert topics.by_name("greeting").reply.startswith("Hi, welcome to Harbour Light")
    assert topics.general == {"back-massage-guide.txt"}
    words = topics.by_name("our health words")
    assert topics.health_keyword("post-viral fatigue, can I book?") is words
    assert words.families_of(["post-viral*", "post-covid"]) == [("long covid", "post-viral*", "post-covid")]
    assert words.families_of(["frozen shoulder*"]) == [("frozen shoulder*",)]


def test_the_offerings_example_in_docs_topics_md_loads_as_documented(tmp_path):
    text = (Path(__file__).resolve().parent.parent / "docs" / "topics.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[offerings]" in b)
    (tmp_path / "topics.toml").write_text(block, encoding="utf-8")
    topics = load_topics(tmp_path)
    assert asks("is there a salt room?", topics.offerings).name == "salt caves"
    assert asks("an outdoor tub?", topics.offerings).name == "hot tubs"
    assert asks("do you do cupping?", topics.offerings) is None
    assert asks("do you do cupping?", load_topics().offerings).name == "cupping"
