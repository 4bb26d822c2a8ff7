"""Corpus files → passages: sections, paragraphs, list items, sentences and their study references."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from assistant import footnotes
from assistant.formats import SUFFIXES, document_text, is_markdown, max_bytes
from assistant.pasted import ONE_PARAGRAPH as _ONE_PARAGRAPH
from assistant.pasted import ROW as _ROW
from assistant.pasted import inline_plain, plain_text, structure
from assistant.errors import CorpusError
from assistant.records import Passage, Reference

PARSER_VERSION = 7
READABLE = ".md, .txt, .html, .docx or .pdf"

_HEADING_MD = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*•‣◦]|\d{1,3}[.)])\s+(.*\S)\s*$")
_REFERENCE = re.compile(r"^\s*(\d{1,3})\s+(?:[\"“](.+?)[\"”]|(.+?))\s*:?\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[\"“(]?[A-Z0-9])")
_Q_LABEL = re.compile(r"^\s*(?:Q|Question)\s*[:.)]\s*(.*?)\s*$", re.IGNORECASE)
_A_LABEL = re.compile(r"^\s*(?:A|Answer)\s*[:.)]\s*(.*?)\s*$", re.IGNORECASE)
_LABEL = re.compile(r"^\s*(?:Q|A|Question|Answer)\s*[:.)]?\s*$", re.IGNORECASE)
_WORDY = re.compile(r"[^\W_]")  # a letter or digit in any script
_ALSO_ASKED = re.compile(r"^\s*also asked as\s*:?\s*$", re.IGNORECASE)
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "Dr.", "Mr.", "Mrs.", "Ms.", "St.", "vs.", "approx.", "min.")


@dataclass(frozen=True)
class Document:
    source: str  # file name relative to the corpus directory
    text: str


def read_corpus(corpus_dir: Path) -> list[Document]:
    """Read every Markdown, text, web page, Word and PDF file; a file that can't be used raises CorpusError naming it."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpus directory {corpus_dir} does not exist; create it and add {READABLE} files")
    docs: list[Document] = []
    seen: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        name = path.relative_to(corpus_dir).as_posix()
        size, limit = path.stat().st_size, max_bytes(name)
        if size > limit:
            raise CorpusError(
                f"{name} is {math.ceil(size / 2**20 * 10) / 10:.1f} MB; a corpus file may be at most "
                f"{limit // 2**20} MB, so split it into smaller documents"
            )
        text = document_text(name, path.read_bytes())
        if not text.strip():
            raise CorpusError(f"{name} is empty; add text to it or remove it")
        digest = hashlib.sha256(text.strip().encode()).hexdigest()
        if digest in seen:
            raise CorpusError(f"{name} duplicates {seen[digest]}; remove one of them")
        seen[digest] = name
        docs.append(Document(name, text))
    if not docs:
        raise CorpusError(f"Corpus directory {corpus_dir} has no {READABLE} files; add the guide or a studio document")
    return docs


def corpus_files(corpus_dir: Path) -> list[Path]:
    return sorted(p for p in _visible_files(corpus_dir) if p.suffix.lower() in SUFFIXES)


def unread_files(corpus_dir: Path, settings_files: tuple[str, ...] = ()) -> list[str]:
    """Files in the corpus folder that are neither documents nor the studio's settings files: not read."""
    corpus_dir = Path(corpus_dir)
    return sorted(
        p.relative_to(corpus_dir).as_posix() for p in _visible_files(corpus_dir)
        if p.suffix.lower() not in SUFFIXES and p.relative_to(corpus_dir).as_posix() not in settings_files
    )


def _visible_files(corpus_dir: Path):
    return (
        p for p in Path(corpus_dir).rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def corpus_hash(corpus_dir: Path, settings_key: str) -> str:
    """Hash of every corpus file's name and bytes plus the chunking settings."""
    h = hashlib.sha256(f"parser={PARSER_VERSION};{settings_key}".encode())
    for path in corpus_files(corpus_dir):
        h.update(path.relative_to(corpus_dir).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """A leading '---' block of `key: value` lines, and the text after it."""
    m = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not m:
        return {}, text
    fields = {}
    for line in m.group(1).split("\n"):
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip().strip("\"'").lower()
    return fields, text.replace("\r\n", "\n")[m.end() :]


def document_flags(corpus_dir: Path) -> dict[str, bool]:
    """What each document's front matter says about itself: `general: true` marks a general guide
    (never quoted for studio business), `general: false` the studio's own."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return {}
    out = {}
    for path in corpus_files(corpus_dir):
        with open(path, "rb") as f:
            head = f.read(2048).decode("utf-8", "ignore")
        value = front_matter(head)[0].get("general")
        if value in ("true", "yes", "1", "false", "no", "0"):
            out[path.relative_to(corpus_dir).as_posix()] = value in ("true", "yes", "1")
    return out


def title_from_name(source: str) -> str:
    stem = Path(source).stem.replace("-", " ").replace("_", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else source


def parse(doc: Document, max_chars: int = 600) -> list[Passage]:
    """Split a document into sentence and list-item passages, with sections and references.
    Question-and-answer entries (question headings, Q:/A: pairs, stand-alone question lines, and what
    markup.structure makes of bold questions, question list items, <details> blocks and question table rows)
    keep their question and its "Also asked as:" phrasings as `asked`; a short answer becomes one passage.
    A table row is one passage read with its header cells."""
    markdown = is_markdown(doc.source)
    text = plain_text(re.sub(r"[\x00-\x02]", "", front_matter(doc.text)[1]))  # the parser's own marks
    text = inline_plain(structure(text), markdown)
    blocks = _blocks(_questions_to_headings(text))
    blocks, references = _split_references(blocks)
    by_number = {r.number: r for r in references}

    section: str | None = title_from_name(doc.source)
    title = section  # the page's title: where text after a question entry belongs when no topic heading is above
    headings: set[str] = set()
    topic: str | None = None  # the nearest heading that is not a question: "Who is it for?" is asked of it
    resume: tuple[str | None, str | None] | None = None
    passages: list[Passage] = []
    entry_of: list[int] = []  # passage position → entry number (one per heading)
    asked: dict[int, list[str]] = {}
    listed: set[int] = set()  # passages that are list items or table rows: never joined into one quote
    entry = 0
    next_ref = 1
    lead = ""
    titles = {_title_key(m.group(2)) for lines in blocks for x in lines if (m := _HEADING_MD.match(x))}
    for para_no, lines in enumerate(blocks):
        if len(lines) >= 2 and all(_BULLET.sub(r"\1", x).strip().endswith("?") for x in lines):
            continue  # a contents list of questions is navigation, not an answer
        label = passages[-1].text if passages and passages[-1].paragraph == para_no - 1 else ""
        if _contents(lines, titles) and (not lead or lead == label and len(label.split()) <= 3):
            if lead:  # "On this page:", alone in the paragraph before: a label, not a sentence that answers
                passages.pop()
                entry_of.pop()
            lead = ""
            continue  # a list of the page's own headings is navigation, not an answer
        units: list[tuple[str, str]] = []  # (kind, raw text)
        phrasings = False
        listed_questions = False
        for line in lines:
            heading = _HEADING_MD.match(line) if markdown or line.lstrip().startswith("#") else None
            bullet = _BULLET.match(line)
            if line.startswith(_ONE_PARAGRAPH):
                resume = (section if not (section or "").endswith("?") else topic or title, topic)
                section = line[len(_ONE_PARAGRAPH) :].strip()
                entry += 1
                asked[entry] = [_qualified(section, topic)]
                lead = ""
            elif heading:
                section = heading.group(2).strip()
                headings.add(section)
                entry += 1
                if not section.endswith("?") and passages:  # a page title above everything names no topic
                    topic = section
                elif not section.endswith("?"):
                    title = section
                if markdown or section.endswith("?"):
                    asked[entry] = [_qualified(section, topic) if section.endswith("?") else section]
                lead = ""
                phrasings = False
                resume = None
            elif not units and len(lines) > 1 and not markdown and _looks_like_heading(line, max_words=8):
                section = line.strip()  # "When to get in touch" over its paragraph
                topic = section if passages else topic
                entry += 1
                lead = ""
                resume = None
            elif line.startswith(_ROW):
                units.append(("row", line[len(_ROW) :]))
            elif _ALSO_ASKED.match(line):
                phrasings = True
            elif bullet and phrasings:
                asked.setdefault(entry, []).append(bullet.group(1).strip())
            elif bullet:
                if bullet.group(1).rstrip().endswith("?"):  # a listed question answers nothing
                    listed_questions = True
                else:
                    units.append(("item", bullet.group(1)))
            elif _LABEL.match(line) or not _WORDY.search(line):
                continue  # a bare "A." label, or marks with no word ("**", "* * *"), is never a passage
            elif units and units[-1][0] == "line":
                phrasings = False
                units[-1] = ("line", units[-1][1] + " " + line.strip())
            else:
                phrasings = False
                units.append(("line", line.strip()))
        if listed_questions and all(k == "line" and t.endswith(":") for k, t in units):
            continue  # "Contents:" over a list of questions
        if len(units) == 1 and units[0][0] == "line" and _looks_like_heading(units[0][1]):
            section = units[0][1]
            topic = section if passages else topic
            entry += 1
            lead = ""
            resume = None
            continue
        for kind, raw in units:
            decoded = footnotes.decode(raw, len(references), next_ref)
            next_ref = decoded.next_expected
            pieces = [decoded.text.strip()] if kind != "line" else _sentences(decoded.text, max_chars)
            previous = ""
            for start, end, text in _spans(decoded.text, pieces):
                numbers = sorted({n for off, ns in decoded.markers if start <= off <= end + 1 for n in ns})
                refs = tuple(by_number[n] for n in numbers if n in by_number)
                inline = _inline_list(text) if kind == "line" else None
                if inline:
                    item_lead, items = inline
                    units_out = [(item, item_lead, "") for item in items]
                elif kind == "item":
                    units_out = [(text, lead, "")]
                elif kind == "row":  # a table row reads with its lead-in, or else embeds after its section title
                    units_out = [(text, lead, "" if lead else section or "")]
                else:
                    units_out = [(text, "", previous)]
                for unit_text, unit_lead, unit_context in units_out:
                    passages.append(
                        Passage(
                            id=f"{doc.source}#{len(passages) + 1}",
                            source=doc.source,
                            section=section,
                            text=unit_text,
                            references=refs,
                            lead=unit_lead,
                            context=unit_context,
                            paragraph=para_no,
                        )
                    )
                    entry_of.append(entry)
                    if kind != "line" or inline:
                        listed.add(len(passages) - 1)
                previous = text
            if kind == "line":
                lead = pieces[-1] if pieces and pieces[-1].endswith(":") else ""
        if resume is not None and units:  # a question line's entry was that one paragraph
            section, topic = resume
            resume = None
            entry += 1
            if markdown and section in headings:
                asked[entry] = [section]  # back under a Markdown heading: its title is a view, as it was before
    if not passages:
        raise CorpusError(f"{doc.source} has no text to answer from (only headings or references); add paragraphs")
    return _entries(doc.source, passages, entry_of, asked, listed)


def _title_key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _contents(lines: list[str], titles: set[str]) -> bool:
    """A list whose items are (mostly) the document's own headings: a table of contents."""
    items = [b.group(1) for x in lines if (b := _BULLET.match(x))]
    if len(items) < 3 or len(items) < len(lines):
        return False
    return sum(_title_key(i) in titles for i in items) * 3 >= len(items) * 2


# A short answer is quoted whole: at most this many sentences and characters.
WHOLE_ANSWER_SENTENCES = 3
WHOLE_ANSWER_CHARS = 500


def _entries(
    source: str, passages: list[Passage], entry_of: list[int], asked: dict[int, list[str]], listed: set[int]
) -> list[Passage]:
    """Give each entry's passages its question views; under a heading, a short answer paragraph is one passage."""
    out: list[Passage] = []
    groups: dict[int, list[Passage]] = {}
    for i, (p, e) in enumerate(zip(passages, entry_of)):
        groups.setdefault(e, []).append(replace(p, id=str(i)))  # the id is the position until renumbered
    for e, group in groups.items():
        views = tuple(dict.fromkeys(q for q in asked.get(e, ()) if q))
        if views:
            group = [
                joined
                for paragraph in _paragraphs(group)
                for joined in (paragraph if any(int(p.id) in listed for p in paragraph) else _whole(paragraph))
            ]
        out.extend(replace(p, asked=views) for p in group)
    return [replace(p, id=f"{source}#{i}") for i, p in enumerate(out, 1)]


def _paragraphs(group: list[Passage]) -> list[list[Passage]]:
    out: list[list[Passage]] = []
    for p in group:
        if out and out[-1][-1].paragraph == p.paragraph:
            out[-1].append(p)
        else:
            out.append([p])
    return out


def _whole(paragraph: list[Passage]) -> list[Passage]:
    """A short answer paragraph (no list in it) as one passage, so it is quoted whole."""
    chars = sum(len(p.text) + 1 for p in paragraph)
    if not 1 < len(paragraph) <= WHOLE_ANSWER_SENTENCES or chars > WHOLE_ANSWER_CHARS or any(p.lead for p in paragraph):
        return paragraph
    refs = {r.number: r for p in paragraph for r in p.references}
    text = " ".join(p.text for p in paragraph)
    return [replace(paragraph[0], text=text, references=tuple(refs[n] for n in sorted(refs)), context="")]


def _questions_to_headings(text: str) -> str:
    """Q:/A: pairs and stand-alone question lines (in a document with several) become '## question' headings."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    has_pairs = sum(1 for x in lines if _Q_LABEL.match(x)) >= 1 and any(_A_LABEL.match(x) for x in lines)
    out: list[str] = []
    if has_pairs:
        i = 0
        while i < len(lines):
            q = _Q_LABEL.match(lines[i])
            a = _A_LABEL.match(lines[i])
            if q:
                question = q.group(1).strip()
                i += 1
                while i < len(lines) and lines[i].strip() and not _A_LABEL.match(lines[i]):
                    question = f"{question} {lines[i].strip()}".strip()
                    i += 1
                out += ["", f"## {question}", ""]
                continue
            if a:
                out.append(a.group(1).strip())
            else:
                out.append(lines[i])
            i += 1
        return "\n".join(out)
    if any(x.lstrip().startswith("#") and x.rstrip().endswith("?") for x in lines):
        return text  # a document whose questions are headings: a question line inside an answer is just a sentence
    standalone = [
        i
        for i, x in enumerate(lines)
        if x.strip().endswith("?")
        and len(x.strip()) <= 150
        and len(_SENTENCE_END.split(x.strip())) == 1
        and (i == 0 or not lines[i - 1].strip())
        and not _BULLET.match(x)
        and not x.lstrip().startswith(("#", "\x00"))
    ]
    if len(standalone) < 2:
        return text
    for i in standalone:
        lines[i] = f"{_ONE_PARAGRAPH}{lines[i].strip()}\n"
    return "\n".join(lines)


def parse_corpus(docs: list[Document], max_chars: int = 600) -> list[Passage]:
    passages: list[Passage] = []
    for doc in docs:
        passages.extend(parse(doc, max_chars))
    return passages


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _split_references(blocks: list[list[str]]) -> tuple[list[list[str]], list[Reference]]:
    """Take out the numbered study list (1 "Title": …, numbered from 1), usually at the end of a document."""
    runs: list[tuple[int, int, list[Reference]]] = []
    start = None
    refs: list[Reference] = []
    for i, lines in enumerate([*blocks, []]):
        matches = [_REFERENCE.match(line) for line in lines]
        is_ref = bool(lines) and all(matches) and all(_is_reference_line(line) for line in lines)
        if is_ref:
            if start is None:
                start, refs = i, []
            refs += [Reference(int(m.group(1)), (m.group(2) or m.group(3)).strip()) for m in matches]
        elif start is not None:
            if [r.number for r in refs] == list(range(1, len(refs) + 1)):
                runs.append((start, i, refs))
            start = None
    if not runs:
        return blocks, []
    first, end, found = max(runs, key=lambda run: (len(run[2]), run[0]))  # the longest list, the last if tied
    return blocks[:first] + blocks[end:], found


def _is_reference_line(line: str) -> bool:
    body = line.strip()
    return bool(re.match(r"^\d{1,3}\s+[\"“]", body)) or body.endswith(":")


def _inline_list(sentence: str) -> tuple[str, list[str]] | None:
    """'Techniques include: a (x); b (y); and c (z);' → ('Techniques include:', ['a (x)', 'b (y)', 'c (z)'])."""
    head, sep, tail = sentence.partition(": ")
    if not sep or len(head) > 200:
        return None
    items = [re.sub(r"^(and|or)\s+", "", part.strip()).strip() for part in tail.split(";")]
    items = [i.rstrip(".") for i in items if i]
    if len(items) < 3:
        return None
    return head + ":", items


def _qualified(question: str, topic: str | None) -> str:
    """A short question asked under a topic heading ("Who is it for?" under "Reflexology") names its topic."""
    if topic and len(question.split()) <= 4:
        return f"{topic}: {question}"
    return question


def _looks_like_heading(text: str, max_words: int = 12) -> bool:
    return (
        len(text) <= 80
        and len(text.split()) <= max_words
        and text.split()[-1].lower() not in ("and", "or", "the", "a", "an", "to", "of", "with", "for", "in")
        and not text.endswith((".", ",", ";", ":", "?"))
        and text[:1].isupper()
    )


def _sentences(text: str, max_chars: int) -> list[str]:
    parts: list[str] = []
    for piece in _SENTENCE_END.split(text.strip()):
        piece = piece.strip()
        if not piece:
            continue
        if parts and parts[-1].endswith(_ABBREVIATIONS):
            parts[-1] = parts[-1] + " " + piece
        else:
            parts.append(piece)
    joined: list[str] = []
    for piece in parts:  # "No." or "Absolutely!" is quoted with the sentence after it
        if joined and _too_short(joined[-1]):
            joined[-1] = f"{joined[-1]} {piece}"
        else:
            joined.append(piece)
    out: list[str] = []
    for sentence in joined:
        out.extend(_cap(sentence, max_chars))
    return out


def _too_short(sentence: str) -> bool:
    return len(sentence.split()) <= 2 and len(sentence) <= 16 and not sentence.endswith("?")


def _cap(sentence: str, max_chars: int) -> list[str]:
    """Split an over-long sentence at semicolons or commas so no passage exceeds max_chars."""
    if len(sentence) <= max_chars:
        return [sentence]
    chunks: list[str] = []
    current = ""
    for part in re.split(r"(?<=[;,])\s+", sentence):
        if current and len(current) + 1 + len(part) > max_chars:
            chunks.append(current)
            current = part
        else:
            current = f"{current} {part}".strip()
    if current:
        chunks.append(current)
    return [c[i : i + max_chars] for c in chunks for i in range(0, len(c), max_chars)]


def _spans(text: str, pieces: list[str]) -> list[tuple[int, int, str]]:
    """Locate each piece in the cleaned text so markers can be assigned by offset."""
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for piece in pieces:
        start = text.find(piece, pos)
        if start < 0:
            start = pos
        end = start + len(piece)
        spans.append((start, end, piece))
        pos = end
    return spans
