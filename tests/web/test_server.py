"""The real server (`python app.py`, real model) over HTTP: the JSON API with httpx, Gradio's API with gradio_client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.model


def test_first_printed_line_says_where_to_open_it(server):
    first = server.log.read_text().splitlines()[0]
    assert first.startswith(f"Open {server.url}/ in your browser")


def test_help_is_fast_and_loads_neither_torch_nor_gradio():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-X", "importtime", str(root / "app.py"), "--help"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0 and "--port" in out.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert not imported & {"torch", "gradio", "fastapi", "numpy", "sentence_transformers"}


def test_json_api_answers_with_citations(server):
    r = httpx.post(f"{server.url}/api/ask", json={"question": "What should I wear?"}, timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert "loose-fitting" in body["answer"].lower()
    assert body["abstained"] is False and body["citations"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_json_api_abstains_and_refuses_junk(server):
    body = httpx.post(f"{server.url}/api/ask", json={"question": "how much does a massage cost?"}, timeout=30).json()
    assert body["abstained"] is True and body["citations"] == []
    r = httpx.post(f"{server.url}/api/ask", content=b"{oops", headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400 and "JSON" in r.json()["error"]


def test_health(server):
    body = httpx.get(f"{server.url}/api/health", timeout=30).json()
    assert body["model"] == "all-MiniLM-L6-v2"
    assert body["passages"] > 10
    assert body["chat"] == "ready"


def test_the_chat_page_was_built_after_the_server_started(server):
    log = server.log.read_text()
    assert "Uvicorn running on" in log and "Chat page ready at / (" in log
    assert log.index("Uvicorn running on") < log.index("Chat page ready at /")  # the API served first


def test_gradio_client_calls_the_documented_api(server):
    from gradio_client import Client

    client = Client(f"{server.url}/", verbose=False)
    reply = client.predict("What should I wear?", [], api_name="/ask")
    assert "loose-fitting" in reply["answer"].lower()
    assert reply["citations"][0]["text"]

    box, chat = client.predict("What should I wear?", [], api_name="/chat")
    assert box == ""
    assert [m["role"] for m in chat][:2] == ["user", "assistant"]
    assert any((m.get("metadata") or {}).get("title") == "Sources" for m in chat)
