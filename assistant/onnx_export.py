"""Export a local sentence-transformers BERT model to ONNX, once: `build` time, or the first load that finds no file.

The only module that imports torch and transformers on the ONNX path; serving (assistant/onnx_embedder.py) reads the
file this writes with onnxruntime alone. Needs `onnx` and `onnxscript` too, at export time only.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path

OPSET = 17
EXPORTERS = ("torch", "transformers", "onnx", "onnxscript", "onnxruntime")


def exporter_versions() -> dict[str, str]:
    """The versions of the packages an export depends on, read without importing them."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in EXPORTERS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "missing"
    return found


def export(location: str, target: Path, quantize: str = "", label: str = "") -> None:
    """Write `location`'s transformer as ONNX to `target` (fp32, or dynamically quantised to int8), atomically.

    Inputs input_ids, attention_mask, token_type_ids (int64, batch × sequence); output last_hidden_state.
    """
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    name = label or os.path.basename(os.path.normpath(location))
    print(f"Exporting {name} to ONNX{' (int8)' if quantize else ''} in {target.parent} (once, a few seconds)…",
          file=sys.stderr, flush=True)
    start = time.perf_counter()
    model = AutoModel.from_pretrained(location, attn_implementation="eager", local_files_only=True).eval()

    class LastHidden(torch.nn.Module):
        """Keywords, not positions: transformers 5's positional signature clashes with torch.onnx.export."""

        def __init__(self, bert) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    fp32 = target.with_name(f".{target.name}.{os.getpid()}.fp32.tmp")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shapes the dynamic axes cover
            torch.onnx.export(
                LastHidden(model),
                (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                              "last_hidden_state": axes},
                opset_version=OPSET,
                dynamo=False,
            )
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # quantize_dynamic logs "consider pre-processing" to the root logger
            try:
                quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8)
            finally:
                root.setLevel(level)
            fp32.unlink()
        else:
            os.replace(fp32, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        for path in (fp32, tmp):
            path.unlink(missing_ok=True)
    print(f"Exported {name} to {target} in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
