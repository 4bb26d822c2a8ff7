"""NumpyBert: the hand-written numpy BERT the assistant served questions with before ONNX Runtime (issue 13).

Kept here only as the "before" engine that bench/engines.py measures against OnnxEmbedder in the same run; the
assistant itself no longer imports it.
"""

from __future__ import annotations

import json
import os
import threading

import numpy as np

FORWARD_AT_ONCE = 32


class NumpyBertEmbedder:
    """The packaged model on NumpyBert behind the Embedder protocol, loaded on first use as the assistant did."""

    def __init__(self, threads: int = 1) -> None:
        from assistant.embedder import PACKAGED_MODEL

        self.name = PACKAGED_MODEL  # same vectors (to 1e-7): serves the index the ONNX engine built
        self.threads = threads
        self._model: NumpyBert | None = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        with self._lock:
            if self._model is None:
                from assistant.embedder import _limit_threads, packaged_model_path

                self._model = NumpyBert(packaged_model_path())
                _limit_threads(self.threads)
        return self._model.encode(list(texts), batch_size)


class NumpyBert:
    """A sentence-transformers BERT model with mean pooling (all-MiniLM-L6-v2), run in plain numpy.

    Same arithmetic as transformers' BertModel + Pooling + Normalize, read from the model's own files
    (config.json, model.safetensors, tokenizer.json), so the vectors agree to float rounding (tested). It exists
    for start-up time and memory: importing torch, transformers and sentence-transformers costs seconds of CPU
    and hundreds of MiB that a six-layer encoder doesn't need.
    """

    def __init__(self, location: str) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = os.path.abspath(location)
        config = _json(os.path.join(root, "config.json"))
        st_config = _json(os.path.join(root, "sentence_bert_config.json"))
        self.lowercase = bool(st_config.get("do_lower_case", False))
        self.heads = int(config["num_attention_heads"])
        self.eps = np.float32(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = Tokenizer.from_file(os.path.join(root, "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(st_config.get("max_seq_length", 512)))
        w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in load_file(os.path.join(root, "model.safetensors")).items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.embed_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            qkv = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
            self.layers.append(
                (
                    _t(np.concatenate([w[n + ".weight"] for n in qkv])),  # one matmul for Q, K and V
                    np.concatenate([w[n + ".bias"] for n in qkv]),
                    _t(w[p + "attention.output.dense.weight"]), w[p + "attention.output.dense.bias"],
                    w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                    _t(w[p + "intermediate.dense.weight"]), w[p + "intermediate.dense.bias"],
                    _t(w[p + "output.dense.weight"]), w[p + "output.dense.bias"],
                    w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                )
            )

    @staticmethod
    def supports(location: str) -> bool:
        """What onnx_embedder.supports takes, narrowed to the BERT this forward pass implements (GELU, absolute
        positions) and the files it reads."""
        from assistant import onnx_embedder

        if not onnx_embedder.supports(location):
            return False
        config = _json(os.path.join(location, "config.json"))
        return (
            config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and all(
                os.path.isfile(os.path.join(location, name))
                for name in ("model.safetensors", "tokenizer.json", "sentence_bert_config.json")
            )
        )

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Normalised vectors, in the order given, `batch_size` texts per forward pass."""
        if len(texts) <= FORWARD_AT_ONCE:
            return self.forward(texts)
        return np.concatenate([self.forward(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)])

    def forward(self, texts: list[str]) -> np.ndarray:
        """One forward pass for all `texts`, packed: their tokens are stacked into one matrix without padding, so
        the dense layers read each weight matrix once per pass however many texts share it; only attention runs
        per text. On one core that costs about 6 ms per question in a pass of 8 to 16, against 9 to 12 alone."""
        if not texts:
            return np.zeros((0, self.word.shape[1]), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([t.lower() if self.lowercase else t for t in texts])
        lengths = [len(e.ids) for e in encodings]
        starts = np.cumsum([0, *lengths])
        ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64, count=int(starts[-1]))
        positions = np.concatenate([np.arange(n) for n in lengths])
        x = _layer_norm(self.word[ids] + self.position[positions] + self.token_type, *self.embed_norm, self.eps)
        tokens, hidden = x.shape
        size = hidden // self.heads
        scale = np.float32(1.0 / np.sqrt(size))
        spans = list(zip(starts[:-1].tolist(), starts[1:].tolist()))
        context = np.empty_like(x)
        for qkv_w, qkv_b, o_w, o_b, n1_w, n1_b, i_w, i_b, out_w, out_b, n2_w, n2_b in self.layers:
            qkv = (x @ qkv_w + qkv_b).reshape(tokens, 3, self.heads, size)
            for a, b in spans:
                q, k, v = qkv[a:b].transpose(1, 2, 0, 3)  # each (heads, length, size)
                scores = (q @ k.transpose(0, 2, 1)) * scale
                scores = np.exp(scores - scores.max(-1, keepdims=True))
                scores /= scores.sum(-1, keepdims=True)
                context[a:b] = (scores @ v).transpose(1, 0, 2).reshape(b - a, hidden)
            x = _layer_norm(context @ o_w + o_b + x, n1_w, n1_b, self.eps)
            x = _layer_norm(_gelu(x @ i_w + i_b) @ out_w + out_b + x, n2_w, n2_b, self.eps)
        pooled = np.add.reduceat(x, starts[:-1], axis=0) / np.asarray(lengths, dtype=np.float32)[:, None]
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(pooled, dtype=np.float32)


def _t(matrix: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(matrix.T)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: np.float32) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT uses; erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)."""
    z = np.abs(x) * np.float32(0.7071067811865476)
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = ((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t + np.float32(1.421413741)) * t
             - np.float32(0.284496736)) * t + np.float32(0.254829592)) * t
    erf = np.copysign(1.0 - poly * np.exp(-z * z), x)
    return np.float32(0.5) * x * (np.float32(1.0) + erf)


def _json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
