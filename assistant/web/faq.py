"""Staff answers to clients' questions, appended to corpus/studio-faq.md as plain Markdown, one heading per question:

    # Studio FAQ

    ## Do you have a couples room?

    Yes, our couples room fits two massage tables side by side.

The file is the record: reviewable, editable by hand, and indexed like any other corpus document.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError

FAQ_FILE = "studio-faq.md"
TITLE = "# Studio FAQ"
MAX_QUESTION = 200
MAX_ANSWER = 2000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # keeps \t and \n
_TAG = re.compile(r"</?[A-Za-z!?][^<>]*>")  # <b>, </p>, <!-- …, <?php: markup, not an answer
_HEADING = re.compile(r"^\s{0,3}#+\s*", re.MULTILINE)  # an answer line must not start a new section
_EXISTING = re.compile(r"^##\s+(.+?)\s*#*\s*$", re.MULTILINE)
_lock = threading.Lock()


class PublishError(AssistantError):
    """The answer can't be published as given; the message says what to change."""


class AlreadyAnswered(PublishError):
    """The FAQ already has a section for this question."""


@dataclass(frozen=True)
class Entry:
    question: str
    answer: str

    def markdown(self) -> str:
        return f"## {self.question}\n\n{self.answer}\n"


def clean_entry(question: object, answer: object) -> Entry:
    """One line of question, paragraphs of answer: markup tags, control characters and heading marks removed."""
    if not isinstance(question, str) or not isinstance(answer, str):
        raise PublishError("Send the question and the answer as text")
    q = " ".join(_TAG.sub(" ", _CONTROL.sub(" ", question)).split()).lstrip("#").strip()
    if not q:
        raise PublishError("Write the question clients asked, e.g. Do you have a couples room?")
    if len(q) > MAX_QUESTION:
        raise PublishError(f"The question is {len(q):,} characters; keep it under {MAX_QUESTION} (one line)")
    text = _HEADING.sub("", _TAG.sub(" ", _CONTROL.sub(" ", answer.replace("\r\n", "\n").replace("\r", "\n"))))
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    a = "\n\n".join(p for p in paragraphs if p)
    if not a:
        raise PublishError("Write the answer clients should get; it can't be empty")
    if len(a) > MAX_ANSWER:
        raise PublishError(f"The answer is {len(a):,} characters; keep it under {MAX_ANSWER:,}")
    return Entry(q, a)


def publish(corpus_dir: Path, question: object, answer: object) -> Entry:
    """Append a question and its answer to the studio FAQ (creating it with its title), atomically.
    Refuses a question that already has an answer, and a file a hand edit left unreadable."""
    entry = clean_entry(question, answer)
    path = Path(corpus_dir) / FAQ_FILE
    with _lock:
        try:
            current = path.read_text(encoding="utf-8") if path.exists() else f"{TITLE}\n"
        except UnicodeDecodeError:
            raise PublishError(f"{FAQ_FILE} is not UTF-8 after a hand edit; fix or re-save it, then publish") from None
        except OSError as e:
            raise PublishError(f"{FAQ_FILE} can't be read ({e.strerror}); check the corpus folder") from None
        taken = {q.casefold() for q in _EXISTING.findall(current)}
        if entry.question.casefold() in taken:
            raise AlreadyAnswered(f"{FAQ_FILE} already answers {entry.question!r}; edit that section of the file instead")
        text = current.rstrip("\n") + "\n\n" + entry.markdown()
        _write_atomically(path, text)
    return entry


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".studio-faq-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise PublishError(f"{FAQ_FILE} could not be written ({e.strerror}); check the corpus folder") from None
