"""Studio facts (prices, hours, booking, address…) from a small structured file, each with a "last checked" date.

    [studio]
    name = "Quiet Hands Massage"
    contact = "Call us on 555-0100."

    [[facts]]
    topic = "price"                 # a studio topic of topics.toml
    title = "Prices"
    answer = "A 60-minute back massage is $80."
    checked = 2026-10-01
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import CorpusError
from assistant.policy import load_topics

FACTS_FILE = "studio.toml"


@dataclass(frozen=True)
class Fact:
    topic: str
    title: str
    answer: str
    checked: dt.date


@dataclass(frozen=True)
class StudioFacts:
    source: str
    name: str
    contact: str
    facts: tuple[Fact, ...]

    def for_topic(self, topic: str) -> list[Fact]:
        return [f for f in self.facts if f.topic == topic]


def load_facts(corpus_dir: Path) -> StudioFacts | None:
    """The studio's facts file, or None when the studio has none. A broken file raises CorpusError."""
    path = Path(corpus_dir) / FACTS_FILE
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CorpusError(f"{FACTS_FILE} is not valid TOML ({e}); fix it or remove it") from None
    studio = data.get("studio", {})
    studio_topics = {t.name for t in load_topics(corpus_dir).of_kind("studio")}
    facts = []
    for n, raw in enumerate(data.get("facts", []), 1):
        topic = raw.get("topic")
        if topic not in studio_topics:
            raise CorpusError(
                f"{FACTS_FILE}: fact {n} has topic {topic!r}; use one of {', '.join(sorted(studio_topics))}"
            )
        checked = raw.get("checked")
        if isinstance(checked, dt.datetime):
            checked = checked.date()
        if not isinstance(checked, dt.date):
            raise CorpusError(f"{FACTS_FILE}: fact {n} ({topic}) needs a date, e.g. checked = 2026-11-01")
        text = str(raw.get("answer", "")).strip()
        if not text:
            raise CorpusError(f"{FACTS_FILE}: fact {n} ({topic}) has no answer")
        facts.append(Fact(topic, str(raw.get("title") or topic.capitalize()), text, checked))
    return StudioFacts(FACTS_FILE, str(studio.get("name", "")), str(studio.get("contact", "")).strip(), tuple(facts))


def is_stale(fact: Fact, max_age_days: int, today: dt.date | None = None) -> bool:
    today = today or dt.date.today()
    return (today - fact.checked).days > max_age_days
