"""Starting fast: create_app(chat="later") serves the API at once and mounts the chat page in the background.

TestClient as a context manager runs the app's lifespan on its own event loop, as uvicorn does, so the background
build, the late mount and Gradio's startup events all run here as they do in app.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from assistant.web import create_app
from assistant.web.app import SPARE_THREADS
from assistant.web.chat import ChatUI
from assistant.web.headers import GRADIO

PASSWORD = "s3cret"


@pytest.fixture
def settings(stub):
    return stub.settings.replace(staff_password=PASSWORD)


@pytest.fixture
def held(monkeypatch) -> Iterator[threading.Event]:
    """Holds ChatUI.build (the slow part: Gradio) until the test sets the event."""
    release = threading.Event()
    build = ChatUI.build

    def held_build(self):
        assert release.wait(30), "the test never released the chat page"
        return build(self)

    monkeypatch.setattr(ChatUI, "build", held_build)
    yield release
    release.set()  # a failing test must not leave the build thread waiting


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def chat_status(client: TestClient) -> str:
    return client.get("/api/health").json()["chat"]


def gradio_blocks(app):
    """The Blocks behind the Gradio mount at /, or None."""
    mounts = [r for r in app.routes if isinstance(r, Mount) and r.path == "" and hasattr(r.app, "get_blocks")]
    return mounts[0].app.get_blocks() if mounts else None


def thread_tokens(client: TestClient) -> float:
    """anyio's default thread limit on the client's event loop (it is per loop)."""
    return client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)


def test_before_the_chat_is_mounted_the_api_answers_and_slash_says_starting(stub, settings, questions, held):
    app = create_app(stub, settings, questions, chat="later")
    with TestClient(app) as client:
        assert chat_status(client) == "starting"
        r = client.get("/")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert r.headers["content-security-policy"].startswith(GRADIO)  # the chat page's CSP: inline style, no CDN
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
        assert "The chat is starting" in r.text and '<meta http-equiv="refresh" content="1">' in r.text
        assert "<script" not in r.text and "http" not in r.text.replace('http-equiv', "")
        assert "gradio" not in r.text.lower()
        for path in ("/config", "/gradio_api/info", "/assets/index.js", "/theme.css"):
            assert client.get(path).status_code == 503, path
        assert client.post("/gradio_api/queue/join", json={}).status_code == 503
        assert gradio_blocks(app) is None and app.state.chat is None

        r = client.post("/api/ask", json={"question": "What should I wear?"})
        assert r.status_code == 200 and "loose-fitting" in r.json()["answer"]
        assert client.post("/api/feedback", json={"ask_id": r.headers["x-ask-id"], "rating": 1}).json() == {
            "stored": True
        }
        for path in ("/widget", "/widget.js", "/widget.css", "/web/chat.css", "/api/docs", "/api/openapi.json"):
            assert client.get(path).status_code == 200, path
        assert client.get("/staff", auth=("staff", PASSWORD)).status_code == 200
        assert client.get("/api/staff/search", params={"q": "wear"}, auth=("staff", PASSWORD)).status_code == 200
        r = client.get("/api/unknown")
        assert r.status_code == 404 and "No API endpoint" in r.json()["error"]


def test_the_chat_is_mounted_later_behind_the_same_middlewares(stub, settings, questions, held):
    app = create_app(stub, settings, questions, chat="later")
    with TestClient(app) as client:
        assert client.get("/").status_code == 503
        held.set()
        wait_until(lambda: chat_status(client) == "ready")

        r = client.get("/")
        assert r.status_code == 200 and "gradio" in r.text.lower()
        assert r.headers["content-security-policy"].startswith(GRADIO)  # SecurityHeaders wraps the late mount
        assert "retry-after" not in r.headers
        assert client.get("/config").status_code == 200
        r = client.get("/config", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers  # CORS: Gradio doesn't reflect origins
        for path in ("/gradio_api/upload", "/gradio_api/run/ask", "/gradio_api/dev/reload", "/monitoring"):
            assert client.post(path).status_code == 404, path  # the Door's allow-list still fronts Gradio
        r = client.get("/api/unknown")  # the fallback still keeps unknown /api paths from the chat page
        assert r.status_code == 404 and "No API endpoint" in r.json()["error"]
        assert client.get("/api/ask").status_code == 405
        r = client.post("/api/ask", content=b"x" * 70_000, headers={"Content-Type": "application/json"})
        assert r.status_code == 413  # BodyLimit
        for path in ("/widget", "/web/chat.css", "/api/docs"):
            assert client.get(path).status_code == 200, path
        assert client.get("/staff", auth=("staff", PASSWORD)).status_code == 200
        assert isinstance(app.state.chat, ChatUI)
        assert app.routes[-1] is gradio_blocks_mount(app)  # last, like a mount made in create_app
        assert not [r for r in app.routes if getattr(r, "name", None) == "chat-pending"]


def gradio_blocks_mount(app) -> Mount:
    return next(r for r in app.routes if isinstance(r, Mount) and hasattr(r.app, "get_blocks"))


def ask_through_the_queue(client: TestClient, app, question: str) -> list[dict]:
    """What the chat page does: join Gradio's queue for the "chat" event, then read its event stream."""
    blocks = gradio_blocks(app)
    fn_index = next(i for i, fn in blocks.fns.items() if fn.api_name == "chat")
    session = "test-session-1"
    join = {"data": [question, [], None], "fn_index": fn_index, "session_hash": session, "event_data": None,
            "trigger_id": None}
    r = client.post("/gradio_api/queue/join", json=join)
    assert r.status_code == 200, r.text
    messages = []
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                messages.append(json.loads(line[5:]))
                if messages[-1].get("msg") == "close_stream":  # Gradio ends the stream when the session's done
                    break
    return messages


def test_the_late_mounted_chat_answers_through_gradios_queue(stub, settings, questions, held):
    app = create_app(stub, settings, questions, chat="later")
    with TestClient(app) as client:
        held.set()
        wait_until(lambda: chat_status(client) == "ready")
        assert gradio_blocks(app).is_running  # Gradio's startup events ran although the server had started
        messages = ask_through_the_queue(client, app, "What should I wear?")
        done = [m for m in messages if m.get("msg") == "process_completed"]
        assert done and done[0]["success"], messages
        box, chat, _ = done[0]["output"]["data"]
        assert box == "" and "loose-fitting" in json.dumps(chat[1]["content"])
        assert stub.asked[-1] == ("What should I wear?", [])


@pytest.mark.parametrize("where", ["build", "startup"])  # building the Blocks, or Gradio's startup after the mount
def test_a_chat_page_that_fails_to_start_leaves_the_api_serving(stub, settings, questions, monkeypatch, caplog, where):
    def broken(self):
        raise RuntimeError("the theme is missing")

    if where == "build":
        monkeypatch.setattr(ChatUI, "build", broken)
    else:
        import gradio as gr

        monkeypatch.setattr(gr.Blocks, "run_startup_events", broken)
    app = create_app(stub, settings, questions, chat="later")
    with TestClient(app) as client:
        wait_until(lambda: chat_status(client) != "starting")
        assert chat_status(client) == "failed"
        r = client.get("/")
        assert r.status_code == 503 and "failed to start" in r.text and "API" in r.text
        assert "refresh" not in r.text and "retry-after" not in r.headers  # it won't come back by itself
        assert r.headers["content-security-policy"].startswith(GRADIO)
        assert client.post("/api/ask", json={"question": "What should I wear?"}).status_code == 200
        assert client.get("/widget").status_code == 200
        assert client.get("/api/health").json()["status"] == "ok"
        assert gradio_blocks(app) is None  # a half-started mount is taken down again
    assert "the theme is missing" in caplog.text and "failed to start" in caplog.text


def test_create_app_mounts_the_chat_at_once_by_default(stub, settings, questions):
    app = create_app(stub, settings, questions)
    client = TestClient(app)  # no lifespan: the chat page is there all the same
    assert client.get("/api/health").json()["chat"] == "ready"
    assert client.get("/").status_code == 200
    assert isinstance(app.state.chat, ChatUI)


@pytest.mark.parametrize("chat", ["now", "later"])
def test_the_lifespan_makes_room_in_the_thread_pool_and_gradio_still_starts(stub, settings, questions, held, chat):
    held.set()
    app = create_app(stub, settings, questions, chat=chat)
    assert settings.workers + settings.max_waiting + SPARE_THREADS > 40  # else this test proves nothing
    with TestClient(app) as client:
        assert thread_tokens(client) >= settings.workers + settings.max_waiting + 16
        wait_until(lambda: chat_status(client) == "ready")
        assert gradio_blocks(app).is_running  # "now": Gradio's lifespan wrapper ran around ours


def test_concurrency_defaults_to_the_workers_setting(stub, settings, questions):
    app = create_app(stub, settings.replace(workers=5), questions)
    assert app.state.gate.limit == 5
    assert create_app(stub, settings, questions, concurrency=3).state.gate.limit == 3


def test_chat_must_be_now_or_later(stub, settings, questions):
    with pytest.raises(ValueError, match="'now'"):
        create_app(stub, settings, questions, chat="soon")


def test_chat_pages_are_built_one_at_a_time(stub, settings, questions, monkeypatch):
    """Gradio keeps the Blocks being built in one process-wide slot (Context.root_block): a second build running
    while the first leaves its context fails with "Cannot call submit outside of a gradio.Blocks context"."""
    first_inside, leave = threading.Event(), threading.Event()
    building, overlapped = [], []
    build = ChatUI.build

    def watched_build(self):
        building.append(self)
        overlapped.append(len(building) > 1)
        try:
            if not first_inside.is_set():
                first_inside.set()
                assert leave.wait(10)
            return build(self)
        finally:
            building.remove(self)

    monkeypatch.setattr(ChatUI, "build", watched_build)
    apps, errors = [], []

    def make() -> None:
        try:
            apps.append(create_app(stub, settings, questions, chat="now"))
        except Exception as e:  # noqa: BLE001 - the assertion below names it
            errors.append(e)

    first = threading.Thread(target=make)
    first.start()
    assert first_inside.wait(30)
    second = threading.Thread(target=make)
    second.start()
    time.sleep(0.3)  # long enough for the second build to start, were it not waiting its turn
    leave.set()
    first.join(60)
    second.join(60)
    assert errors == [] and len(apps) == 2
    assert overlapped == [False, False]
    assert all(gradio_blocks(app) is not None for app in apps)
