"""Footnote markers glued to words decode against the rising reference numbering; prose numbers stay."""

from __future__ import annotations

import pytest

from assistant import footnotes
from assistant.corpus import Document, parse
from guide_text import GUIDE

REFS = 17  # the guide's reference list


@pytest.mark.parametrize(
    ("text", "next_expected", "clean", "numbers"),
    [
        ("from physical pain,12 including back pain", 1, "from physical pain, including back pain", (1, 2)),
        ("as well as psychological stress45.", 4, "as well as psychological stress.", (4, 5)),
        ("Facilitating better sleep1213", 12, "Facilitating better sleep", (12, 13)),
        ("ranging from lowered blood pressure6 to better", 6, "ranging from lowered blood pressure to better", (6,)),
        ("reducing symptoms of depression and anxiety10", 10, "reducing symptoms of depression and anxiety", (10,)),
        ("an effective treatment for back pain.9 But", 9, "an effective treatment for back pain. But", (9,)),
    ],
)
def test_marker_glued_to_a_word_is_decoded_and_removed(text, next_expected, clean, numbers):
    decoded = footnotes.decode(text, REFS, next_expected)
    assert decoded.text == clean
    assert [ns for _, ns in decoded.markers] == [numbers]
    assert decoded.next_expected == numbers[-1] + 1


def test_marker_offset_points_just_after_the_word_in_the_clean_text():
    decoded = footnotes.decode("physical pain,12 including", REFS)
    (offset, _), = decoded.markers
    assert decoded.text[:offset] == "physical pain,"


def test_markers_in_one_sentence_carry_the_numbering_forward():
    text = "from physical pain,12 including back pain, clinical studies show,3 as well as psychological stress45."
    decoded = footnotes.decode(text, REFS)
    assert [ns for _, ns in decoded.markers] == [(1, 2), (3,), (4, 5)]
    assert decoded.text == (
        "from physical pain, including back pain, clinical studies show, as well as psychological stress."
    )
    assert decoded.next_expected == 6


@pytest.mark.parametrize(
    "text",
    [
        "Researchers find 10 minutes reduces inflammation",
        "A session lasts 10 minutes or more.",
        "Sessions start at 9 and end at 17.",
    ],
)
def test_bare_numbers_in_prose_are_not_markers(text):
    decoded = footnotes.decode(text, REFS)
    assert decoded.text == text
    assert decoded.markers == ()


def test_without_a_reference_list_nothing_is_decoded():
    decoded = footnotes.decode("better sleep1213", 0)
    assert decoded.text == "better sleep1213"
    assert decoded.markers == ()


def test_digit_runs_beyond_the_reference_list_are_left_alone():
    decoded = footnotes.decode("model X99 is new", 17)
    assert decoded.text == "model X99 is new"


def test_splits_lists_every_rising_reading():
    assert sorted(footnotes.splits("1213", 17)) == [(1, 2, 13), (12, 13)]
    assert footnotes.splits("45", 17) == [(4, 5)]
    assert footnotes.splits("10", 17) == [(10,)]  # "1","0" is not a reading: no study 0


def test_choose_prefers_the_reading_that_continues_the_numbering():
    assert footnotes.choose("1213", 17, next_expected=12) == (12, 13)
    assert footnotes.choose("12", 17, next_expected=1) == (1, 2)
    assert footnotes.choose("12", 17, next_expected=12) == (12,)


def _guide_passages():
    return parse(Document(GUIDE.name, GUIDE.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("starts_with", "numbers"),
    [
        ("Massage therapy is a safe, effective method", [1, 2, 3, 4, 5]),
        ("Massage therapy offers many other benefits", [6, 7, 8]),
        ("First and most obviously", [9]),
        ("Promoting mental health", [10]),
        ("Promoting cardiovascular health", [11]),
        ("Facilitating better sleep", [12, 13]),
        ("Supporting recovery from sports injuries", [14, 15]),
        ("Managing symptoms", [16]),
        ("Helping to maintain flexibility", [17]),
    ],
)
def test_guide_passages_carry_the_studies_their_markers_name(starts_with, numbers):
    (passage,) = [p for p in _guide_passages() if p.text.startswith(starts_with)]
    assert [r.number for r in passage.references] == numbers


def test_study_titles_are_attached_to_passages():
    (sleep,) = [p for p in _guide_passages() if p.text == "Facilitating better sleep"]
    assert [r.title for r in sleep.references] == [
        "Back massage intervention for improving health and sleep quality among intensive care unit patients",
        "Randomised controlled trial of the effectiveness of using back massage to improve sleep quality "
        "among Taiwanese insomnia postpartum women",
    ]


def test_passages_without_markers_cite_nothing():
    passages = _guide_passages()
    (clothing,) = [p for p in passages if "loose-fitting clothing" in p.text]
    assert clothing.references == ()
    assert sum(1 for p in passages if p.references) == 9
