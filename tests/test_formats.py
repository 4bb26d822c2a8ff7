"""Corpus files a studio already has: saved web pages, Word documents and PDFs read as documents; anything else
named as not read."""

from __future__ import annotations

import pytest

from assistant import Assistant, CorpusError
from assistant.corpus import parse_corpus, read_corpus
from documents import make_docx, make_pdf
from fakes import FakeEmbedder


def passages(corpus_dir):
    return parse_corpus(read_corpus(corpus_dir))


def test_a_word_document_keeps_its_headings_questions_lists_and_tables(tmp_path):
    (tmp_path / "faq.docx").write_bytes(make_docx([
        ("heading", "Treatments"),
        ("para", "We offer three treatments:"),
        ("item", "Swedish massage"),
        ("item", "Hot stones"),
        ("bold", "Do you take walk-ins?"),
        ("para", "Yes, when a therapist is free."),
        ("table", [["Treatment", "60 min"], ["Swedish", "£60"]]),
    ]))
    found = passages(tmp_path)
    items = [p for p in found if p.lead == "We offer three treatments:"]
    assert [p.text for p in items] == ["Swedish massage", "Hot stones"]
    assert all(p.section == "Treatments" for p in items)
    walk_in = [p.text for p in found if "Do you take walk-ins?" in p.asked]  # the bold question is the entry's
    assert walk_in[0] == "Yes, when a therapist is free."
    assert any("Swedish" in p.text and "£60" in p.text and "60 min" in p.text for p in found)  # a row with its header
    assert not any(p.text.startswith("Do you take") for p in found)


def test_a_pdf_reads_as_a_text_file_with_its_wrapped_lines_joined_and_question_lines_as_entries(tmp_path):
    (tmp_path / "prices.pdf").write_bytes(make_pdf([
        "Harbour Massage price list", "",
        "Do you take walk-ins?", "Yes, when a therapist is free. Call ahead", "on busy Saturdays to check.",
        "How much is an hour?", "An hour costs $90 and ninety minutes", "costs $120.",
    ]))
    by_question = {p.asked[0]: p.text for p in passages(tmp_path) if p.asked}
    assert by_question == {
        "Do you take walk-ins?": "Yes, when a therapist is free. Call ahead on busy Saturdays to check.",
        "How much is an hour?": "An hour costs $90 and ninety minutes costs $120.",
    }


def test_a_saved_web_page_is_read_without_its_menus_banners_and_footer(tmp_path):
    (tmp_path / "faq.html").write_text(
        "<html><head><title>Lotus</title><style>p{}</style></head><body>"
        "<header><a href='/'>Home</a> <a href='/book'>Book now</a></header>"
        "<nav><ul><li>Prices</li><li>Contact</li></ul></nav>"
        "<main><h2>Can I bring my own music?</h2><p>Yes, plug your phone into the speaker.</p></main>"
        "<footer>© 2026 Lotus Bodywork · Privacy</footer></body></html>",
        encoding="utf-8",
    )
    found = passages(tmp_path)
    assert [(p.asked, p.text) for p in found] == [
        (("Can I bring my own music?",), "Yes, plug your phone into the speaker.")
    ]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("notes.docx", b"PK\x03\x04 not really a zip", r"notes\.docx could not be read as a Word document .*save it again"),
    ("prices.pdf", b"%PDF-1.4 truncated", r"prices\.pdf could not be read as a PDF .*save it as \.txt"),
    ("scan.pdf", make_pdf([""]), r"scan\.pdf has no text to read \(a scanned PDF\?\)"),
])
def test_a_damaged_office_file_is_refused_by_name_with_what_to_do(tmp_path, name, data, message):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(CorpusError, match=message):
        read_corpus(tmp_path)


def test_files_it_cannot_read_are_named_in_the_problems_and_the_rest_still_answers(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "care.md").write_text("# Care\n\nSoothing music plays in every room.\n", encoding="utf-8")
    (corpus / "menu.pdf").write_bytes(make_pdf(["Hot stones cost $80 for an hour."]))
    (corpus / "logo.png").write_bytes(b"\x89PNG")
    (corpus / "price list.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (corpus / "topics.toml").write_text('[[topic]]\nname = "x"\nkind = "general"\nexamples = ["music"]\n')
    bot = Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index",
                         embedder=FakeEmbedder(("music", "stones", "room")))
    problems = bot.info()["problems"]
    assert [p.split(" is not read")[0] for p in problems] == ["logo.png", "price list.doc"]
    assert all("only .md, .txt, .html, .docx or .pdf files are" in p for p in problems)
    assert bot.info()["sources"] == ["care.md", "menu.pdf"]
    reply = bot.ask("hot stones?")
    assert reply.citations[0].source == "menu.pdf" and "$80" in reply.citations[0].text


def test_many_files_it_cannot_read_are_named_in_one_line(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "photos").mkdir(parents=True)
    (corpus / "care.md").write_text("# Care\n\nSoothing music plays in every room.\n", encoding="utf-8")
    for n in range(40):
        (corpus / "photos" / f"room-{n:02}.jpg").write_bytes(b"\xff\xd8")
    bot = Assistant.load(corpus_dir=corpus, index_dir=tmp_path / "index", embedder=FakeEmbedder(("music", "room")))
    (problem,) = bot.info()["problems"]
    assert problem.startswith("40 files are not read (photos/room-00.jpg, photos/room-01.jpg, photos/room-02.jpg, …)")
