"""Vector and keyword indexes over passage positions. Neither one embeds: they take vectors and tokens."""

from __future__ import annotations

import bisect
import re
from pathlib import Path

import numpy as np

# Above this many passages, exact search gives way to HNSW (approximate, but far faster).
APPROXIMATE_ABOVE = 50_000

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves get got im i'm it's whats what's""".split()
)


class Tokenizer:
    """Lowercase words, stopwords dropped, English-stemmed (PyStemmer when installed)."""

    def __init__(self) -> None:
        try:
            import Stemmer

            self._stem = Stemmer.Stemmer("english").stemWords
        except ImportError:  # pragma: no cover - PyStemmer is a declared dependency
            self._stem = lambda words: words

    def __call__(self, text: str) -> list[str]:
        words = [w.replace("'", "") for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
        return self._stem(words)


class VectorIndex:
    """FAISS inner-product search over L2-normalised vectors (cosine similarity)."""

    def __init__(self, index) -> None:
        self._index = index

    @classmethod
    def fit(cls, vectors: np.ndarray, approximate_above: int = APPROXIMATE_ABOVE) -> VectorIndex:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if n > approximate_above:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 128
        else:
            index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return cls(index)

    @property
    def size(self) -> int:
        return self._index.ntotal

    @property
    def dim(self) -> int:
        return self._index.d

    @property
    def kind(self) -> str:
        return type(self._index).__name__

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, positions), each shaped (len(queries), k'), best first; -1 marks no result."""
        k = max(1, min(k, self.size))
        scores, positions = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, positions

    def reconstruct(self, positions: list[int]) -> np.ndarray:
        """The stored vectors at these positions."""
        return self._index.reconstruct_batch(np.asarray(positions, dtype=np.int64))

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        import faiss

        return cls(faiss.read_index(str(path)))


class KeywordIndex:
    """BM25 (bm25s) over tokenised passages, for exact words such as 'shiatsu' or 'opioid'."""

    def __init__(self, retriever, tokenizer: Tokenizer | None = None) -> None:
        self._bm25 = retriever
        self.tokenize = tokenizer or Tokenizer()
        self._sorted: list[str] | None = None

    @classmethod
    def fit(cls, texts: list[str], tokenizer: Tokenizer | None = None) -> KeywordIndex:
        import bm25s

        tokenizer = tokenizer or Tokenizer()
        retriever = bm25s.BM25()
        retriever.index([tokenizer(t) or ["\0"] for t in texts], show_progress=False)
        return cls(retriever, tokenizer)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for the query (zeros when no word is known)."""
        tokens = [t for t in self.tokenize(query) if t in self._bm25.vocab_dict]
        if not tokens:
            return np.zeros(self._bm25.scores["num_docs"], dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def knows(self, word: str) -> bool:
        """Whether a word is a stopword or occurs in some passage."""
        if word.lower() in _STOPWORDS:
            return True
        tokens = self.tokenize(word)
        return bool(tokens) and all(t in self._bm25.vocab_dict for t in tokens)

    def starting(self, prefix: str) -> list[str]:
        """The indexed words that begin with a word start ("thrombo" → "thrombosi"), for keywords ending in '*'."""
        head = (self.tokenize(prefix) or [prefix.lower()])[-1]
        if self._sorted is None:  # sorted once, so a lookup is a bisection, not a scan of the vocabulary
            self._sorted = sorted(w for w in self._bm25.vocab_dict if isinstance(w, str))
        out = []
        for w in self._sorted[bisect.bisect_left(self._sorted, head):]:
            if not w.startswith(head):
                break
            out.append(w)
        return out

    def distinctive(self, text: str, share: float = 0.15) -> list[str]:
        """The words of `text` that few passages use (or none): what a question is really about."""
        vocab = self._bm25.vocab_dict
        indptr = self._bm25.scores["indptr"]
        limit = share * self._bm25.scores["num_docs"]
        out = []
        for t in self.tokenize(text):
            i = vocab.get(t)
            if i is None or indptr[i + 1] - indptr[i] < limit:
                out.append(t)
        return out

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> KeywordIndex:
        import bm25s

        return cls(bm25s.BM25.load(str(directory), show_progress=False, verbosity=0))
