"""Studio FAQ entries as plain Markdown: what is cleaned, what is refused, and the file they go into."""

from __future__ import annotations

import pytest

from assistant.corpus import parse_corpus, read_corpus
from assistant.web.faq import FAQ_FILE, AlreadyAnswered, PublishError, clean_entry, publish


@pytest.mark.parametrize(
    "question, answer, expected_question, expected_answer",
    [
        ("Do you have parking?", "Yes, behind the studio.", "Do you have parking?", "Yes, behind the studio."),
        ("  Do you have\nparking?  ", "Yes,\r\nbehind the   studio.", "Do you have parking?", "Yes, behind the studio."),
        ("## Parking?", "# Yes\n## behind the studio.", "Parking?", "Yes behind the studio."),
        ("<b>Parking</b>?", "Yes <img src=x onerror=alert(1)>free.", "Parking ?", "Yes free."),
        ("Parking?\x00\x1b", "Yes.\x07\n\nSecond paragraph.", "Parking?", "Yes.\n\nSecond paragraph."),
        ("Kids under 16?", "Clients < 16 come with a parent.", "Kids under 16?", "Clients < 16 come with a parent."),
        ("Café?", "Oui, thé et café — gratuits.", "Café?", "Oui, thé et café — gratuits."),
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
        ("Parking?", "", "can't be empty"),
        ("Parking?", "<p></p>", "can't be empty"),
        ("q" * 201, "Yes.", "under 200"),
        ("Parking?", "a" * 2001, "under 2,000"),
        (None, "Yes.", "as text"),
    ],
)
def test_empty_or_oversized_entries_are_refused(question, answer, reason):
    with pytest.raises(PublishError, match=reason):
        clean_entry(question, answer)


def test_publish_creates_the_file_with_its_title_then_appends(tmp_path):
    publish(tmp_path, "Do you have parking?", "Yes, free parking behind the studio.")
    publish(tmp_path, "Do you sell gift cards?", "Yes, at the front desk.\n\nThey never expire.")
    text = (tmp_path / FAQ_FILE).read_text(encoding="utf-8")
    assert text == (
        "# Studio FAQ\n\n## Do you have parking?\n\nYes, free parking behind the studio.\n\n"
        "## Do you sell gift cards?\n\nYes, at the front desk.\n\nThey never expire.\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == [FAQ_FILE]  # no temporary file left behind
    passages = parse_corpus(read_corpus(tmp_path))
    assert [(p.section, p.text) for p in passages] == [
        ("Do you have parking?", "Yes, free parking behind the studio."),
        ("Do you sell gift cards?", "Yes, at the front desk."),
        ("Do you sell gift cards?", "They never expire."),
    ]


def test_publish_keeps_a_hand_edited_file_and_refuses_a_question_it_already_answers(tmp_path):
    (tmp_path / FAQ_FILE).write_text("# Our FAQ\n\n## Parking?\n\nBehind the studio.", encoding="utf-8")
    with pytest.raises(AlreadyAnswered, match="already answers 'parking\\?'"):
        publish(tmp_path, "parking?", "Yes.")
    publish(tmp_path, "Gift cards?", "Yes.")
    assert (tmp_path / FAQ_FILE).read_text(encoding="utf-8") == (
        "# Our FAQ\n\n## Parking?\n\nBehind the studio.\n\n## Gift cards?\n\nYes.\n"
    )
