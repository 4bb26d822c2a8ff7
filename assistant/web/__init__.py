"""The surfaces over one Assistant: chat page (Gradio), JSON API, widget and staff view, in one FastAPI app."""

from __future__ import annotations

import os

# before anything imports gradio: no version check, no telemetry, no hub look-ups
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":  # Gradio and FastAPI load only when an app is built
        from assistant.web.app import create_app

        return create_app
    raise AttributeError(f"module 'assistant.web' has no attribute {name!r}")
