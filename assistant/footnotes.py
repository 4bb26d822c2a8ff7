"""Footnote markers glued to words: `pain,12` is studies 1 and 2, `sleep1213` is 12 and 13.

Markers are decoded against the document's reference list, whose numbers first appear in
rising reading order. A digit run is a marker only when it is glued to the end of a word or
punctuation and splits into valid reference numbers, so prose such as "10 minutes" is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# digits glued to a letter or closing punctuation, ending at whitespace, punctuation or the end
_MARKER = re.compile(r"(?<=[A-Za-z\)\]\"'’”,.;:!?%])(\d{1,6})(?=[\s,.;:!?\)\-–—]|$)")


@dataclass(frozen=True)
class Decoded:
    text: str  # the text with markers removed
    markers: tuple[tuple[int, tuple[int, ...]], ...]  # (offset in clean text, reference numbers)
    next_expected: int  # the first reference number not yet cited, to carry into the next paragraph


def splits(digits: str, count: int) -> list[tuple[int, ...]]:
    """Every way to cut `digits` into strictly rising numbers in 1..count."""
    out: list[tuple[int, ...]] = []

    def walk(rest: str, acc: tuple[int, ...]) -> None:
        if not rest:
            out.append(acc)
            return
        for cut in range(1, len(rest) + 1):
            part = rest[:cut]
            if part[0] == "0":
                break
            n = int(part)
            if n > count:
                break
            if acc and n <= acc[-1]:
                continue
            walk(rest[cut:], acc + (n,))

    walk(digits, ())
    return out


def choose(digits: str, count: int, next_expected: int) -> tuple[int, ...] | None:
    """Pick the reading of a digit run that fits the rising reference numbering, or None."""
    options = splits(digits, count)
    if not options:
        return None

    def consecutive_from_next(opt: tuple[int, ...]) -> bool:
        return opt == tuple(range(next_expected, next_expected + len(opt)))

    new = [o for o in options if consecutive_from_next(o)]
    if new:
        return min(new, key=len)
    starts_new = [o for o in options if o[0] == next_expected]
    if starts_new:
        return min(starts_new, key=len)
    cited_before = [o for o in options if o[-1] < next_expected]
    if cited_before:
        return min(cited_before, key=len)
    return None


def _glued_to_prose(text: str, at: int) -> bool:
    """Markers follow a lowercase word ("stress45") or punctuation after a word ("pain,12"), never a number
    ("1.5 hours") or a code such as "B12" or "MP3"."""
    before = text[:at]
    if before[-1:] in ",.;:!?)]\"'’”%":
        before = before[:-1]
        if before[-1:].isdigit():
            return False
        return True
    word = re.search(r"[A-Za-z]+$", before)
    return bool(word) and len(word.group(0)) >= 3 and any(c.islower() for c in word.group(0))


def decode(text: str, count: int, next_expected: int = 1) -> Decoded:
    """Remove markers from `text`, returning where each was and which references it names."""
    if count <= 0:
        return Decoded(text, (), next_expected)
    pieces: list[str] = []
    markers: list[tuple[int, tuple[int, ...]]] = []
    pos = 0
    clean_len = 0
    for m in _MARKER.finditer(text):
        if not _glued_to_prose(text, m.start()):
            continue
        numbers = choose(m.group(1), count, next_expected)
        if numbers is None:
            continue
        pieces.append(text[pos : m.start()])
        clean_len += m.start() - pos
        markers.append((clean_len, numbers))
        next_expected = max(next_expected, numbers[-1] + 1)
        pos = m.end()
    pieces.append(text[pos:])
    return Decoded("".join(pieces), tuple(markers), next_expected)
