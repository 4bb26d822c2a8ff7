"""The JSON API, staff view, widget files and headers through FastAPI's TestClient (no model, no server)."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from assistant import Settings
from assistant.web import create_app
from assistant.web.gate import Busy, Gate

STUDIO = "http://studio.example"


@pytest.fixture(scope="module")
def client(keyword_bot) -> TestClient:
    """A real Assistant (keyword embedder) behind the app, staff view on, one studio allowed to embed.
    Its question log is in the bot's temporary data_dir."""
    settings = keyword_bot.settings.replace(staff_password="s3cret", allowed_origins=(STUDIO,))
    settings = settings.replace(staff_login_limit=0)  # one client tries many wrong passwords; tests/reliability limits them
    return TestClient(create_app(keyword_bot, settings))


@pytest.fixture(scope="module")
def default_client(keyword_bot) -> TestClient:
    return TestClient(create_app(keyword_bot, keyword_bot.settings.replace(log_questions=False)))


def test_ask_returns_the_reply_dict(client, keyword_bot):
    r = client.post("/api/ask", json={"question": "What should I wear?"})
    assert r.status_code == 200
    assert r.json() == keyword_bot.ask("What should I wear?").to_dict()
    assert "loose-fitting" in r.json()["answer"]
    assert r.json()["citations"][0]["section"] == "What to wear"


def test_ask_passes_history_to_the_assistant(stub, questions):
    client = TestClient(create_app(stub, stub.settings, questions))
    history = [["What should I wear?", "Loose clothing."], ["Why?", "Comfort."]]
    r = client.post("/api/ask", json={"question": "And for shiatsu?", "history": history})
    assert r.status_code == 200
    assert stub.asked == [("And for shiatsu?", [tuple(t) for t in history])]


def test_out_of_scope_abstains_with_contact_line(client):
    body = client.post("/api/ask", json={"question": "Who won the football game?"}).json()
    assert body["abstained"] is True
    assert "555-0100" in body["answer"]
    assert body["citations"] == []


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "body is empty"),
        (b"{}", 422, "question is required"),
        (b"[]", 422, "must be a JSON object"),
        (b'{"question": ""}', 400, "Please type a question"),
        (b'{"question": "   "}', 400, "Please type a question"),
        (b'{"question": 42}', 422, "question: Input should be a valid string"),
        (b'{"question": ["a"]}', 422, "question"),
        (b'{"question": "hi", "history": "x"}', 422, "history"),
        (b'{"question": "hi", "history": [["only one"]]}', 422, "history.0"),
        (b'{"question": "hi", "history": [[1, 2]]}', 422, "history.0.0"),
        (b'{"question": "hi", "extra": 1}', 422, "extra"),
        (b'{"question": "' + b"x" * 1001 + b'"}', 400, "keep it under 1,000"),
    ],
)
def test_bad_requests_get_a_one_line_4xx(client, body, status, reason):
    r = client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert reason in error
    assert "\n" not in error


def test_wrong_content_type_is_a_4xx(client):
    r = client.post("/api/ask", content=b"question=hi", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422
    assert "JSON object" in r.json()["error"]


def test_oversized_body_is_refused_before_parsing(client):
    big = b'{"question": "' + b"a" * 70_000 + b'"}'
    r = client.post("/api/ask", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "64 KB" in r.json()["error"]

    def chunks():  # no Content-Length: counted as it streams
        yield b'{"question": "'
        for _ in range(70):
            yield b"a" * 1024
        yield b'"}'

    r = client.post("/api/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_unknown_paths_and_wrong_methods_stay_json(client):
    assert client.get("/api/ask").status_code == 405
    assert client.get("/api/ask").json() == {"error": "/api/ask takes POST, not GET"}
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and "No API endpoint" in r.json()["error"]


def test_health_reports_model_index_and_passages(client, keyword_bot):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["model"] == "keywords"
    assert body["passages"] == len(keyword_bot.index.passages) > 0
    assert body["index"] == keyword_bot.settings.index_dir.name  # its name only, never the server's path


def test_openapi_documents_the_api(client):
    spec = client.get("/api/openapi.json").json()
    assert {"/api/ask", "/api/feedback", "/api/health", "/api/staff/search", "/api/staff/report",
            "/api/staff/questions.csv", "/api/staff/publish"} <= set(spec["paths"])
    assert "question" in spec["components"]["schemas"]["AskRequest"]["properties"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/web/api-docs.js" in docs.text


def test_busy_gate_answers_503(keyword_bot):
    class Slow:
        def ask(self, question, history=None):
            time.sleep(0.5)
            return keyword_bot.ask(question, history)

        def info(self):
            return keyword_bot.info()

    app = create_app(Slow(), keyword_bot.settings.replace(log_questions=False), concurrency=1)
    app.state.gate.wait = 0.05
    client = TestClient(app)
    first = threading.Thread(target=client.post, args=("/api/ask",), kwargs={"json": {"question": "What should I wear?"}})
    first.start()
    time.sleep(0.1)
    r = client.post("/api/ask", json={"question": "What should I wear?"})
    first.join()
    assert r.status_code == 503
    assert "busy" in r.json()["error"]


def test_a_full_house_is_refused_before_the_question_reaches_a_thread(keyword_bot):
    asked = []

    class Counting:
        def ask(self, question, history=None):
            asked.append(question)
            return keyword_bot.ask(question, history)

        def info(self):
            return keyword_bot.info()

    app = create_app(Counting(), keyword_bot.settings.replace(log_questions=False, max_waiting=1), concurrency=1)
    client = TestClient(app)
    with app.state.gate.admitted(), app.state.gate.admitted():  # one answering, one waiting: the house is full
        r = client.post("/api/ask", json={"question": "What should I wear?"})
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert "2 questions are already waiting or being answered" in r.json()["error"]
    assert asked == []
    assert client.post("/api/ask", json={"question": "What should I wear?"}).status_code == 200
    assert asked == ["What should I wear?"]


def test_gate_is_shared_and_releases(stub):
    gate = Gate(stub, limit=1, wait=0.01)
    with gate._slot():
        with pytest.raises(Busy):
            gate.ask("What should I wear?")
    assert gate.ask("What should I wear?").abstained is False  # released again


# CORS and framing: only the app itself and the configured studio


def test_cors_allows_only_configured_origins(client, default_client):
    preflight = {"Origin": STUDIO, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    r = client.options("/api/ask", headers=preflight)
    assert r.headers["access-control-allow-origin"] == STUDIO
    r = client.post("/api/ask", json={"question": "What should I wear?"}, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    r = default_client.post("/api/ask", json={"question": "What should I wear?"}, headers={"Origin": STUDIO})
    assert "access-control-allow-origin" not in r.headers
    r = default_client.get("/config", headers={"Origin": "http://evil.example"})  # Gradio no longer reflects it
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize("path", ["/", "/widget", "/widget.js", "/api/health", "/web/chat.css"])
def test_security_headers_everywhere(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "default-src" in r.headers["content-security-policy"]


def test_frame_ancestors_follow_allowed_origins(client, default_client):
    assert f"frame-ancestors 'self' {STUDIO}" in client.get("/widget").headers["content-security-policy"]
    assert f"frame-ancestors 'self' {STUDIO}" in client.get("/").headers["content-security-policy"]
    assert default_client.get("/widget").headers["content-security-policy"].endswith("frame-ancestors 'self'")
    assert "frame-ancestors 'none'" in client.get("/api/health").headers["content-security-policy"]


def test_chat_page_loads_nothing_from_elsewhere(client):
    csp = client.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert "https:" not in csp and "http:" not in csp.replace(STUDIO, "")


def test_widget_files(client):
    js = client.get("/widget.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "/widget" in js.text and "iframe" in js.text
    assert client.get("/widget.css").headers["content-type"].startswith("text/css")
    page = client.get("/widget").text
    assert "/web/widget-chat.js" in page and "<script>" not in page  # no inline code: the CSP forbids it


# staff view


STAFF_PATHS = ("/staff", "/api/staff/search?q=wear", "/api/staff/report", "/api/staff/questions.csv")


def test_staff_view_is_off_without_a_password(default_client):
    for path in STAFF_PATHS:
        r = default_client.get(path, auth=("staff", ""))
        assert r.status_code == 404
        assert "staff view is off" in r.text


@pytest.mark.parametrize("auth", [None, ("staff", "wrong"), ("staff", "s3cre"), ("s3cret", "")])
def test_staff_view_refuses_a_wrong_password(client, auth):
    for path in ("/staff", "/api/staff/search?q=wear"):
        r = client.get(path, auth=auth)
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Basic")


def test_staff_view_with_the_password(client):
    page = client.get("/staff", auth=("anyone", "s3cret"))
    assert page.status_code == 200 and "Staff view" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    body = client.get("/api/staff/search", params={"q": "What should I wear?", "k": 2}, auth=("staff", "s3cret")).json()
    assert body["answer"]["abstained"] is False
    assert len(body["passages"]) == 2
    top = body["passages"][0]
    assert top["section"] == "What to wear" and "loose-fitting" in top["quote"]
    assert {"score", "dense", "keyword", "references"} <= set(top)


def test_staff_search_rejects_bad_input(client):
    auth = ("staff", "s3cret")
    assert client.get("/api/staff/search", params={"q": " "}, auth=auth).status_code == 400
    assert client.get("/api/staff/search", params={"q": "x", "k": 99}, auth=auth).status_code == 422
    assert client.get("/api/staff/search", auth=auth).status_code == 422


def test_settings_reach_the_app_from_the_environment():
    settings = Settings.from_env({"MASSAGE_ALLOWED_ORIGINS": "http://a.example, http://b.example"})
    assert settings.allowed_origins == ("http://a.example", "http://b.example")
