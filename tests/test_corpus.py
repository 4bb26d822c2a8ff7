"""Corpus files → passages: the guide's structure, studio markdown, and files that can't be used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.corpus import Document, corpus_hash, parse, read_corpus
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
    assert [(p.section, p.text) for p in out] == [
        ("Our studio", "Welcome to the studio."),
        ("Our studio", "We are glad you are here."),
        ("Before your visit", "Arrive ten minutes early."),
        ("Before your visit", "Drink some water."),
        ("Before your visit", "Bring these things:"),
        ("Before your visit", "a bottle of water"),
        ("Before your visit", "comfortable clothes"),
        ("Before your visit", "a hair tie"),
        ("Aftercare", "Rest for the evening."),
    ]
    paragraphs = {p.text: p.paragraph for p in out}
    assert paragraphs["Welcome to the studio."] == paragraphs["We are glad you are here."]
    assert paragraphs["Drink some water."] != paragraphs["Bring these things:"]


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


def test_read_corpus_reads_md_and_txt_only(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\nAlpha text.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Beta text.\n", encoding="utf-8")
    (tmp_path / "c.pdf").write_bytes(b"%PDF")
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
    with pytest.raises(CorpusError, match=r"has no \.md or \.txt files"):
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
