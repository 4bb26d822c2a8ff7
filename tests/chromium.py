"""Debian's Chromium under Playwright, shared by the browser tests in tests/web and tests/reliability: how to launch
it (never a downloaded browser), and a watch on a browser context that keeps every request on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def launched() -> Iterator:
    """A headless Chromium from /usr/bin, closed afterwards."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing; `make chromium` installs Debian's package")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """Attached to browser contexts: records every request and blocks (and lists) any not on 127.0.0.1; collects
    script errors and Content-Security-Policy refusals. check() fails the test on any of them."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.outside: list[str] = []
        self.problems: list[str] = []

    def attach(self, context) -> None:
        context.route("**/*", self._guard)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(str(error.error)))

    def _guard(self, route) -> None:
        url = route.request.url
        self.seen.append(url)
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or parts.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _console(self, message) -> None:
        if message.type == "error" and ("Content Security Policy" in message.text or "Refused to" in message.text):
            self.problems.append(message.text)

    def check(self) -> None:
        assert self.seen, "no request was recorded"
        assert self.outside == [], f"requests left 127.0.0.1: {self.outside}"
        assert self.problems == [], f"the page reported: {self.problems}"
