"""Issue 10's file-read attack against the real server: a chat history that names a server file must never get that
file copied into Gradio's cache or served, whatever the path, and Gradio's file routes are closed. The request is
refused (422) before Gradio parses it (assistant/web/door.py); behind that, the chat handlers rebuild the chat from
text only and Gradio may read no file (tests/web/test_chat_ui.py)."""

from __future__ import annotations

import json

import httpx
import pytest
from servers import PASSWORD

pytestmark = pytest.mark.model

TARGETS = ["/proc/self/environ", "/etc/passwd", "data/questions.sqlite3", "app.py", "../main/app.py", "/nonexistent/x"]


def call_chat(url: str, history: list) -> tuple[str, str]:
    """The attack's exact request shape: POST /gradio_api/call/chat, then read the event stream. (event, data); a
    refused POST is ("refused <status>", its body)."""
    r = httpx.post(f"{url}/gradio_api/call/chat", json={"data": ["hi", history]}, timeout=30)
    if r.status_code != 200:
        return f"refused {r.status_code}", r.text
    stream = httpx.get(f"{url}/gradio_api/call/chat/{r.json()['event_id']}", timeout=60).text
    events = [line.split(": ", 1)[1] for line in stream.splitlines() if line.startswith("event: ")]
    data = [line.split(": ", 1)[1] for line in stream.splitlines() if line.startswith("data: ")]
    return events[-1], data[-1]


@pytest.mark.parametrize("path", TARGETS)
def test_a_history_naming_a_server_file_gets_no_file_back(live, path):
    part = {"type": "file", "file": {"path": path, "meta": {"_type": "gradio.FileData"}}}
    event, data = call_chat(live.url, [{"role": "user", "content": [part]}])
    assert event == "refused 422", (event, data)
    assert json.loads(data)["error"] == "The chat takes text only: files and components are refused"
    assert path not in data and PASSWORD not in data and "root:" not in data


def test_a_missing_and_an_existing_file_are_refused_alike(live):
    def refusal(path: str) -> tuple[str, str]:
        part = {"type": "file", "file": {"path": path, "meta": {"_type": "gradio.FileData"}}}
        return call_chat(live.url, [{"role": "user", "content": [part]}])

    assert refusal("/etc/passwd") == refusal("/etc/no-such-file")


def test_a_plain_history_still_gets_an_answer(live):
    history = [
        {"role": "user", "content": [{"type": "text", "text": "what is shiatsu"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Shiatsu is a Japanese technique."}]},
    ]
    event, data = call_chat(live.url, history)
    assert event == "complete"
    chat = json.loads(data)[1]
    assert chat[-2]["role"] == "user" and chat[-1]["role"] == "assistant"
    parts = [p for m in chat for p in m["content"]]
    assert parts and all(p["type"] == "text" for p in parts)


@pytest.mark.parametrize(
    "route",
    [
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=/proc/self/environ",
        "/gradio_api/file=app.py",
        "/gradio_api/file/etc/passwd",
        "/gradio_api/proxy=http://127.0.0.1/",
        "/gradio_api/dev/reload",
        "/gradio_api/stream/x/playlist.m3u8",
    ],
)
def test_gradio_file_routes_are_closed(live, route):
    r = httpx.get(f"{live.url}{route}", timeout=10)
    assert r.status_code == 404
    assert "root:" not in r.text and PASSWORD not in r.text
