"""Corpus files → passages: the guide's structure, studio markdown, and files that can't be used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.corpus import Document, corpus_hash, parse, read_corpus, plain_text
from assistant.errors import CorpusError
from guide_text import GUIDE, guide_body_without_markers, squash

FIRST = "What to expect at your first back massage"
SECOND = "Back massage: Good for your whole body & your mind too!"


@pytest.fixture(scope="module")
def passages():
    return parse(Document(GUIDE.name, GUIDE.read_text(encoding="utf-8")))


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


# --- the guide ----------------------------------------------------------------------------------


def test_guide_has_an_intro_section_named_from_the_file_then_its_two_headings(passages):
    sections = list(dict.fromkeys(p.section for p in passages))
    assert sections == ["Back massage guide", FIRST, SECOND]
    assert passages[0].text == "Is your back tired, achy, or tight?"
    assert passages[0].section == "Back massage guide"


def test_headings_are_not_passages(passages):
    assert not [p for p in passages if p.text in (FIRST, SECOND)]


def test_reference_list_has_17_titled_studies(passages):
    refs = {r.number: r.title for p in passages for r in p.references}
    assert sorted(refs) == list(range(1, 18))
    assert refs[1] == "Study: Massage Helps Treat Low-Back Pain"
    assert refs[14] == "Massage is promising for muscle recovery: Researchers find 10 minutes reduces inflammation"
    assert refs[17] == "Swedish Massage Benefits Osteoarthritis Patients"


def test_reference_list_is_not_a_passage(passages):
    titles = {r.title for p in passages for r in p.references}
    for p in passages:
        assert not any(title in p.text for title in titles), p.text
        assert not re.match(r"^\d+\s", p.text)
    assert passages[-1].text == (
        "Talk to a licensed massage therapist to discuss the type of massage and schedule that will work best for you!"
    )


def test_markers_are_stripped_from_passage_text(passages):
    for p in passages:
        assert not re.search(r"[A-Za-z,.]\d", p.text), p.text
    texts = [p.text for p in passages]
    assert (
        "Massage therapy is a safe, effective method for achieving short-term relief from physical pain, including "
        "back pain, clinical studies show, as well as psychological stress."
    ) in texts
    assert "Facilitating better sleep" in texts


def test_bullet_items_stand_alone_with_their_lead_in(passages):
    items = [p for p in passages if p.section == SECOND and p.lead]
    assert [p.text for p in items] == [
        "Promoting mental health by reducing symptoms of depression and anxiety",
        "Promoting cardiovascular health by lowering blood pressure",
        "Facilitating better sleep",
        "Supporting recovery from sports injuries and surgery",
        "Managing symptoms associated with a variety of chronic pain conditions without the risks of surgery or "
        "opioid pain medication",
        "Helping to maintain flexibility and range of motion in the joints of arthritis sufferers",
    ]
    lead = (
        "Massage therapy in general has been shown to effectively promote a range of positive health and wellness "
        "outcomes, including:"
    )
    assert {p.lead for p in items} == {lead}
    assert items[2].quote == f"{lead} Facilitating better sleep"


def test_inline_semicolon_list_becomes_one_passage_per_technique(passages):
    techniques = [p for p in passages if p.lead.startswith("Some popular techniques")]
    assert [p.text.split(" (")[0] for p in techniques] == [
        "myofascial release",
        "Shiatsu",
        "deep tissue massage",
        "Thai yoga massage",
    ]


def test_sentences_are_split(passages):
    texts = [p.text for p in passages]
    assert "Soothing music might be playing in the background." in texts
    assert "The room is dimly lit and the client's eyes are closed." in texts


def test_every_guide_sentence_lands_in_exactly_one_passage(passages):
    """Each sentence of the (hand-cleaned) guide is covered, in order, by its passages and nothing else."""
    body = guide_body_without_markers()
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n", body):
        block = block.strip()
        if not block or block in (FIRST, SECOND):
            continue
        for line in block.split("\n"):
            if line.strip().startswith("•"):
                sentences.append(line.strip().lstrip("•").strip())
            else:
                sentences.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"])", squash(line)) if s)
    normalised = [words(s) for s in sentences]

    # every passage comes from exactly one sentence
    owner: dict[int, int] = {}
    for i, p in enumerate(passages):
        homes = [j for j, s in enumerate(normalised) if words(p.text) in s]
        assert len(homes) == 1, (p.text, [sentences[j] for j in homes])
        owner[i] = homes[0]
    assert list(owner.values()) == sorted(owner.values()), "passages are out of reading order"

    # every sentence is rebuilt from its passages (plus a list's lead-in), leaving only list connectors
    passage_texts = {p.text for p in passages}
    for j, sentence in enumerate(normalised):
        parts: list[str] = []
        for i, p in enumerate(passages):
            if owner[i] != j:
                continue
            if p.lead and p.lead not in passage_texts and words(p.lead) not in parts:
                parts.append(words(p.lead))
            parts.append(words(p.text))
        assert parts, f"no passage for: {sentences[j]}"
        rest = sentence
        for part in parts:
            before, found, rest = rest.partition(part)
            assert found, (part, sentence)
            assert before.strip() in ("", "and", "or"), (before, sentence)
        assert rest.strip() == "", (rest, sentence)


def test_passage_ids_are_unique_and_name_their_source(passages):
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)
    assert all(p.id.startswith(f"{GUIDE.name}#") and p.source == GUIDE.name for p in passages)


def test_a_list_item_embeds_alone_but_a_sentence_keeps_the_one_before(passages):
    (discomfort,) = [p for p in passages if p.text.startswith("This technique can cause")]
    assert discomfort.context.startswith("Trigger point therapy, on the other hand")


def test_long_sentences_are_capped(tmp_path):
    long = "Massage helps, " * 80 + "truly."
    out = parse(Document("notes.txt", f"Notes\n\n{long}\n"), max_chars=200)
    assert all(len(p.text) <= 200 for p in out)
    assert squash(" ".join(p.text for p in out)) == squash(long)


# --- studio markdown ----------------------------------------------------------------------------

STUDIO_MD = """\
# Our studio

Welcome to the studio. We are glad you are here.

## Before your visit

Arrive ten minutes early.
Drink some water.

Bring these things:

- a bottle of water
* comfortable clothes
• a hair tie

## Aftercare

Rest for the evening.
"""


def test_markdown_headings_become_sections_and_paragraphs_split_on_blank_lines():
    out = parse(Document("studio.md", STUDIO_MD))
    assert [(p.section, p.text) for p in out] == [  # a short paragraph under a heading is quoted whole
        ("Our studio", "Welcome to the studio. We are glad you are here."),
        ("Before your visit", "Arrive ten minutes early. Drink some water."),
        ("Before your visit", "Bring these things:"),
        ("Before your visit", "a bottle of water"),
        ("Before your visit", "comfortable clothes"),
        ("Before your visit", "a hair tie"),
        ("Aftercare", "Rest for the evening."),
    ]
    paragraphs = {p.text: p.paragraph for p in out}
    assert paragraphs["Arrive ten minutes early. Drink some water."] != paragraphs["Bring these things:"]


def test_each_short_paragraph_under_a_topic_heading_is_one_passage_and_a_long_one_is_split():
    text = ("# Policies\n\n## Gift cards\n\nGift cards start at £20. They are valid for 12 months. "
            "A lost card can be replaced.\n\nWe understand that plans change.\n\n## Privacy\n\n"
            "We keep notes for seven years. Only your therapist reads them. You can ask for a copy. "
            "Write to us to correct them.\n")
    out = parse(Document("policies.md", text))
    assert [(p.section, p.text) for p in out] == [
        ("Gift cards", "Gift cards start at £20. They are valid for 12 months. A lost card can be replaced."),
        ("Gift cards", "We understand that plans change."),
        ("Privacy", "We keep notes for seven years."), ("Privacy", "Only your therapist reads them."),
        ("Privacy", "You can ask for a copy."), ("Privacy", "Write to us to correct them."),
    ]
    assert all(p.asked == (p.section,) for p in out)


def test_markdown_list_items_of_every_bullet_style_stand_alone_with_their_lead():
    out = parse(Document("studio.md", STUDIO_MD))
    items = [p for p in out if p.lead]
    assert [p.text for p in items] == ["a bottle of water", "comfortable clothes", "a hair tie"]
    assert {p.lead for p in items} == {"Bring these things:"}
    assert not any(p.text.startswith(("-", "*", "•")) for p in out)


def test_markdown_without_a_heading_is_named_from_the_file():
    out = parse(Document("house-rules.md", "Please silence your phone.\n"))
    assert out[0].section == "House rules"


# --- files that can't be used ---------------------------------------------------------------------


def test_read_corpus_reads_documents_only(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\nAlpha text.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Beta text.\n", encoding="utf-8")
    (tmp_path / "c.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.md").write_text("secret\n", encoding="utf-8")
    assert [d.source for d in read_corpus(tmp_path)] == ["a.md", "b.txt"]


def test_non_utf8_file_is_refused_by_name(tmp_path):
    (tmp_path / "prices.txt").write_bytes("Caf\xe9 menu: massage \xa360".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"prices\.txt is not UTF-8.*re-save it as UTF-8"):
        read_corpus(tmp_path)


def test_empty_file_is_refused_by_name(tmp_path):
    (tmp_path / "good.txt").write_text("Some text.\n", encoding="utf-8")
    (tmp_path / "blank.md").write_text("  \n\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"blank\.md is empty"):
        read_corpus(tmp_path)


def test_empty_corpus_directory_is_refused(tmp_path):
    with pytest.raises(CorpusError, match=r"has no \.md, \.txt, \.html, \.docx or \.pdf files"):
        read_corpus(tmp_path)


def test_missing_corpus_directory_is_refused(tmp_path):
    with pytest.raises(CorpusError, match=r"does not exist"):
        read_corpus(tmp_path / "nope")


def test_duplicate_files_are_refused_by_name(tmp_path):
    (tmp_path / "guide.txt").write_text("Same words.\n", encoding="utf-8")
    (tmp_path / "guide-copy.txt").write_text("Same words.\n\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"guide\.txt duplicates guide-copy\.txt"):
        read_corpus(tmp_path)


def test_file_with_only_headings_is_refused_by_name():
    with pytest.raises(CorpusError, match=r"faq\.md has no text to answer from"):
        parse(Document("faq.md", "# Frequently asked\n\n## Nothing here yet\n"))


def test_corpus_hash_changes_with_content_names_and_settings(tmp_path: Path):
    (tmp_path / "a.txt").write_text("One.\n", encoding="utf-8")
    first = corpus_hash(tmp_path, "k=1")
    assert corpus_hash(tmp_path, "k=1") == first
    assert corpus_hash(tmp_path, "k=2") != first
    (tmp_path / "a.txt").write_text("Two.\n", encoding="utf-8")
    second = corpus_hash(tmp_path, "k=1")
    assert second != first
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    assert corpus_hash(tmp_path, "k=1") != second


# --- question-and-answer entries (issue 11) -----------------------------------------------------

STUDIO_FAQ = """# Studio FAQ

Contents:
- Can I bring my own music?
- Do you have parking?

## Can I bring my own music?

Also asked as:
- is it ok to play my own songs
- can you put on my spotify

Yes. Bring a playlist on your phone and your therapist will play it through the room speaker.

### Do you have parking?

No. The street has two-hour meters. There is a garage on 5th.

## What to bring

Bring comfortable clothes:
- a hair tie
- water
"""


def by_text(passages):
    return {p.text: p for p in passages}


def test_markdown_question_headings_are_entries_whose_questions_are_views_not_passages():
    passages = parse(Document("studio-faq.md", STUDIO_FAQ))
    texts = [p.text for p in passages]
    assert not any(t.endswith("?") for t in texts)  # no heading, listed question or phrasing is quoted
    assert "Contents:" not in texts and not any("spotify" in t for t in texts)
    music = by_text(passages)[
        "Yes. Bring a playlist on your phone and your therapist will play it through the room speaker."
    ]
    assert music.asked == ("Can I bring my own music?", "is it ok to play my own songs", "can you put on my spotify")
    assert music.section == "Can I bring my own music?"


def test_a_short_answer_is_one_passage_and_no_never_stands_alone():
    passages = parse(Document("studio-faq.md", STUDIO_FAQ))
    assert "No. The street has two-hour meters. There is a garage on 5th." in by_text(passages)
    assert not any(p.text in ("No.", "Yes.") for p in passages)


def test_a_topic_heading_keeps_its_list_lead_in():
    items = [p for p in parse(Document("studio-faq.md", STUDIO_FAQ)) if p.lead]
    assert [(p.lead, p.text) for p in items] == [("Bring comfortable clothes:", "a hair tie"),
                                                 ("Bring comfortable clothes:", "water")]


@pytest.mark.parametrize(
    "text",
    [
        "Q: Do I need to undress?\nA: Only to your comfort level.\n\nQ: How long is a session?\nA: An hour.\n",
        "Q.\nDo I need to undress?\nA.\nOnly to your comfort level.\n\nQ.\nHow long is a session?\nA.\nAn hour.\n",
        "Q. Do I need to undress?\n\nA. Only to your comfort level.\n\nQ. How long is a session?\n\nA. An hour.\n",
    ],
)
def test_q_and_a_pairs_become_entries_and_a_bare_label_is_never_a_passage(text):
    passages = parse(Document("faq.txt", text))
    assert [(p.asked, p.text) for p in passages] == [
        (("Do I need to undress?",), "Only to your comfort level."),
        (("How long is a session?",), "An hour."),
    ]


def test_a_stand_alone_question_line_in_text_answers_with_its_one_paragraph():
    text = (
        "Treatments\n\nWe offer two.\n\nReflexology\n\nReflexology is pressure on the feet.\n\nWho is it for?\n"
        "Anyone on their feet all day.\n\nIt lasts an hour.\n\nCan I come with a sprain?\nNot on a fresh sprain.\n"
    )
    passages = by_text(parse(Document("treatments.txt", text)))
    assert "Who is it for?" not in passages  # the question line is never quoted as its own answer
    assert passages["Anyone on their feet all day."].asked == ("Reflexology: Who is it for?",)  # names its topic
    assert passages["It lasts an hour."].asked == () and passages["It lasts an hour."].section == "Reflexology"
    assert passages["Not on a fresh sprain."].asked == ("Can I come with a sprain?",)


def test_one_rhetorical_question_line_does_not_make_a_faq(passages):
    assert any(p.text == "Or are you pain-free but stressed-out and seeking a healthy way to relax and recharge?"
               for p in passages)


def test_a_heading_line_over_its_paragraph_in_text_is_a_section():
    passages = parse(Document("after.txt", "After care\n\nDrink water.\n\nWhen to get in touch\nCall us if a bruise grows.\n"))
    assert [(p.section, p.text) for p in passages] == [("After care", "Drink water."),
                                                        ("When to get in touch", "Call us if a bruise grows.")]


def test_front_matter_is_not_text():
    passages = parse(Document("guide.md", "---\ngeneral: true\n---\n# Guide\n\nMassage helps.\n"))
    assert [p.text for p in passages] == ["Massage helps."]


@pytest.mark.parametrize("raw, plain", [
    ("under 18s < 5 minutes, kids <3 & adults", "under 18s < 5 minutes, kids <3 & adults"),
    ("<p>Yes, <b>bring</b> a towel.</p><script>alert(1)</script>", "\n\nYes, bring a towel.\n\n"),
    ("Call us &lt;img src=x onerror=alert(1)&gt; today", "Call us  today"),
    ("see [our page](javascript:alert(1)) and ![map](map.png)", "see our page and"),  # images dropped
    ("before <!-- a note --> after <img src=x onerror=alert(1)", "before  after "),
    ("AT&amp;T &lt; 5", "AT&T < 5"),
])
def test_markup_is_stripped_and_comparisons_are_kept(raw, plain):
    assert plain_text(raw) == plain


def test_no_passage_of_a_hand_edited_file_holds_live_html():
    text = ("# Studio FAQ\n\n## Can kids come?\n\n<div>Yes, <em>under 18s</em> &lt; 5 minutes with a parent."
            "<img src=x onerror=alert(1)></div>\n\n## Parking?\n\nFree <a href='javascript:alert(1)'>parking</a>"
            " behind the studio.<br>Ask at the desk.\n")
    passages = parse(Document("studio-faq.md", text))
    quoted = " ".join(f"{p.quote} {p.section} {' '.join(p.asked)}" for p in passages)
    assert "<" not in quoted.replace("< 5", "") and ">" not in quoted and "javascript" not in quoted
    assert [p.text for p in passages][0] == "Yes, under 18s < 5 minutes with a parent."
    assert any(p.text.startswith("Free parking behind the studio.") for p in passages)
