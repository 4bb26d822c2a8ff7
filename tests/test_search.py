"""VectorIndex and KeywordIndex with hand-made vectors and tiny corpora: exact rankings, save and load."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.search import KeywordIndex, Tokenizer, VectorIndex


def unit(*rows: list[float]) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


VECTORS = unit([1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1])


def test_vector_search_ranks_by_cosine_exactly():
    index = VectorIndex.fit(VECTORS)
    scores, positions = index.search(unit([1, 0.2, 0]), 4)
    assert positions[0].tolist() == [0, 2, 1, 3]
    expected = VECTORS @ unit([1, 0.2, 0])[0]
    assert scores[0] == pytest.approx(expected[[0, 2, 1, 3]], abs=1e-6)


def test_vector_search_caps_k_at_the_index_size():
    index = VectorIndex.fit(VECTORS)
    scores, positions = index.search(unit([0, 0, 1]), 50)
    assert positions.shape == (1, 4)
    assert positions[0][0] == 3 and scores[0][0] == pytest.approx(1.0)


def test_vector_index_reports_shape_and_reconstructs_rows():
    index = VectorIndex.fit(VECTORS)
    assert (index.size, index.dim, index.kind) == (4, 3, "IndexFlatIP")
    assert np.allclose(index.reconstruct([2, 0]), VECTORS[[2, 0]])


def test_vector_index_save_load_round_trip(tmp_path):
    VectorIndex.fit(VECTORS).save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss")
    _, positions = loaded.search(unit([0, 1, 0.1]), 2)
    assert positions[0].tolist() == [1, 2]


def test_large_collections_switch_to_approximate_search():
    rng = np.random.default_rng(0)
    vectors = unit(*rng.normal(size=(300, 8)))
    index = VectorIndex.fit(vectors, approximate_above=100)
    assert index.kind == "IndexHNSWFlat"
    _, positions = index.search(vectors[[42]], 1)
    assert positions[0][0] == 42


DOCS = [
    "Shiatsu is a Japanese acupressure massage.",
    "Wear loose clothing to your massage.",
    "Trigger point therapy can cause discomfort.",
    "Opioid pain medication has risks.",
]


def test_tokenizer_lowercases_stems_and_drops_stopwords():
    assert Tokenizer()("What should I wear for the Massages?") == ["wear", "massag"]


def test_keyword_index_finds_the_exact_rare_word():
    index = KeywordIndex.fit(DOCS)
    scores = index.scores("is shiatsu good?")
    assert int(np.argmax(scores)) == 0
    assert (scores[1:] == 0).all() and scores[0] > 0


def test_keyword_index_ranks_by_matching_words():
    index = KeywordIndex.fit(DOCS)
    scores = index.scores("opioid pain medication")
    assert np.argsort(-scores).tolist()[0] == 3
    assert scores[3] > 0 and scores[0] == scores[1] == scores[2] == 0


def test_keyword_index_gives_zeros_for_unknown_words():
    index = KeywordIndex.fit(DOCS)
    scores = index.scores("quantum chromodynamics")
    assert scores.shape == (4,) and not scores.any()


def test_keyword_index_save_load_round_trip(tmp_path):
    KeywordIndex.fit(DOCS).save(tmp_path / "bm25")
    loaded = KeywordIndex.load(tmp_path / "bm25")
    assert loaded.scores("clothing").tolist() == KeywordIndex.fit(DOCS).scores("clothing").tolist()
    assert int(np.argmax(loaded.scores("clothing"))) == 1


def test_keyword_index_lists_the_words_a_word_start_begins():
    index = KeywordIndex.fit(["A history of deep vein thrombosis", "Thrombocytes and platelets", "Pregnancy care"])
    assert sorted(index.starting("thrombo")) == sorted(index.tokenize("thrombosis thrombocytes"))
    assert index.starting("pregnan") == index.tokenize("pregnancy")
    assert index.starting("zzz") == []
