"""NumpyBert (plain-numpy BERT + mean pooling) gives the packaged model's sentence-transformers vectors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from assistant.embedder import SentenceEmbedder, NumpyBert, packaged_model_path
from guide_text import GUIDE


def test_supports_only_bert_with_mean_pooling(tmp_path):
    assert not NumpyBert.supports(str(tmp_path))  # no model files at all
    (tmp_path / "modules.json").write_text('[{"type": "sentence_transformers.models.Transformer"}]')
    assert not NumpyBert.supports(str(tmp_path))


@pytest.mark.model
def test_same_vectors_as_sentence_transformers():
    assert NumpyBert.supports(packaged_model_path())
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", GUIDE.read_text(encoding="utf-8")) if s.strip()][:40]
    sentences += ["", "what should i wear??", "Ünïcode — massage 💆", "word " * 400]  # edge cases, one over max length
    fast = SentenceEmbedder()
    reference = SentenceEmbedder(backend="sentence-transformers")
    ours = fast.encode(sentences)
    assert type(fast._model).__name__ == "NumpyBert"
    theirs = reference.encode(sentences)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    one_by_one = np.stack([fast.encode([s])[0] for s in sentences[:5]])
    np.testing.assert_allclose(one_by_one, ours[:5], atol=1e-5)


@pytest.mark.model
def test_questions_and_index_builds_never_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; from assistant.embedder import SentenceEmbedder; e = SentenceEmbedder(); e.encode(['what should I wear?']);"
        "assert e.encode([f'passage {i} about massage' for i in range(300)]).shape == (300, 384);"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
