"""OnnxEmbedder and its export: the same vectors as sentence-transformers, a damaged file exported again, a model
that can't be exported served by sentence-transformers, and a question path that never imports torch.

The fast tests use a tiny random BERT made here (2 layers, 32 wide, the packaged model's tokenizer): exporting it
takes a second. The `model` tests use the packaged all-MiniLM-L6-v2, exported once per session (tests/conftest.py's
model_bot index folder; index/onnx when `make test` has built it first).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant import onnx_embedder
from assistant.embedder import SentenceEmbedder, packaged_model_path
from guide_text import GUIDE

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["what should I wear?", "Is there research on massage and sleep?", "", "Ünïcode — massage 💆",
         "word " * 400, "a", "Back massage relieves tension in the shoulders and the lower back."]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A sentence-transformers folder: Transformer (random 2-layer BERT) → mean Pooling → Normalize."""
    import torch
    from transformers import BertConfig, BertModel

    packaged = Path(packaged_model_path())
    d = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(d)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "modules.json",
                 "sentence_bert_config.json"):
        shutil.copy(packaged / name, d / name)
    (d / "1_Pooling").mkdir()
    pooling = json.loads((packaged / "1_Pooling" / "config.json").read_text())
    (d / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "word_embedding_dimension": 32}))
    return d


def exported(index_dir: Path, name: str, quantize: str = "") -> Path:
    return onnx_embedder.export_path(index_dir, name, quantize)


def test_supports_only_bert_family_with_mean_pooling(tmp_path, tiny_model):
    assert onnx_embedder.supports(str(tiny_model))
    assert not onnx_embedder.supports(str(tmp_path))  # no model files at all
    other = tmp_path / "cls"
    shutil.copytree(tiny_model, other)
    (other / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    assert not onnx_embedder.supports(str(other))


def test_tiny_model_gives_sentence_transformers_vectors_alone_and_in_batches(tmp_path, tiny_model, capfd,
                                                                           monkeypatch):
    monkeypatch.setattr(onnx_embedder, "_verified", {})  # as in a new process: no export of it checked yet
    ours = SentenceEmbedder(str(tiny_model))
    record = ours.prepare(tmp_path / "index")
    progress = capfd.readouterr().err
    assert f"Exporting {tiny_model} to ONNX in {tmp_path / 'index' / 'onnx'}" in progress and "Exported" in progress
    assert not list((tmp_path / "index" / "onnx").glob(".*"))  # written atomically: no temporary file left
    assert record["engine"] == "onnxruntime" and record["opset"] == 17 and record["quantize"] == ""
    assert record["sha256"] == onnx_embedder.sha256(exported(tmp_path / "index", str(tiny_model)))
    assert set(record["exporters"]) >= {"torch", "transformers", "onnx", "onnxscript", "onnxruntime"}
    vectors = ours.encode(TEXTS)
    assert ours.engine == "onnxruntime" and vectors.shape == (len(TEXTS), 32) and vectors.dtype == np.float32
    reference = SentenceEmbedder(str(tiny_model), backend="sentence-transformers").encode(TEXTS)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    alone = np.stack([ours.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(alone, vectors, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "one byte changed", "record deleted"])
def test_a_damaged_export_is_exported_again_never_a_crash(tmp_path, tiny_model, damage, caplog, monkeypatch):
    index_dir = tmp_path / "index"
    first = SentenceEmbedder(str(tiny_model))
    first.prepare(index_dir)
    good = first.encode(TEXTS[:2])
    path = exported(index_dir, str(tiny_model))
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        path.write_bytes(b"not an onnx file" * 100)
    elif damage == "one byte changed":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    else:
        path.with_name(path.name + ".json").unlink()
    monkeypatch.setattr(onnx_embedder, "_verified", {})  # as in a new process: nothing checked yet
    second = SentenceEmbedder(str(tiny_model))
    with caplog.at_level(logging.WARNING):
        record = second.prepare(index_dir)
    np.testing.assert_allclose(second.encode(TEXTS[:2]), good, atol=1e-6)
    assert second.engine == "onnxruntime"
    assert record["sha256"] == onnx_embedder.sha256(path)
    if damage != "record deleted":
        assert "damaged (checksum mismatch); exporting it again" in caplog.text


def test_a_file_that_fails_to_load_after_its_check_is_exported_again(tmp_path, tiny_model, caplog):
    index_dir = tmp_path / "index"
    embedder = SentenceEmbedder(str(tiny_model))
    embedder.prepare(index_dir)
    exported(index_dir, str(tiny_model)).write_bytes(b"\x00" * 64)  # damaged between the check and the session
    with caplog.at_level(logging.WARNING):
        vectors = embedder.encode(TEXTS[:1])
    assert embedder.engine == "onnxruntime" and vectors.shape == (1, 32)
    assert "exporting it again" in caplog.text


def test_changed_weights_are_exported_again_and_rebuild_the_index(tmp_path, tiny_model, corpus_dir):
    from assistant import store

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    index_dir = tmp_path / "index"
    before = store.open_index(corpus_dir, index_dir, SentenceEmbedder(str(model))).manifest
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "layer_norm_eps": 1e-6}))
    after = store.open_index(corpus_dir, index_dir, SentenceEmbedder(str(model))).manifest
    assert after["engine"]["source_sha256"] != before["engine"]["source_sha256"]
    assert after["engine"]["sha256"] == onnx_embedder.sha256(exported(index_dir, str(model)))
    assert after["build"] != before["build"]  # vectors from other weights: a new index
    again = store.open_index(corpus_dir, index_dir, SentenceEmbedder(str(model))).manifest
    assert again["build"] == after["build"] and again["engine"] == after["engine"]


def test_a_model_that_cannot_be_exported_is_served_by_sentence_transformers(tmp_path, tiny_model, monkeypatch,
                                                                           caplog):
    import torch

    def refuse(*args, **kwargs):
        raise RuntimeError("Unsupported operator aten::fancy_attention\nmore detail")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    embedder = SentenceEmbedder(str(tiny_model))
    with caplog.at_level(logging.WARNING):
        record = embedder.prepare(tmp_path / "index")
        vectors = embedder.encode(TEXTS)
    assert record == {"engine": "sentence-transformers", "source": str(tiny_model)}
    assert embedder.engine == "sentence-transformers"
    reference = SentenceEmbedder(str(tiny_model), backend="sentence-transformers").encode(TEXTS)
    np.testing.assert_allclose(vectors, reference, atol=1e-6)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [f"Could not export {tiny_model} to ONNX (RuntimeError: Unsupported operator "
                     "aten::fancy_attention); serving it with sentence-transformers instead"]
    assert not exported(tmp_path / "index", str(tiny_model)).exists()  # nothing half-written left behind
    assert not list((tmp_path / "index" / "onnx").glob(".*tmp"))


def test_an_export_made_elsewhere_is_copied_not_exported_again(tmp_path, tiny_model, monkeypatch):
    SentenceEmbedder(str(tiny_model)).prepare(tmp_path / "first")
    from assistant import onnx_export

    monkeypatch.setattr(onnx_export, "export", lambda *a, **k: pytest.fail("exported twice"))
    record = SentenceEmbedder(str(tiny_model)).prepare(tmp_path / "second")
    assert record["sha256"] == onnx_embedder.sha256(exported(tmp_path / "second", str(tiny_model)))


def test_quantize_must_be_int8_or_nothing():
    with pytest.raises(ValueError, match="is not '' \\(fp32\\) or 'int8'"):
        SentenceEmbedder(quantize="int4")
    assert SentenceEmbedder(quantize="int8").name == "all-MiniLM-L6-v2 (int8)"


@pytest.mark.model
def test_packaged_model_matches_sentence_transformers_to_1e_5(model_bot):
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", GUIDE.read_text(encoding="utf-8")) if s.strip()][:40]
    sentences += TEXTS  # edge cases, one over the maximum length
    ours = SentenceEmbedder()
    assert ours.prepare(model_bot.settings.index_dir)["engine"] == "onnxruntime"
    vectors = ours.encode(sentences)
    assert ours.engine == "onnxruntime"
    reference = SentenceEmbedder(backend="sentence-transformers").encode(sentences)
    assert vectors.shape == reference.shape == (len(sentences), 384)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    one_by_one = np.stack([ours.encode([s])[0] for s in sentences[:8]])
    np.testing.assert_allclose(one_by_one, vectors[:8], atol=1e-5)
    assert model_bot.index.manifest["engine"]["engine"] == "onnxruntime"


@pytest.mark.model
def test_int8_export_stays_close_to_fp32(model_bot, tmp_path):
    sentences = TEXTS + ["How long does a back massage take?", "Can I get a massage when pregnant?"]
    fp32 = SentenceEmbedder()
    fp32.prepare(model_bot.settings.index_dir)
    int8 = SentenceEmbedder(quantize="int8")
    record = int8.prepare(tmp_path / "index")
    assert record["quantize"] == "int8" and record["file"].endswith("-int8.onnx")
    size = exported(tmp_path / "index", "all-MiniLM-L6-v2", "int8").stat().st_size
    assert size < exported(model_bot.settings.index_dir, "all-MiniLM-L6-v2").stat().st_size / 3
    cosines = (fp32.encode(sentences) * int8.encode(sentences)).sum(axis=1)
    assert cosines.min() > 0.8 and np.median(cosines) > 0.95, cosines  # close, not equal: the eval decides


@pytest.mark.model
def test_serving_from_a_built_index_never_imports_torch(model_bot):
    """A fresh process (other tests' imports don't count): load the built index and exported model, answer."""
    code = (
        "import sys\n"
        "from assistant import Assistant\n"
        "from assistant.settings import Settings\n"
        f"bot = Assistant.load(index_dir={str(model_bot.settings.index_dir)!r}, settings=Settings())\n"
        "reply = bot.ask('What should I wear?')\n"
        "assert 'loose-fitting clothing' in reply.citations[0].text, reply\n"
        "bot.embedder.encode([f'passage {i} about massage' for i in range(40)])\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert "Exporting" not in proc.stderr  # the export made for the session was reused
