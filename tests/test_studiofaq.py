"""corpus/studio-faq.md entries: what is cleaned, what is refused, and how the file is read back and rewritten."""

from __future__ import annotations

import pytest

from assistant.corpus import parse_corpus, read_corpus
from assistant.studiofaq import FAQ_FILE, Entry, PublishError, clean_answer, clean_entry, read


@pytest.mark.parametrize(
    "question, answer, expected_question, expected_answer",
    [
        ("Do you have parking?", "Yes, behind the studio.", "Do you have parking?", "Yes, behind the studio."),
        ("  Do you have\nparking?  ", "Yes,\r\nbehind the   studio.", "Do you have parking?", "Yes, behind the studio."),
        ("## Parking?", "Yes.", "Parking?", "Yes."),
        ("Parking?\x00\x1b", "Yes.\x07\n\nSecond paragraph.", "Parking?", "Yes.\n\nSecond paragraph."),
        ("Kids under 16?", "Clients < 16 come with a parent.", "Kids under 16?", "Clients < 16 come with a parent."),
        ("Café?", "Oui, thé et café — gratuits.", "Café?", "Oui, thé et café — gratuits."),
        # a short line without a full stop would read as a section title: it gets one
        ("Parking?", "Free parking\n\nBehind the studio", "Parking?", "Free parking.\n\nBehind the studio."),
    ],
)
def test_entries_are_cleaned_into_one_line_of_question_and_paragraphs_of_answer(
    question, answer, expected_question, expected_answer
):
    entry = clean_entry(question, answer)
    assert (entry.question, entry.answer) == (expected_question, expected_answer)


@pytest.mark.parametrize(
    "question, answer, reason",
    [
        ("", "Yes.", "Write the question"),
        ("###", "Yes.", "Write the question"),
        ("???", "Yes.", "Write the question"),
        ("Parking?", "", "can't be empty"),
        ("Parking?", " \n\n ", "can't be empty"),
        ("Parking?", "x", "needs words"),
        ("Parking?", "---", "needs words"),
        ("Parking?", "Yes.\n\n===", "needs words"),
        ("Parking?", "Yes.\n\n# Prices", "like a heading"),
        ("Parking?", "Yes.\n\nAlso asked as:", "like a heading or label"),
        ("q" * 201, "Yes.", "under 200"),
        ("Parking?", "a " * 1001, "under 2,000"),
        ("Parking?", "a" * 10_000, "10,000 characters"),
        (None, "Yes.", "as text"),
        ("Parking?", ["Yes."], "as text"),
        ("Parking?", '<img src=x onerror="alert(1)"<b>>', "HTML markup"),
        ("Parking?", "Yes <iframe src=//evil.example<b>> free.", "HTML markup"),
        ("Parking?", "Yes </p> free.", "HTML markup"),
        ("Parking?", "See <https://evil.example>.", "HTML markup"),
        ("Parking?", "Yes &lt;script&gt;.", "HTML entity"),
        ("Parking?", "See [our map](javascript:alert(1)).", "Markdown link"),
        ("Parking?", "See ![map](https://evil.example/x.png) here.", "Markdown link or image"),
        ("Parking?", "Click javascript:alert(1) now.", "script link"),
        ("Parking?", "See data:text/html;base64,PHNjcmlwdD4= now.", "script link"),
        ("<b>Parking</b>?", "Yes.", "HTML markup"),
        ("Parking?", "**Yes!** Behind the studio.", "bold or italic"),
        ("Parking?", "Yes, *free* after 6pm.", "bold or italic"),
        ("Parking?", "Prices:\n\n| car | £2 |", "table row"),
        ("Parking?", "Yes.\n\n1. Is it free? After 6pm it is.", "listed question"),
        ("Parking?", "Yes.\n\n- Can I leave a bike? Yes, by the door.", "listed question"),
    ],
)
def test_empty_oversized_wordless_or_marked_up_entries_are_refused(question, answer, reason):
    with pytest.raises(PublishError, match=reason):
        clean_entry(question, answer)


def test_phrasings_are_cleaned_and_a_repeat_of_the_heading_or_each_other_is_dropped():
    entry = clean_entry("Can I bring my own music?", "Yes.", ["can I bring my own music", " my  songs? ", "My songs"])
    assert entry.also == ("my songs?",)
    with pytest.raises(PublishError, match="phrasing"):
        clean_entry("Music?", "Yes.", ["<script>x</script>"])
    with pytest.raises(PublishError, match="list"):
        clean_entry("Music?", "Yes.", "my songs")


def test_the_file_format_is_the_contract_and_the_parser_never_quotes_the_phrasings(tmp_path):
    entry = Entry("Can I bring my own music?", "Yes. Bring a playlist on your phone.",
                  ("is it ok to play my own songs", "can you put on my spotify"))
    (tmp_path / FAQ_FILE).write_text(read(tmp_path).with_entry(None, entry), encoding="utf-8")
    assert (tmp_path / FAQ_FILE).read_text(encoding="utf-8") == (
        "# Studio FAQ\n\n## Can I bring my own music?\n\nAlso asked as:\n- is it ok to play my own songs\n"
        "- can you put on my spotify\n\nYes. Bring a playlist on your phone.\n"
    )
    assert read(tmp_path).entries == (entry,)
    texts = " ".join(p.text for p in parse_corpus(read_corpus(tmp_path)))
    assert texts == "Yes. Bring a playlist on your phone."  # as sentences, or (a short answer) as one passage
    assert "Also asked as" not in texts and "spotify" not in texts


def test_a_hand_edited_file_is_read_back_and_untouched_entries_are_kept_byte_for_byte(tmp_path):
    hand = "# Our FAQ\n\nIntro line.\n\n## Parking?\n\nBehind the studio.\n### A sub-heading\nkept as it was\n"
    (tmp_path / FAQ_FILE).write_text(hand, encoding="utf-8")
    faq = read(tmp_path)
    assert [e.question for e in faq.entries] == ["Parking?"]
    text = faq.with_entry(None, Entry("Gift cards?", "Yes."))
    assert text == hand + "\n## Gift cards?\n\nYes.\n"
    assert read(tmp_path).version != "" and read(tmp_path).version == faq.version
    assert faq.with_entry(0, None) == "# Our FAQ\n\nIntro line.\n"


def test_a_hand_edit_that_is_not_utf8_is_refused_with_what_to_do(tmp_path):
    (tmp_path / FAQ_FILE).write_bytes(b"# FAQ\n\n## Parking?\n\n\xff\xfe\n")
    with pytest.raises(PublishError, match="not UTF-8 after a hand edit"):
        read(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "Yes. Bring a playlist on your phone and your therapist will play it through the room speaker.",
        "Your data: we never share it. Prices are 5 < 10 dollars & up.",
        "Book at https://studio.example/book or call 555-0100.",
    ],
)
def test_clean_answer_keeps_plain_text_exactly(text):
    assert clean_answer(text) == text


@pytest.mark.parametrize(
    "answer", ["Yes!", "Free parking\n\nBehind the studio", "Prices\n\nFrom $80 an hour.", "Gift Cards Sold Here!\n\nYes."]
)
def test_no_part_of_an_answer_ever_becomes_a_section(tmp_path, answer):
    try:
        entry = clean_entry("Parking?", answer)
    except PublishError as e:
        assert "section title" in str(e)
        return
    (tmp_path / FAQ_FILE).write_text(read(tmp_path).with_entry(None, entry), encoding="utf-8")
    passages = parse_corpus(read_corpus(tmp_path))
    assert {p.section for p in passages} == {"Parking?"}
    assert " ".join(p.text for p in passages).replace(" ", "") == entry.answer.replace("\n", "").replace(" ", "")
