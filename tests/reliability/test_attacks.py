"""Issue 10's attacks, each in its exact request shape, against the real server (`python app.py`, real model).

`live` is the session's server (127.0.0.1 trusted as a proxy, so tests can play many clients); `shipped` runs the
shipped defaults: no proxy trusted, Host checked against the bind address and localhost with the port. The file-read
attack itself is test_file_access.py; the same checks without a server are test_door.py."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import rawhttp
from servers import ROOT, Server, make_server

sys.path.append(str(ROOT / "bench"))
import idle_sockets  # noqa: E402  (bench/idle_sockets.py: parks sockets, measures /api/ask)

pytestmark = pytest.mark.model

HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")
MB = 1024 * 1024
# every Gradio route that takes a body (the allow-listed ones and the closed ones), and ours
POST_ROUTES = [
    "/gradio_api/call/ask", "/gradio_api/call/chat", "/gradio_api/queue/join", "/gradio_api/upload",
    "/gradio_api/run/ask", "/gradio_api/api/ask", "/gradio_api/call/v2/ask", "/gradio_api/component_server",
    "/gradio_api/process_recording", "/gradio_api/stream/e1", "/gradio_api/reset", "/gradio_api/cancel",
    "/gradio_api/vibe-edit", "/login", "/", "/api/ask", "/api/feedback", "/api/staff/publish",
]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Iterator[Server]:
    server = make_server(tmp_path_factory.mktemp("shipped"), trusted_proxies="")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def assert_headers(r) -> None:
    for header in HEADERS:
        assert header in r.headers, (header, dict(r.headers))


# 1. huge bodies


@pytest.mark.parametrize("path", POST_ROUTES)
def test_a_20_mb_body_gets_413_before_a_byte_of_it_is_read(live, path):
    answer = rawhttp.post(live.port, path, 20 * MB)
    assert answer.status == 413, answer
    assert answer.sent == 0  # answered on the headers alone
    assert answer.headers["connection"] == "close"
    assert_headers(answer)
    assert b"over" in answer.body


@pytest.mark.parametrize("path", ["/gradio_api/queue/join", "/gradio_api/call/ask", "/api/ask"])
def test_a_chunked_20_mb_body_is_cut_off_at_the_cap(live, path):
    answer = rawhttp.post(live.port, path, 20 * MB, chunked=True)
    assert answer.status == 413, answer
    assert answer.sent < 10 * MB  # answered long before the end: at its cap (64 or 256 KB) plus the socket buffers


def test_memory_stays_flat_under_six_100_mb_posts(live):
    before = live.rss_mb()
    answers: list[rawhttp.Answer] = []

    def attack(n: int) -> None:
        path = ("/gradio_api/call/ask", "/gradio_api/queue/join", "/gradio_api/upload")[n % 3]
        answers.append(rawhttp.post(live.port, path, 100 * MB, chunked=n >= 3))

    threads = [threading.Thread(target=attack, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    # a streamed body to the closed upload route is refused before it is read (404), every other one at its cap
    assert sorted(a.status for a in answers) == [404, 413, 413, 413, 413, 413]
    assert sum(a.sent for a in answers) < 12 * MB
    assert live.rss_mb() - before < 40, (before, live.rss_mb())
    assert httpx.get(f"{live.url}/api/health", timeout=30).status_code == 200


# 2. the CPU drain: parked sockets


@pytest.mark.slow
def test_300_parked_sockets_leave_ask_within_twice_its_idle_p50(live):
    """bench/idle_sockets.py does 1,500 per route and reports the figures; this is its smaller check."""

    def once() -> float:
        idle = idle_sockets.ask_p50(live.url, 20)
        parked = []
        try:
            for route in ("dev-reload", "heartbeat", "half-headers"):
                parked += idle_sockets.park(live.port, idle_sockets.ROUTES[route], 100)[0]
            time.sleep(3)
            return idle_sockets.ask_p50(live.url, 20) / idle
        finally:
            for s in parked:
                s.close()

    ratios = [once()]
    if ratios[0] >= 2:  # two shared cores: one noisy minute is not a verdict, two are
        ratios.append(once())
    assert min(ratios) < 2, ratios


def test_dev_reload_is_gone_and_its_sockets_are_let_go(live):
    sockets, _ = idle_sockets.park(live.port, idle_sockets.ROUTES["dev-reload"], 50)
    try:
        time.sleep(7)  # the 404, then uvicorn's 5 s keep-alive timeout
        assert sum(idle_sockets._open(s) for s in sockets) == 0
    finally:
        for s in sockets:
            s.close()


# 3. routes: the allow-list, SSRF, clean refusals


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=http://127.0.0.1:1/", "/gradio_api/file=https://example.com/x.png",
        "/gradio_api/proxy=http://169.254.169.254/latest/meta-data/", "/gradio_api/file=/etc/passwd",
        "/gradio_api/dev/reload", "/gradio_api/openapi.json", "/openapi.json", "/monitoring", "/gradio_api/runs",
        "/gradio_api/token", "/gradio_api/upload_progress", "/gradio_api/vibe-code", "/gradio_api/startup-events",
        "/svelte/x.js", "/manifest.json", "/gradio_api/mcp/schema",
    ],
)
def test_gradio_routes_the_page_never_uses_are_404_and_fetch_nothing(live, path):
    r = httpx.get(f"{live.url}{path}", timeout=10)
    assert r.status_code == 404 and r.json()["error"].endswith("is not available in this app")
    assert_headers(r)


def test_call_v2_is_a_clean_404(live):
    r = httpx.post(f"{live.url}/gradio_api/call/v2/ask", json={"data": ["What should I wear?", []]}, timeout=10)
    assert r.status_code == 404 and "not available" in r.json()["error"]
    assert_headers(r)


def test_a_file_url_in_a_gradio_body_is_refused_before_gradio_fetches_it(live):
    target = {"path": "x.png", "url": f"{live.url}/api/health", "meta": {"_type": "gradio.FileData"}}
    for path in ("/gradio_api/call/ask", "/gradio_api/queue/join"):
        r = httpx.post(f"{live.url}{path}", json={"data": ["hi", [[target, "a"]]], "fn_index": 0, "session_hash": "s"},
                       timeout=10)
        assert r.status_code == 422 and "text only" in r.json()["error"]
    r = httpx.post(f"{live.url}/gradio_api/queue/join", files={"file": ("a.txt", b"hi")}, timeout=10)
    assert r.status_code == 415


def test_the_documented_gradio_api_still_works(live):
    from gradio_client import Client

    client = Client(f"{live.url}/", verbose=False)
    assert "loose-fitting" in client.predict("What should I wear?", [], api_name="/ask")["answer"].lower()
    box, chat = client.predict("What should I wear?", [], api_name="/chat")
    assert box == "" and chat[0]["role"] == "user"


# 4. errors, health, Host, forwarded headers


def test_a_500_and_gradios_errors_carry_the_headers_and_no_traceback(shipped, live):
    # on its own server: until then the crash's traceback goes to the log, which test_hostile_inputs reads on `live`
    crash = httpx.post(f"{shipped.url}/api/feedback", json={"ask_id": 2**63, "rating": 1}, timeout=10)
    assert crash.status_code in (404, 422, 500)  # 500 until ask ids are range-checked (branch studio)
    assert crash.headers["content-type"].startswith("application/json") and "error" in crash.json()
    assert "Traceback" not in crash.text and "File \"" not in crash.text
    assert_headers(crash)
    gradio = httpx.post(f"{live.url}/gradio_api/queue/join", json={"data": "not a list"}, timeout=10)
    assert 400 <= gradio.status_code < 500 and "Traceback" not in gradio.text
    assert_headers(gradio)
    refused = httpx.post(f"{live.url}/gradio_api/call/ask", json={"data": ["", []]}, timeout=10)
    stream = httpx.get(f"{live.url}/gradio_api/call/ask/{refused.json()['event_id']}", timeout=30)
    assert "event: error" in stream.text and "Please type a question" in stream.text
    assert str(live.home) not in stream.text and "/work/" not in stream.text
    assert_headers(stream)


def test_streams_for_unknown_sessions_end_without_a_traceback_in_the_log(live):
    """Gradio ends them by raising inside the stream; anyone can ask for one, so each is a line, not a traceback."""
    for n in range(20):
        r = httpx.get(f"{live.url}/gradio_api/queue/data", params={"session_hash": f"nobody{n}"}, timeout=30)
        assert "session_not_found" in r.text  # and the stream ended properly: httpx read it to its end
    time.sleep(0.5)
    log = live.log_text()
    assert "Traceback" not in log and "without completing response" not in log
    assert "ended early: 404" in log


def test_health_names_the_index_not_its_path(live):
    body = httpx.get(f"{live.url}/api/health", timeout=10).json()
    assert body["index"] == "index"
    assert str(live.home) not in json.dumps(body)


def test_an_unknown_host_is_refused(shipped):
    for host in ("evil.example", f"evil.example:{shipped.port}", f"127.0.0.1:{shipped.port + 1}", "127.0.0.1.nip.io"):
        answer = rawhttp.get(shipped.port, "/config", host=host)
        assert answer.status == 400, host
        assert b"MASSAGE_ALLOWED_HOSTS" in answer.body and b"evil" not in answer.body
        assert_headers(answer)
    for host in (f"127.0.0.1:{shipped.port}", f"localhost:{shipped.port}"):
        assert rawhttp.get(shipped.port, "/api/health", host=host).status == 200, host


def test_host_and_forwarded_host_are_never_echoed_into_gradios_config(shipped, live):
    for server in (shipped, live):
        answer = rawhttp.get(server.port, "/config", extra={"X-Forwarded-Host": "evil.example",
                                                          "X-Forwarded-Proto": "https"})
        assert answer.status in (200, 400)
        assert b"evil.example" not in answer.body
    # from a trusted proxy, a forwarded host must be an allowed one too
    assert rawhttp.get(live.port, "/config", extra={"X-Forwarded-Host": "evil.example"}).status == 400


def test_forwarded_for_from_loopback_buys_no_new_address_by_default(shipped):
    """The shipped server trusts no proxy: a local process sending X-Forwarded-For is still one client."""
    codes = []
    with httpx.Client(base_url=shipped.url, timeout=30) as http:
        for n in range(40):  # the default burst is 30
            r = http.post("/api/ask", json={}, headers={"X-Forwarded-For": f"10.9.{n}.1"})
            codes.append(r.status_code)
    assert 429 in codes and codes.index(429) <= 31, codes


def test_forwarded_for_counts_when_the_proxy_is_trusted(live):
    codes = []
    with httpx.Client(base_url=live.url, timeout=30) as http:
        for n in range(40):
            codes.append(http.post("/api/ask", json={}, headers={"X-Forwarded-For": f"10.8.{n}.1"}).status_code)
    assert 429 not in codes, codes
