"""The shipped guide as test data: where it is, and its text with the footnote markers removed by hand.

Kept out of conftest.py so test modules can import it by a name no other conftest shadows.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "corpus" / "back-massage-guide.txt"
EVAL_SET = ROOT / "eval" / "questions.jsonl"

# The guide's footnote markers, written out by hand so parsing tests don't trust the decoder they test.
GUIDE_MARKERS = {
    "physical pain,12 ": "physical pain, ",
    "studies show,3 ": "studies show, ",
    "psychological stress45.": "psychological stress.",
    "blood pressure6 ": "blood pressure ",
    "circulation7 ": "circulation ",
    "sleep8 ": "sleep ",
    "back pain.9 ": "back pain. ",
    "depression and anxiety10\n": "depression and anxiety\n",
    "lowering blood pressure11\n": "lowering blood pressure\n",
    "better sleep1213\n": "better sleep\n",
    "sports injuries14 ": "sports injuries ",
    "surgery15\n": "surgery\n",
    "pain medication16\n": "pain medication\n",
    "arthritis sufferers17\n": "arthritis sufferers\n",
}


def guide_body_without_markers() -> str:
    """The guide up to its reference list, with the footnote markers removed by hand."""
    text = GUIDE.read_text(encoding="utf-8")
    body = text[: re.search(r'\n1\s+"Study:', text).start()]
    for marked, clean in GUIDE_MARKERS.items():
        assert body.count(marked) == 1, marked
        body = body.replace(marked, clean)
    return body


def squash(text: str) -> str:
    """Collapse whitespace, for comparing quotes with the source."""
    return re.sub(r"\s+", " ", text).strip()


def guide_contains(text: str) -> bool:
    """Verbatim in the guide (markers removed), or a list's lead-in and its items ("lead: a; b"), each verbatim."""
    body = squash(guide_body_without_markers())
    if squash(text) in body:
        return True
    lead, sep, items = text.partition(": ")
    pieces = [lead + ":", *items.split("; ")] if sep else []
    return bool(pieces) and all(squash(piece) in body for piece in pieces)
