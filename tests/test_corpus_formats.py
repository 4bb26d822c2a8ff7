"""Pasted studio FAQ pages → question-and-answer entries: bold and italic questions, question list items,
HTML <details>/<dt>/<h2> blocks, pipe tables and inline Markdown, none of it ever quoted as markup."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.corpus import PARSER_VERSION, Document, parse, parse_corpus, read_corpus
from assistant.errors import CorpusError
from fakes import FakeEmbedder

FAKE_TOPICS = Path(__file__).resolve().parent / "fake_topics.toml"
PASTED_PAGE = Path(__file__).resolve().parent / "fixtures" / "pasted-faq-page.md"

MARKUP = re.compile(r"\*\*|__|(?<!\w)[*_]\w|`|\]\(|!\[|<|>|^#|\||^\s*(?:[-*]|\d+[.)])\s", re.MULTILINE)


def quoted(passages) -> list[str]:
    return [p.quote for p in passages]


def assert_no_markup(passages) -> None:
    """No markup in anything a reply shows or a retrieval view reads."""
    for p in passages:
        for text in (p.quote, p.section or "", p.context, *p.asked):
            assert not MARKUP.search(text), (text, p)


def entries(passages) -> list[tuple[tuple[str, ...], str]]:
    return [(p.asked, p.quote) for p in passages]


def assert_no_question_quoted(passages) -> None:
    questions = {q for p in passages for q in p.asked}
    assert not [p.quote for p in passages if p.text in questions or p.text.endswith("?")]


def test_parser_version_is_bumped_so_stored_indexes_rebuild():
    assert PARSER_VERSION >= 5


# --- the page from the brief, whole -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["faq.md", "faq.txt"])
def test_a_pasted_faq_page_parses_into_entries_with_no_markup_quoted(tmp_path, name):
    (tmp_path / name).write_text(PASTED_PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    passages = parse_corpus(read_corpus(tmp_path))
    page = ("Frequently asked questions",) if name.endswith(".md") else ()  # a Markdown heading is a view
    assert entries(passages) == [
        (("Do you take card payments?",), "Yes, all major cards and contactless. We don't take cheques."),
        (("Is there parking?",), "There is free parking behind the building after 6pm."),
        (("Can I bring my own music?",), "Of course, just plug your phone into the speaker."),
        (("How early should I arrive?",), "Ten minutes before your booking, please."),
        (("What if I'm late?",), "We'll do what we can, but the session ends on time."),
        (page, "Swedish: 60 min £60, 90 min £85"),
        (page, "Deep tissue: 60 min £70, 90 min £95"),
        (("Do you sell gift vouchers?",), "Yes, at reception or online."),
    ]
    assert_no_markup(passages)
    assert_no_question_quoted(passages)
    assert {p.section for p in passages if p.asked in ((), page)} == {"Frequently asked questions"}


# --- bold and italic questions --------------------------------------------------------------------


@pytest.mark.parametrize("mark", ["**", "__", "*", "_", "***"])
def test_an_emphasised_question_line_is_an_entry_and_its_answer_runs_to_the_next_question(mark):
    text = (
        f"# FAQ\n\n{mark}Do you take cards?{mark}\nYes, all major cards.\n\nWe don't take cheques.\n\n"
        f"{mark}Is there parking?{mark}\n\nThere is free parking behind the building.\n"
    )
    passages = parse(Document("faq.md", text))
    assert entries(passages) == [
        (("Do you take cards?",), "Yes, all major cards."),
        (("Do you take cards?",), "We don't take cheques."),
        (("Is there parking?",), "There is free parking behind the building."),
    ]
    assert_no_markup(passages)


def test_a_bold_question_with_its_answer_on_the_same_line_in_text():
    text = "Our FAQ\n\n**Do you take cards?** Yes, all major cards.\n\n**Is there parking?** Free, behind us.\n"
    passages = parse(Document("faq.txt", text))
    assert entries(passages) == [
        (("Do you take cards?",), "Yes, all major cards."),
        (("Is there parking?",), "Free, behind us."),
    ]
    assert_no_markup(passages)


def test_a_bold_line_that_is_no_question_is_a_section_heading():
    text = "# Visiting\n\n**Parking**\n\nFree after 6pm. Ask at the desk.\n\n**Note:** bring a towel.\n"
    passages = parse(Document("visit.md", text))
    assert [(p.section, p.quote) for p in passages] == [
        ("Parking", "Free after 6pm. Ask at the desk."),
        ("Parking", "Note: bring a towel."),  # a bold label inside a paragraph is just its words
    ]
    assert passages[0].asked == ("Parking",)
    assert_no_markup(passages)


def test_a_bold_run_in_heading_names_its_one_paragraph():
    text = ("# Treatments\n\n## What's the difference?\n\n**Hot stones.** Warm basalt stones glide over the back.\n\n"
            "**Sports massage.** Deep strokes and stretching.\n\nNot sure which? Ask us.\n")
    passages = parse(Document("treatments.md", text))
    assert [(p.section, p.asked, p.quote) for p in passages] == [
        ("Hot stones", ("Hot stones",), "Hot stones: Warm basalt stones glide over the back."),
        ("Sports massage", ("Sports massage",), "Sports massage: Deep strokes and stretching."),
        ("Treatments", ("Treatments",), "Not sure which? Ask us."),  # back under the page, not the last treatment
    ]


def test_a_bold_question_label_pair_is_a_q_and_a_pair():
    text = "**Q:** Do you take cards?\n**A:** Yes, all major cards.\n\n**Q:** Is there parking?\n**A:** Yes.\n"
    passages = parse(Document("faq.txt", text))
    assert entries(passages) == [(("Do you take cards?",), "Yes, all major cards."), (("Is there parking?",), "Yes.")]


def test_a_bold_question_then_an_answer_label_and_a_bold_label_over_text():
    text = ("# FAQ\n\n**Do you take cards?**\nA: Yes, all major cards.\n\n**Parking:**\nFree after 6pm.\n\n"
            "**Bring:**\n- a towel\n- water\n")
    passages = parse(Document("faq.md", text))
    assert [(p.section, p.quote) for p in passages] == [
        ("Do you take cards?", "Yes, all major cards."),
        ("Parking", "Free after 6pm."),
        ("Parking", "Bring:"),  # a bold label over a list stays its lead-in
        ("Parking", "Bring: a towel"),
        ("Parking", "Bring: water"),
    ]


@pytest.mark.parametrize("name", ["faq.md", "faq.txt"])
def test_plain_question_lines_pasted_into_markdown_or_text_are_entries(name):
    text = "# FAQ\n\nDo you take cards?\nYes, all major cards.\n\nIs there parking?\n\nFree after 6pm.\n"
    passages = parse(Document(name, text))
    assert entries(passages) == [(("Do you take cards?",), "Yes, all major cards."),
                                 (("Is there parking?",), "Free after 6pm.")]


def test_a_question_line_inside_an_answer_under_question_headings_stays_part_of_that_answer():
    text = ("# Studio FAQ\n\n## Can I park?\n\nNot sure where?\n\nAsk at the desk.\n\n"
            "## Can I pay later?\n\nRunning short?\n\nWe invoice companies.\n")
    passages = parse(Document("studio-faq.md", text))
    assert {p.asked for p in passages} == {("Can I park?",), ("Can I pay later?",)}


# --- question list items ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["faq.md", "faq.txt"])
@pytest.mark.parametrize(
    "text",
    [
        "FAQ\n\n1. Can I bring my own music?\n   Of course, plug in your phone.\n2. How early should I arrive?\n"
        "   Ten minutes before, please.\n",
        "FAQ\n\n1) Can I bring my own music?\nOf course, plug in your phone.\n2) How early should I arrive?\n"
        "Ten minutes before, please.\n",
        "FAQ\n\nQ1. Can I bring my own music?\nA1. Of course, plug in your phone.\n\nQ2. How early should I arrive?\n"
        "A2. Ten minutes before, please.\n",
        "FAQ\n\n- Can I bring my own music?\n\n  Of course, plug in your phone.\n\n- How early should I arrive?\n\n"
        "  Ten minutes before, please.\n",
        "FAQ\n\n- **Can I bring my own music?** Of course, plug in your phone.\n"
        "- **How early should I arrive?** Ten minutes before, please.\n",
    ],
)
def test_each_question_item_is_its_own_entry_and_answers_never_merge(text, name):
    passages = parse(Document(name, text))
    assert entries(passages) == [
        (("Can I bring my own music?",), "Of course, plug in your phone."),
        (("How early should I arrive?",), "Ten minutes before, please."),
    ]
    assert_no_markup(passages)


def test_text_after_a_question_item_belongs_to_the_page_not_to_the_item():
    text = ("# FAQ\n\n## Booking\n\n1. Can I book online?\n   Yes, on our site.\n2. Can I book by phone?\n"
            "   Yes, 9 to 5.\n\nWe answer email within a day.\n")
    passages = parse(Document("faq.md", text))
    assert entries(passages)[:2] == [(("Can I book online?",), "Yes, on our site."),
                                     (("Can I book by phone?",), "Yes, 9 to 5.")]
    last = passages[-1]
    assert (last.section, last.quote) == ("Booking", "We answer email within a day.")
    assert "Can I book by phone?" not in last.asked


def test_a_list_of_questions_with_no_answers_is_a_contents_list_never_quoted():
    text = ("# FAQ\n\n1. Can I bring my own music?\n2. How early should I arrive?\n\n"
            "**Can I bring my own music?**\nOf course.\n\n**How early should I arrive?**\nTen minutes before.\n")
    passages = parse(Document("faq.md", text))
    assert entries(passages) == [(("Can I bring my own music?",), "Of course."),
                                 (("How early should I arrive?",), "Ten minutes before.")]


def test_list_items_under_a_question_are_quoted_one_by_one_not_glued():
    passages = parse(Document("faq.md", "# FAQ\n\n## What should I bring?\n\n- a towel\n- water\n"))
    assert quoted(passages) == ["a towel", "water"]


# --- HTML pasted into Markdown ----------------------------------------------------------------------


def test_details_blocks_are_entries_and_block_tags_keep_their_boundaries():
    text = ("# FAQ\n\n<details><summary>Do you sell gift vouchers?</summary>Yes, at reception or online."
            "</details>\n<details>\n  <summary><strong>Can I cancel?</strong></summary>\n  <p>Up to a day before.</p>"
            "\n</details>\n")
    passages = parse(Document("faq.md", text))
    assert entries(passages) == [(("Do you sell gift vouchers?",), "Yes, at reception or online."),
                                 (("Can I cancel?",), "Up to a day before.")]
    assert_no_markup(passages)


def test_definition_lists_and_html_headings_become_entries_and_sections():
    text = ("<h2>Visiting us</h2>\n<p>We are on the first floor.</p>\n<dl><dt>Is there a lift?</dt>"
            "<dd>Yes, by the stairs.</dd><dt>Do you open on Sundays?</dt><dd>No, we rest.</dd></dl>\n"
            "<h3>Gift cards</h3><p>Gift cards last a year.</p>")
    passages = parse(Document("visit.md", text))
    assert [(p.section, p.asked, p.quote) for p in passages] == [
        ("Visiting us", ("Visiting us",), "We are on the first floor."),
        ("Is there a lift?", ("Is there a lift?",), "Yes, by the stairs."),
        ("Do you open on Sundays?", ("Do you open on Sundays?",), "No, we rest."),
        ("Gift cards", ("Gift cards",), "Gift cards last a year."),
    ]
    assert_no_markup(passages)


# --- tables -----------------------------------------------------------------------------------------

PRICES = """# Prices

Our massage prices:

| Treatment | 60 min | 90 min |
|:---|---:|---:|
| **Swedish** | £60 | £85 |
| Deep tissue | £70 | £95 |
| Hot stones | – | £120 |

Prices include VAT.
"""


def test_each_table_row_is_one_passage_read_with_its_header_and_the_sentence_before():
    passages = parse(Document("prices.md", PRICES))
    rows = [p for p in passages if p.lead]
    assert [(p.lead, p.text) for p in rows] == [
        ("Our massage prices:", "Swedish: 60 min £60, 90 min £85"),
        ("Our massage prices:", "Deep tissue: 60 min £70, 90 min £95"),
        ("Our massage prices:", "Hot stones: 90 min £120"),  # a dash is no price
    ]
    assert rows[1].quote == "Our massage prices: Deep tissue: 60 min £70, 90 min £95"
    assert quoted(passages)[-1] == "Prices include VAT."
    assert_no_markup(passages)
    assert not any(set(p.text) <= set("|-: ") for p in passages)  # the separator row is never a passage


def test_a_table_under_a_heading_embeds_after_the_heading():
    passages = parse(Document("prices.txt", "Prices\n\n| Treatment | Price |\n|---|---|\n| Swedish | £60 |\n"))
    assert [(p.section, p.context, p.quote) for p in passages] == [("Prices", "Prices", "Swedish: Price £60")]


def test_a_simple_pipe_table_in_text_without_a_separator_row():
    text = "Opening hours\n\nDay | Opens | Closes\nMonday | 9am | 8pm\nSaturday | 10am | 4pm\n"
    passages = parse(Document("hours.txt", text))
    assert quoted(passages) == ["Monday: Opens 9am, Closes 8pm", "Saturday: Opens 10am, Closes 4pm"]


def test_a_question_and_answer_table_is_entries():
    text = ("# FAQ\n\n| Question | Answer |\n|---|---|\n| Can I park? | Yes, behind us. |\n"
            "| Do you take cards? | All. |\n")
    passages = parse(Document("faq.md", text))
    assert entries(passages) == [(("Can I park?",), "Yes, behind us."), (("Do you take cards?",), "All.")]


def test_an_html_table_reads_like_a_pipe_table():
    text = "<p>Rooms:</p><table><tr><th>Room</th><th>Floor</th></tr><tr><td>Blue</td><td>1st</td></tr></table>"
    passages = parse(Document("rooms.md", text))
    assert quoted(passages) == ["Rooms:", "Rooms: Blue: Floor 1st"]


# --- inline Markdown --------------------------------------------------------------------------------


def test_inline_markdown_never_reaches_a_quote():
    text = ("# Booking\n\nBook **online** or __by phone__, *any* day, ~~not~~ now. Use code `SPA10` at "
            "[our shop](https://shop.example) ![logo](logo.png). Write to <hello@studio.example>.\n")
    (p,) = parse(Document("booking.md", text))
    assert p.quote == ("Book online or by phone, any day, not now. Use code SPA10 at our shop. "
                       "Write to hello@studio.example.")


def test_snake_case_footnote_asterisks_and_escapes_survive():
    text = "# Notes\n\nPrices marked * include VAT; 2 * 3 = 6. File it as gift_card_log. A \\*starred\\* word.\n"
    passages = parse(Document("notes.md", text))
    assert quoted(passages) == ["Prices marked * include VAT; 2 * 3 = 6. File it as gift_card_log. A *starred* word."]


def test_marks_with_no_word_are_never_passages():
    passages = parse(Document("notes.md", "# Notes\n\nText here.\n\n**\n\n…\n\n•\n"))
    assert quoted(passages) == ["Text here."]


def test_setext_headings_and_rules_are_never_passages():
    text = "Visiting us\n===========\n\nWe are upstairs.\n\n---\n\nParking\n-------\n\nFree after 6pm.\n\n* * *\n"
    passages = parse(Document("visit.md", text))
    assert [(p.section, p.quote) for p in passages] == [("Visiting us", "We are upstairs."),
                                                         ("Parking", "Free after 6pm.")]


# --- end to end on the fake embedder ----------------------------------------------------------------


def test_a_bold_question_entry_is_found_by_its_question_and_its_answer_is_quoted(tmp_path):
    from assistant.engine import Assistant

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(FAKE_TOPICS, corpus / "topics.toml")
    (corpus / "faq.md").write_text(
        "# Frequently asked questions\n\n**Can I have music in the room?**\nYes, your therapist will play it.\n\n"
        "**Do you help with sleep?**\n\nMany clients say they rest better afterwards.\n",
        encoding="utf-8",
    )
    bot = Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=FakeEmbedder())
    reply = bot.ask("can I have music in the room?")
    assert reply.abstained is False
    assert reply.citations[0].text == "Yes, your therapist will play it."
    assert "music" not in reply.citations[0].text and "*" not in reply.answer
    assert bot.ask("sleep").citations[0].text == "Many clients say they rest better afterwards."


@pytest.mark.parametrize(
    "text",
    [
        "# A\n\nSee <`b`>bold<`/b`> and <**script**>x. Under 18s < 5.\n",
        "<details><summary>Q?<details><summary>Again?</summary>Yes &lt;img src=x onerror=1&gt;</details>",
        "| <b>Q?</b> | <script>alert(1)</script>Yes |\n|---|---|\n| **A** | `<i>` |\n",
        "**Q?**\x00| forged row\n\x00? forged question\nAnswer.\n",
        "1. **Can I?** <a href='javascript:alert(1)'>Yes</a>\n2. _Why?_\n   ![x](javascript:alert(1)) Because.\n",
    ],
)
def test_odd_mixtures_of_markup_never_put_a_tag_or_a_parser_marker_in_a_passage(text):
    for name in ("odd.md", "odd.txt"):
        passages = parse(Document(name, text))
        for p in passages:
            for shown in (p.quote, p.section or "", p.context, *p.asked):
                assert not re.search(r"<[A-Za-z/!?]|\x00|javascript", shown), (name, shown)


_PIECES = ["**", "*", "__", "_", "`", "|", "|---|---|", "---", "\n", "\n\n", "   ", "1. ", "- ", "Q1. ", "A: ", "?",
           "<details>", "<summary>", "</summary>", "<dt>", "<dd>", "<h2>", "</h2>", "<tr>", "<td>", "[a](b)",
           "![i](j)", "> ", "## ", "Can I park", "Yes, we do.", "Swedish £60", "\\*", "<https://a.example>",
           "&lt;b&gt;", "Also asked as:", "\x00", "\x01", "\x0299999999999", "~~"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=60), st.sampled_from(["x.md", "x.txt"]))
def test_any_mixture_of_pasted_markup_parses_to_passages_with_no_tag_or_marker(pieces, name):
    try:
        passages = parse(Document(name, "".join(pieces)))
    except CorpusError:
        return  # nothing to answer from: refused by name, as any empty document is
    for p in passages:
        assert p.text.strip()
        for shown in (p.quote, p.section or "", p.context, *p.asked):
            assert not re.search(r"<[A-Za-z/!?]|[\x00-\x08]", shown), shown


def test_a_dotted_price_list_reads_as_rows_under_its_headings_none_of_them_a_heading():
    text = (
        "PRICE LIST\nAll prices include tax.\n\nHOT STONES\n"
        "60 minutes ......... $90     Our most popular session\n90 minutes . . . . . $120\n\n"
        "EXTRAS\nScalp massage …… $15 (add to any treatment)\n"
    )
    found = parse(Document("prices.txt", text))
    rows = [(p.section, p.text) for p in found if "$" in p.text]
    assert rows == [
        ("HOT STONES", "60 minutes: $90. Our most popular session"),
        ("HOT STONES", "90 minutes: $120"),
        ("EXTRAS", "Scalp massage: $15 (add to any treatment)"),
    ]
    assert all(p.context == p.section for p in found if "$" in p.text)  # each embeds after its heading
    prose = parse(Document("about.txt", "We are open late... and on Sundays. Relax... unwind.\n"))
    assert [p.text for p in prose] == ["We are open late... and on Sundays.", "Relax... unwind."]


def test_a_list_of_the_pages_own_headings_is_navigation_never_quoted():
    text = (
        "# Treatments\n\nOn this page:\n\n- Hot stones\n- Cupping\n- Our team\n\n"
        "## Hot stones\n\nWarm basalt stones ease tight muscles.\n\n## Cupping\n\nCups lift the skin.\n\n"
        "## Our team\n\nWe are five therapists.\n"
    )
    texts = [p.quote for p in parse(Document("treatments.md", text))]
    assert texts == ["Warm basalt stones ease tight muscles.", "Cups lift the skin.", "We are five therapists."]


@pytest.mark.parametrize("lead", ["We offer three treatments, each 60 or 90 minutes:", ""])
def test_a_list_of_treatments_that_also_have_headings_is_still_an_answer(lead):
    text = (
        f"# Treatments\n\nAt Lotus you can book any of them online. {lead}\n\n- Hot stones\n- Cupping\n"
        "- Thai massage\n\n## Hot stones\n\nWarm stones.\n\n## Cupping\n\nCups.\n\n## Thai massage\n\nStretches.\n"
    )
    found = parse(Document("treatments.md", text))
    assert [p.text for p in found if p.text in ("Hot stones", "Cupping", "Thai massage")] == (
        ["Hot stones", "Cupping", "Thai massage"] if lead else []
    )
