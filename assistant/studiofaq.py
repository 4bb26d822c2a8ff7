"""corpus/studio-faq.md: the studio's own answers, one question-and-answer entry per `##` heading.

    # Studio FAQ

    ## Can I bring my own music?

    Also asked as:
    - is it ok to play my own songs
    - can you put on my spotify

    Yes. Bring a playlist on your phone and your therapist will play it through the room speaker.

The file is the record: readable, editable by hand, and indexed like any other corpus document (corpus.py parses
it; this module only reads it back for editing). Answers are plain text: markup, links and scripts are refused, not
filtered, so what staff typed is exactly what clients see, and surfaces escape it like any other text.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError

FAQ_FILE = "studio-faq.md"
TITLE = "# Studio FAQ"
ALSO = "Also asked as:"
MAX_QUESTION = 200
MAX_ANSWER = 2000
MAX_PHRASINGS = 50

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")  # keeps \t and \n
_ENTRY = re.compile(r"^##(?!#)[ \t]*(.*?)[ \t#]*$", re.MULTILINE)
# markup a renderer could turn live: tags (<b>, <!--, <?php, autolinks), entities, Markdown links and images,
# script URL schemes
_MARKUP = (
    (re.compile(r"<\s*[A-Za-z!?/]"), "HTML markup (<…>)"),
    (re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE), "an HTML entity (&…;)"),
    (re.compile(r"!?\[[^\]]*\]\s*[(\[]"), "a Markdown link or image ([…](…))"),
    (re.compile(r"\b(?:javascript|vbscript)\s*:|\bdata\s*:\s*[a-z-]+/[a-z0-9.+-]+", re.IGNORECASE),
     "a script link (javascript:, data:)"),
    (re.compile(r"\*\*|__|(?<![\w*])\*(?=\S)[^*\n]*\S\*(?![\w*])"), "bold or italic markup (**…**)"),
    (re.compile(r"^\s*\|.*\|\s*$", re.MULTILINE), "a table row (| … |)"),
)
# A paragraph the parser would read as its own question-and-answer entry: "1. Can I…?", "- Do you…?", "Q: …"
_QUESTION_ITEM = re.compile(r"^(?:[-*+]|\d{1,3}[.)]|Q\d*[.:)]?)\s+\S[^?]*\?", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{2,}")  # a word: two letters or more, any alphabet
_SENTENCE_END = (".", "?", "!", ":", ";", "…", '"', "”", ")")


class PublishError(AssistantError):
    """A studio FAQ change can't be made as given; the message says what to change. Nothing was changed."""


class NotFound(PublishError):
    """The FAQ has no entry for that question."""


class Conflict(PublishError):
    """The change collides with the file as it is: a duplicate question or phrasing, or a hand edit since the
    staff view loaded it."""


@dataclass(frozen=True)
class Entry:
    question: str
    answer: str
    also: tuple[str, ...] = ()

    @property
    def phrasings(self) -> tuple[str, ...]:
        """Every wording that should find this answer: the heading first."""
        return (self.question, *self.also)

    def markdown(self) -> str:
        parts = [f"## {self.question}\n"]
        if self.also:
            parts.append(ALSO + "\n" + "".join(f"- {p}\n" for p in self.also))
        parts.append(self.answer + "\n")
        return "\n".join(parts)

    def to_dict(self) -> dict:
        return {"question": self.question, "answer": self.answer, "also": list(self.also)}


@dataclass(frozen=True)
class FaqFile:
    """The file as read: its text before the first entry, each entry with its own raw text, and a version."""

    head: str
    entries: tuple[Entry, ...]
    raw: tuple[str, ...]  # each entry's text as found, so entries nobody touched are written back byte for byte
    version: str  # sha256 of the bytes; "" when there is no file yet

    def find(self, question: str) -> int:
        key = _key(question)
        for i, e in enumerate(self.entries):
            if _key(e.question) == key:
                return i
        raise NotFound(f"{FAQ_FILE} has no entry {question!r}; publish it first")

    def owner(self, phrasing: str, besides: int | None = None) -> Entry | None:
        """The entry (other than entry number `besides`) that already has this wording, if any."""
        key = _key(phrasing)
        for i, e in enumerate(self.entries):
            if i != besides and any(_key(p) == key for p in e.phrasings):
                return e
        return None

    def with_entry(self, index: int | None, entry: Entry | None) -> str:
        """The file text with entry `index` replaced by `entry` (None: removed; index None: appended)."""
        blocks = list(self.raw)
        if index is None:
            blocks.append(entry.markdown())
        elif entry is None:
            del blocks[index]
        else:
            blocks[index] = entry.markdown()
        head = self.head.rstrip("\n") or TITLE
        return "\n".join([head + "\n", *(b.rstrip("\n") + "\n" for b in blocks)])


def read(corpus_dir: Path) -> FaqFile:
    path = Path(corpus_dir) / FAQ_FILE
    try:
        data = path.read_bytes() if path.exists() else b""
    except OSError as e:
        raise PublishError(f"{FAQ_FILE} can't be read ({e.strerror}); check the corpus folder") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PublishError(f"{FAQ_FILE} is not UTF-8 after a hand edit; fix or re-save it, then try again") from None
    version = hashlib.sha256(data).hexdigest() if data else ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = [m.start() for m in _ENTRY.finditer(text)]
    head = text[: starts[0]] if starts else text
    raw = tuple(text[a:b] for a, b in zip(starts, [*starts[1:], len(text)]))
    return FaqFile(head if head.strip() else "", tuple(_parse_entry(r) for r in raw), raw, version)


def write(corpus_dir: Path, text: str) -> None:
    """Replace the file atomically (a reader sees the old file or the new one, never half)."""
    path = Path(corpus_dir) / FAQ_FILE
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".studio-faq-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise PublishError(f"{FAQ_FILE} could not be written ({e.strerror}); check the corpus folder") from None


def restore(corpus_dir: Path, data: bytes | None) -> None:
    """Put the file back exactly as it was (None: it did not exist)."""
    path = Path(corpus_dir) / FAQ_FILE
    if data is None:
        path.unlink(missing_ok=True)
    else:
        write(corpus_dir, data.decode("utf-8-sig"))


def _parse_entry(raw: str) -> Entry:
    lines = raw.split("\n")
    question = _ENTRY.match(lines[0]).group(1).strip()
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines[1:])) if p.strip()]
    also: list[str] = []
    answer: list[str] = []
    for p in paragraphs:
        first, _, rest = p.partition("\n")
        if first.strip() == ALSO and not also:
            also = [re.sub(r"^\s*[-*]\s+", "", line).strip() for line in rest.split("\n") if line.strip()]
        else:
            answer.append(p)
    return Entry(question, "\n\n".join(answer), tuple(also))


# --- checking what staff typed ---------------------------------------------------------------------


def clean_question(text: object, what: str = "question") -> str:
    """One line of plain text with words in it, as a heading or a phrasing."""
    if not isinstance(text, str):
        raise PublishError(f"Send the {what} as text")
    q = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", text)).split()).lstrip("#-*> ").strip()
    if not q or not _WORD.search(q):
        raise PublishError(f"Write the {what} in words, e.g. Do you have a couples room?")
    if len(q) > MAX_QUESTION:
        raise PublishError(f"The {what} is {len(q):,} characters; keep it under {MAX_QUESTION} (one line)")
    _refuse_markup(q, what)
    if q == ALSO:
        raise PublishError(f"{ALSO!r} is the file's own label; write the {what} clients ask")
    return q


def clean_answer(text: object) -> str:
    """Paragraphs of plain text, each one line, none of which the parser could read as a heading or a label."""
    if not isinstance(text, str):
        raise PublishError("Send the answer as text")
    if len(text) > MAX_ANSWER * 2:  # refuse before doing any work on it
        raise PublishError(f"The answer is {len(text):,} characters; keep it under {MAX_ANSWER:,}")
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        raise PublishError("Write the answer clients should get; it can't be empty")
    answer = "\n\n".join(paragraphs)
    if len(answer) > MAX_ANSWER:
        raise PublishError(f"The answer is {len(answer):,} characters; keep it under {MAX_ANSWER:,}")
    _refuse_markup(answer, "answer")
    out = []
    for p in paragraphs:
        if not _WORD.search(p):
            raise PublishError(f"Every paragraph of the answer needs words; {p[:40]!r} has none")
        if p.startswith("#") or p == ALSO or _QUESTION_ITEM.match(p):
            raise PublishError(
                f"A paragraph can't start like a heading or label, or a listed question ({p[:40]!r}); reword it"
            )
        out.append(p if p.endswith(_SENTENCE_END) else p + ".")  # a short line without a full stop reads as a title
    return "\n\n".join(out)


def clean_entry(question: object, answer: object, also: object = ()) -> Entry:
    q = clean_question(question)
    a = clean_answer(answer)
    if isinstance(also, str) or not isinstance(also, (list, tuple)):
        raise PublishError("Send the other phrasings as a list of text")
    if len(also) > MAX_PHRASINGS:
        raise PublishError(f"{len(also)} phrasings is too many for one entry; keep the {MAX_PHRASINGS} most asked")
    phrasings: dict[str, str] = {_key(q): q}
    for p in also:
        p = clean_question(p, "phrasing")
        phrasings.setdefault(_key(p), p)
    return _as_parsed(Entry(q, a, tuple(list(phrasings.values())[1:])))


def _as_parsed(entry: Entry) -> Entry:
    """The entry, once the corpus parser has read all of it as one entry: no part of the answer may become a section
    of its own (a short title-like line), and some of it must be quotable."""
    from assistant import corpus
    from assistant.errors import CorpusError

    try:
        passages = corpus.parse(corpus.Document(FAQ_FILE, f"{TITLE}\n\n{entry.markdown()}"))
    except CorpusError:
        passages = []
    if not passages or {p.section for p in passages} != {entry.question}:
        raise PublishError(
            "Part of the answer would read as a section title of its own; write it as sentences ending in a full stop"
        )
    return entry


def same_wording(a: str, b: str) -> bool:
    return _key(a) == _key(b)


def _key(text: str) -> str:
    """Wordings that differ only in case, spacing or end punctuation are the same wording."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(" ?!.")


def markup_problems(faq: FaqFile) -> list[str]:
    """What a hand edit put in the file that publishing would have refused: markup in a question, phrasing or answer."""
    out = []
    for e in faq.entries:
        for what, text in [("question", e.question), ("answer", e.answer), *(("phrasing", a) for a in e.also)]:
            try:
                _refuse_markup(text, what)
            except PublishError as err:
                out.append(f"{FAQ_FILE}, entry {e.question!r}: {err} (a hand edit? clients see it as text)")
    return out


def _refuse_markup(text: str, what: str) -> None:
    for pattern, name in _MARKUP:
        m = pattern.search(text)
        if m:
            raise PublishError(
                f"The {what} contains {name} at {m.group(0)!r}; answers are plain text, so write it without markup"
            )
