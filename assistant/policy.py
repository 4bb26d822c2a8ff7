"""Decisions by meaning, from data: the topics file (assistant/topics.toml, extended by corpus/topics.toml).

A question is decided by its nearest topic examples, reusing the vector it is embedded with for retrieval.
Only personal health keeps a keyword net, because a miss there is unsafe. A second, narrower net refuses a
question about a service or amenity (an [offerings] family) that no document names.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import CorpusError

DEFAULTS = Path(__file__).with_name("topics.toml")
TOPICS_FILE = "topics.toml"  # a studio's own, in the corpus folder
TOPIC_KINDS = ("studio", "health", "smalltalk", "offtopic", "general", "catchall")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class Topic:
    name: str
    kind: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    quote: bool = True  # health: may a document's passage be quoted (with the referral)?
    reply: str = ""  # smalltalk: the friendly line
    families: tuple[tuple[str, ...], ...] = ()  # health: keywords that name the same thing ("surgery", "operation")
    triggers: tuple[str, ...] = ()  # health: words naming no condition ("diagnosed"): quoted by closeness, not name
    unless: tuple[str, ...] = ()  # health: phrases in which a keyword names nothing ("what should I be expecting")

    def named(self, question: str) -> list[str]:
        """The keywords a question names, outside the phrases in which they name nothing."""
        return keywords_in(question, self.keywords, self.unless)

    def families_of(self, named: list[str]) -> list[tuple[str, ...]]:
        """Each named keyword's family, once each: a passage naming any keyword of a family speaks to a question
        naming another ("had an operation" is answered by "if you had surgery in the last six weeks")."""
        out: dict[tuple[str, ...], None] = {}
        for k in named:
            out.setdefault(next((f for f in self.families if k in f), (k,)), None)
        return list(out)


@dataclass(frozen=True)
class Language:
    name: str = "English"
    min_known_share: float = 0.35
    min_known_share_bare: float = 0.5  # the same, for a question of four words or more with no function word
    other_language: str = "Sorry, I can only answer in English."
    other_language_health: str = "Sorry, I can only answer in English. Please ask your doctor."
    caution: str = "Please check with your doctor before you book."
    smalltalk_examples: str = "You could ask me, for example:"
    about_topic: str = "Tell me about {topic}"  # an example question made from a section title
    absent: str = "Sorry, I couldn't find anything about {thing} in our documents."  # an offering none names
    common_words: frozenset[str] = frozenset()
    function_words: frozenset[str] = frozenset()  # "the", "is", "u": nearly every question in the language has one
    studio_voice: frozenset[str] = frozenset()  # words a studio uses about itself ("we", "our")
    compare: tuple[re.Pattern[str], ...] = ()  # "X vs Y": groups a and b
    list_question: tuple[re.Pattern[str], ...] = ()  # "what techniques are there?"

    def comparison(self, question: str) -> tuple[str, str] | None:
        """The two things a comparison question names, if it is one."""
        text = question.strip().rstrip("?!. ")
        for pattern in self.compare:
            m = pattern.search(text)
            if m and m.group("a").strip() and m.group("b").strip():
                return m.group("a").strip(), m.group("b").strip()
        return None

    def asks_for_list(self, question: str) -> bool:
        return any(p.search(question.strip()) for p in self.list_question)


@dataclass(frozen=True)
class Offering:
    """Something clients ask whether a studio offers or has, and the words that name it ("hot tub", "jacuzzi")."""

    name: str  # read in the refusal: "anything about {name}"
    words: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    """The nearest topic for a question and how close it is (cosine of its best example)."""

    topic: Topic | None
    score: float
    keyword: bool = False  # a health keyword matched
    margin: float = 0.0  # how far the decision was from going the other way
    nearest: Topic | None = None  # the nearest topic, even when it did not decide

    @property
    def kind(self) -> str | None:
        return self.topic.kind if self.topic else None

    @property
    def raw_kind(self) -> str | None:
        return self.nearest.kind if self.nearest else self.kind


@dataclass
class Topics:
    topics: tuple[Topic, ...]
    language: Language = field(default_factory=Language)
    general: frozenset[str] = frozenset()  # [documents] general: never answer studio business
    studio: frozenset[str] = frozenset()  # [documents] studio: the studio's own, whatever their voice
    offerings: tuple[Offering, ...] = ()  # [offerings]: refused when asked about and no document names them
    _vectors: np.ndarray | None = None
    _owner: np.ndarray | None = None

    def by_name(self, name: str) -> Topic | None:
        return next((t for t in self.topics if t.name == name), None)

    def of_kind(self, kind: str) -> list[Topic]:
        return [t for t in self.topics if t.kind == kind]

    def embed(self, embedder) -> Topics:
        """Embed every example once, with the embedder that embeds questions."""
        texts = [e for t in self.topics for e in t.examples]
        self._owner = np.repeat(np.arange(len(self.topics)), [len(t.examples) for t in self.topics])
        self._vectors = np.asarray(embedder.encode(texts), dtype=np.float32) if texts else np.zeros((0, 1), np.float32)
        return self

    def nearest(self, qvec: np.ndarray, kinds: tuple[str, ...]) -> Verdict:
        """The topic of one of these kinds whose example is closest to the question vector."""
        if self._vectors is None or not len(self._vectors):
            return Verdict(None, 0.0)
        sims = self._vectors @ np.asarray(qvec, dtype=np.float32)
        allowed = np.array([self.topics[o].kind in kinds for o in self._owner])
        if not allowed.any():
            return Verdict(None, 0.0)
        sims = np.where(allowed, sims, -1.0)
        best = int(np.argmax(sims))
        return Verdict(self.topics[int(self._owner[best])], float(sims[best]))

    def similarity(self, vectors: np.ndarray, kind: str) -> np.ndarray:
        """Each row's best cosine to the examples of a kind (0 when there are none)."""
        if self._vectors is None or not len(vectors):
            return np.zeros(len(vectors), dtype=np.float32)
        rows = self._vectors[[self.topics[o].kind == kind for o in self._owner]]
        if not len(rows):
            return np.zeros(len(vectors), dtype=np.float32)
        return (np.asarray(vectors, dtype=np.float32) @ rows.T).max(axis=1)

    def studio_topics(self) -> list[int]:
        return [i for i, t in enumerate(self.topics) if t.kind == "studio"]

    def topic_scores(self, vectors: np.ndarray, which: list[int]) -> np.ndarray:
        """Each row's best cosine to each of these topics' examples (rows x topics)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        out = np.full((len(vectors), len(which)), -1.0, dtype=np.float32)
        if self._vectors is None or not len(vectors):
            return out
        sims = vectors @ self._vectors.T
        for j, i in enumerate(which):
            cols = self._owner == i
            if cols.any():
                out[:, j] = sims[:, cols].max(axis=1)
        return out

    def health_keyword(self, question: str) -> Topic | None:
        """The health topic one of whose keywords the question contains: whole words, or word starts
        for a keyword ending in '*' ("pregnan*")."""
        for t in self.of_kind("health"):
            if t.named(question):
                return t
        return None

    def health_trigger(self, question: str) -> Topic | None:
        """The health topic one of whose triggers the question contains (checked after every keyword)."""
        for t in self.of_kind("health"):
            if keywords_in(question, t.triggers):
                return t
        return None

    def unnamed_offerings(
        self, keywords, text: Callable[[int], str], facts: Iterable[str] = ()
    ) -> tuple[Offering, ...]:
        """The offerings no document names, computed once per index from its KeywordIndex, not per question.
        A one-word member is named when the vocabulary `knows` it (by its stem) or has a word `starting` with a
        word start: that errs toward named. A member of several words must appear as written ("work here", not
        "work" and "here" apart) in `text(i)` of one passage i that the index `scores` for each of its words.
        Studio facts, outside the index, are read as written."""

        def named(member: str) -> bool:
            words = _WORD.findall(member.lower())
            starts = keywords.starting(words[-1]) if member.endswith("*") else None
            if starts == [] or not all(keywords.knows(w) for w in (words[:-1] if starts else words)):
                return False
            if len(words) == 1:
                return True
            queries = [*words[:-1], " ".join(starts) if starts else words[-1]]
            every = None  # the passages holding every word of the phrase (a stopword holds none: left out)
            for q in queries:
                has = keywords.scores(q) > 0
                if has.any():
                    every = has if every is None else every & has
            return every is None or any(_needle(member) in _words(text(int(i))) for i in np.flatnonzero(every))

        facts = tuple(facts)
        return tuple(o for o in self.offerings
                     if not any(keywords_in(t, o.words) for t in facts) and not any(named(m) for m in o.words))

    def general_documents(self, passages, flags: dict[str, bool]) -> frozenset[str]:
        """Documents that never answer studio business: marked so in [documents] or front matter, or,
        unmarked, never speaking in the studio's voice (fewer than 1 in 1,000 words "we", "our", "us")."""
        words: dict[str, int] = {}
        voice: dict[str, int] = {}
        for p in passages:
            found = _WORD.findall(p.text.lower())
            words[p.source] = words.get(p.source, 0) + len(found)
            voice[p.source] = voice.get(p.source, 0) + sum(1 for w in found if w in self.language.studio_voice)
        out = set()
        for source, n in words.items():
            if source in self.studio or flags.get(source) is False:
                continue
            if source in self.general or flags.get(source) or voice[source] * 1000 < n:
                out.add(source)
        return frozenset(out)

    def foreign(self, question: str, known: Callable[[str], bool]) -> bool:
        """True when too few of the question's words are English or the documents' own words."""
        words = _WORD.findall(question.lower())
        if not words:
            return False
        letters = [c for c in question if c.isalpha()]
        if sum(1 for c in letters if not c.isascii()) > len(letters) / 2:  # another script
            return True
        if len(words) < 3:
            return False
        hits = sum(1 for w in words if w in self.language.common_words or known(w))
        if len(words) >= 4 and self.language.function_words and not self.language.function_words & set(words):
            return hits / len(words) < self.language.min_known_share_bare  # "Wie viel kostet eine Hot-Stone-…?"
        return hits / len(words) < self.language.min_known_share


def keywords_in(text: str, keywords: tuple[str, ...] | list[str], unless: tuple[str, ...] = ()) -> list[str]:
    """The keywords a text contains: whole words, or word starts for a keyword ending in '*'; not counting
    what stands in an `unless` phrase ("be expecting" hides "expecting" there, not elsewhere in the text)."""
    words = _words(text)
    for phrase in unless:
        words = words.replace(_needle(phrase), " | ")
    return [k for k in keywords if _needle(k) in words]


def _words(text: str) -> str:
    return " " + " ".join(_WORD.findall(text.lower())) + " "


@functools.lru_cache(maxsize=4096)  # the same keywords are looked for in every question
def _needle(keyword: str) -> str:
    body = " ".join(_WORD.findall(keyword.lower()))  # "post-op*" matches as "post op…", like the text
    return f" {body}" if keyword.endswith("*") else f" {body} "


def asked_offering(question: str, offerings: tuple[Offering, ...], unnamed: tuple[Offering, ...]) -> Offering | None:
    """The first unnamed offering the question names, unless it also names one the documents do name
    ("cupping or hot stones?" goes to the documents when they speak of hot stones)."""
    words = _words(question)
    asked = [o for o in offerings if any(_needle(k) in words for k in o.words)]
    return asked[0] if asked and all(o in unnamed for o in asked) else None


def load_topics(corpus_dir: Path | None = None) -> Topics:
    """The packaged defaults, extended (or overridden by name) by corpus/topics.toml when there is one.
    An [offerings] family of the same name replaces the shipped one; an empty one (`cupping = []`) drops it."""
    topics, language, documents, offerings, _ = _read(DEFAULTS)
    if corpus_dir is not None and (Path(corpus_dir) / TOPICS_FILE).is_file():
        extra, extra_language, extra_documents, extra_offerings, replace = _read(Path(corpus_dir) / TOPICS_FILE)
        names = {t.name for t in extra}
        topics = extra if replace else [t for t in topics if t.name not in names] + extra
        language = extra_language or language
        documents = {k: documents[k] | extra_documents[k] for k in documents}
        offerings = extra_offerings if replace else {**offerings, **extra_offerings}
    return Topics(tuple(topics), language or Language(), frozenset(documents["general"]),
                  frozenset(documents["studio"]), tuple(Offering(name, w) for name, w in offerings.items() if w))


def _read(path: Path) -> tuple[list[Topic], Language | None, dict[str, set[str]], dict[str, tuple[str, ...]], bool]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise CorpusError(f"{path} is not UTF-8 text; re-save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        found = re.search(r"line (\d+)", str(e))
        line = getattr(e, "lineno", None) or (int(found.group(1)) if found else len(text.splitlines()))
        raise CorpusError(f"{path}:{line}: not valid TOML ({e}); fix that line") from None
    unknown = set(data) - {"topic", "language", "documents", "offerings", "replace_defaults"}
    if unknown:
        key = sorted(unknown)[0]
        at = re.compile(rf"""^\s*(\[+\s*)?["']?{re.escape(key)}\b""")
        line = next((n for n, x in enumerate(text.splitlines(), 1) if at.match(x)), 1)
        raise CorpusError(f"{path}:{line}: unknown key {key!r}; use replace_defaults, [[topic]], [language], "
                          "[documents] or [offerings]")

    def fail(what: str, needle: str) -> CorpusError:
        line = next((n for n, x in enumerate(text.splitlines(), 1) if needle and needle in x), 1)
        return CorpusError(f"{path}:{line}: {what}")

    topics: list[Topic] = []
    raw_topics = data.get("topic", [])
    if not isinstance(raw_topics, list):
        raise fail("topic must be a list of [[topic]] tables", "topic")
    for n, raw in enumerate(raw_topics, 1):
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise fail(f"topic {n} needs a name, e.g. name = \"parking\"", "[[topic]]")
        needle = f'"{name}"'
        kind = raw.get("kind")
        if kind not in TOPIC_KINDS:
            raise fail(f"topic {name!r} has kind {kind!r}; use one of {', '.join(TOPIC_KINDS)}", needle)
        examples = raw.get("examples", [])
        if not isinstance(examples, list) or not examples or not all(isinstance(e, str) and e.strip() for e in examples):
            raise fail(f"topic {name!r} needs examples = [\"a question\", ...] (non-empty text)", needle)
        keywords = raw.get("keywords", [])
        families = [k if isinstance(k, list) else [k] for k in keywords] if isinstance(keywords, list) else None
        if families is None or not all(f and all(isinstance(k, str) and k.strip() for k in f) for f in families):
            raise fail(f"topic {name!r}: keywords must be a list of text, or of lists of text that name the same "
                       "thing (e.g. [\"surgery\", \"operation\"])", needle)
        families = [tuple(dict.fromkeys(k.strip().lower() for k in f)) for f in families]
        if keywords and kind != "health":
            raise fail(f"topic {name!r}: keywords are only for health topics (a missed health question is unsafe)", needle)
        triggers = raw.get("triggers", [])
        if not isinstance(triggers, list) or not all(isinstance(k, str) and k.strip() for k in triggers):
            raise fail(f"topic {name!r}: triggers must be a list of text", needle)
        if triggers and kind != "health":
            raise fail(f"topic {name!r}: triggers are only for health topics", needle)
        unless = raw.get("unless", [])
        if not isinstance(unless, list) or not all(isinstance(k, str) and k.strip() for k in unless):
            raise fail(f"topic {name!r}: unless must be a list of phrases, e.g. [\"be expecting\"]", needle)
        if unless and kind != "health":
            raise fail(f"topic {name!r}: unless is only for health topics", needle)
        unknown_keys = set(raw) - {"name", "kind", "examples", "keywords", "triggers", "unless", "quote", "reply"}
        if unknown_keys:
            raise fail(f"topic {name!r} has unknown key {sorted(unknown_keys)[0]!r}", needle)
        topics.append(
            Topic(
                name=name.strip(),
                kind=kind,
                examples=tuple(e.strip() for e in examples),
                keywords=tuple(dict.fromkeys(k for f in families for k in f)),
                quote=bool(raw.get("quote", True)),
                reply=str(raw.get("reply", "")).strip(),
                families=tuple(f for f in families if len(f) > 1),
                triggers=tuple(dict.fromkeys(k.strip().lower() for k in triggers)),
                unless=tuple(dict.fromkeys(k.strip().lower() for k in unless)),
            )
        )
    language = None
    if "language" in data:
        raw = data["language"]
        defaults = Language()
        try:
            language = Language(
                name=str(raw.get("name", defaults.name)),
                min_known_share=float(raw.get("min_known_share", defaults.min_known_share)),
                min_known_share_bare=float(raw.get("min_known_share_bare", defaults.min_known_share_bare)),
                other_language=str(raw.get("other_language", defaults.other_language)),
                other_language_health=str(raw.get("other_language_health", defaults.other_language_health)),
                caution=str(raw.get("caution", defaults.caution)),
                smalltalk_examples=str(raw.get("smalltalk_examples", defaults.smalltalk_examples)),
                about_topic=str(raw.get("about_topic", defaults.about_topic)),
                absent=str(raw.get("absent", defaults.absent)),
                common_words=frozenset(str(w).lower() for w in raw.get("common_words", [])),
                function_words=frozenset(str(w).lower() for w in raw.get("function_words", [])),
                studio_voice=frozenset(str(w).lower() for w in raw.get("studio_voice", [])),
                compare=tuple(re.compile(str(x), re.IGNORECASE) for x in raw.get("compare", [])),
                list_question=tuple(re.compile(str(x), re.IGNORECASE) for x in raw.get("list_question", [])),
            )
            language.about_topic.format(topic="massage")  # only {topic} may stand in it
            language.absent.format(thing="cupping")  # only {thing} may stand in it
        except (TypeError, ValueError, KeyError, IndexError, re.error) as e:
            raise fail(f"[language] has a bad value ({e})", "[language]") from None
    documents = {}
    for key in ("general", "studio"):
        names = data.get("documents", {}).get(key, [])
        if not isinstance(names, list) or not all(isinstance(g, str) for g in names):
            raise fail(f"[documents] {key} must be a list of file names", key)
        documents[key] = set(names)
    return topics, language, documents, _offerings(path, text, data.get("offerings", {})), bool(
        data.get("replace_defaults", False))


def _offerings(path: Path, text: str, raw) -> dict[str, tuple[str, ...]]:
    """[offerings]: name = a word, or a list of words naming the same thing (health keyword syntax)."""
    lines = text.splitlines()
    start = next((n for n, x in enumerate(lines, 1) if x.strip().startswith("[offerings")), 1)

    def fail(what: str, name: str = "") -> CorpusError:
        key = re.compile(rf"""^\s*["']?{re.escape(name)}["']?\s*=""")
        line = next((n for n, x in enumerate(lines[start - 1:], start) if name and key.match(x)), start)
        return CorpusError(f"{path}:{line}: {what}")

    if not isinstance(raw, dict):
        raise fail("offerings must be a table: [offerings] then lines such as sauna = [\"sauna\", \"saunas\"]")
    out: dict[str, tuple[str, ...]] = {}
    for name, words in raw.items():
        family = [words] if isinstance(words, str) else words
        if not isinstance(family, list) or not all(isinstance(w, str) and _WORD.search(w) for w in family):
            raise fail(f"offering {name!r} must be a word or a list of words that name the same thing "
                       "(e.g. [\"hot tub*\", \"jacuzzi*\"]); [] drops a shipped one", name)
        if any("*" in w.rstrip("*") for w in family):
            raise fail(f"offering {name!r}: a * stands only at the end (\"rewards card*\", not \"reward* card*\")", name)
        if any(c.isdigit() for w in family for c in w):
            raise fail(f"offering {name!r}: write numbers as words (\"four hands\"); digits are not matched", name)
        if not _WORD.search(name):
            raise fail(f"offering {name!r} needs a name with words: it is read in the reply", name)
        out[name.strip()] = tuple(dict.fromkeys(w.strip().lower() for w in family))
    return out
