"""Waiting for a real `app.py` to serve everything: shared by tests/web's server fixture and tests/reliability's
Server (and so by the command-line scripts there, which put this folder on sys.path)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx


def wait_for_chat(url: str, proc: subprocess.Popen, log_tail: Callable[[], str], timeout: float) -> None:
    """Poll /api/health until the chat page is ready: the API answers first, and the chat page at / is mounted a few
    seconds later. RuntimeError, with the end of the server's log, if app.py exits, its chat page fails or time runs
    out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log_tail()}")
        try:
            r = httpx.get(f"{url}/api/health", timeout=2)
            chat = r.json().get("chat") if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):  # not up yet
            chat = None
        if chat == "ready":
            return
        if chat == "failed":
            raise RuntimeError(f"app.py's chat page failed to start:\n{log_tail()}")
        time.sleep(0.3)
    raise RuntimeError(f"app.py was not ready after {timeout:.0f} s:\n{log_tail()}")
