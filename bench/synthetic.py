"""Reproducible synthetic corpora for the scale benchmark: guide vocabulary recombined by a word-bigram chain.

Every passage is a one-sentence paragraph with no list lead-in and no sentence before it, so it gets one
embedded view (its text) and its paragraph vector is the same text. The files are .txt: a Markdown section
heading would add a second view per passage (store.embedding_views). The same seed and size always give
the same files, byte for byte.

    python bench/synthetic.py 10000 /tmp/corpus-10k [--seed 5]
"""

from __future__ import annotations

import argparse
import random
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "corpus" / "back-massage-guide.txt"
PER_FILE = 1_000  # passages per file
PER_SECTION = 50  # passages under one heading

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def _guide_sentences(text: str) -> list[list[str]]:
    """The guide's prose as lists of lowercase words (footnote digits and punctuation dropped)."""
    sentences = []
    for block in text.split("\n\n"):
        if re.match(r"^\s*\d{1,3}\s", block):  # the numbered study list
            continue
        for sentence in re.split(r"(?<=[.!?])\s+", block):
            words = [w.lower() for w in _WORD.findall(sentence)]
            if len(words) >= 5:
                sentences.append(words)
    return sentences


class SentenceMaker:
    """Sentences of 8-22 words walked from a bigram chain over the guide, seeded."""

    def __init__(self, text: str, seed: int) -> None:
        self.rng = random.Random(seed)
        self.follow: dict[str, list[str]] = defaultdict(list)
        self.starts: list[str] = []
        for words in _guide_sentences(text):
            self.starts.append(words[0])
            for a, b in zip(words, words[1:]):
                self.follow[a].append(b)
        self.vocabulary = sorted({w for ws in self.follow.values() for w in ws} | set(self.starts))

    def sentence(self) -> str:
        rng = self.rng
        length = rng.randint(8, 22)
        words = [rng.choice(self.starts)]
        while len(words) < length:
            options = self.follow.get(words[-1])
            # mostly follow the guide's word order; sometimes jump, so sentences don't repeat the guide
            words.append(rng.choice(options) if options and rng.random() < 0.85 else rng.choice(self.vocabulary))
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def heading(self) -> str:
        return " ".join(self.rng.choice(self.vocabulary) for _ in range(3)).capitalize()


def generate(size: int, out_dir: Path, seed: int = 5) -> list[str]:
    """Write `size` unique one-sentence passages as .txt files under out_dir; return the sentences."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    maker = SentenceMaker(GUIDE.read_text(encoding="utf-8"), seed)
    seen: set[str] = set()
    sentences: list[str] = []
    while len(sentences) < size:
        s = maker.sentence()
        if s not in seen:
            seen.add(s)
            sentences.append(s)
    for number, start in enumerate(range(0, size, PER_FILE)):
        chunk = sentences[start : start + PER_FILE]
        lines: list[str] = []
        for i, s in enumerate(chunk):
            if i % PER_SECTION == 0:
                lines.append(maker.heading())  # a short line without a full stop reads as a section heading
            lines.append(s)
        (out_dir / f"studio-notes-{number:04d}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("size", type=int)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    sentences = generate(args.size, args.out_dir, args.seed)
    print(f"wrote {len(sentences):,} passages to {args.out_dir}")


if __name__ == "__main__":
    main()
