"""The Door and the body cap through the TestClient (no model): which paths exist at all, what a Gradio body may hold,
Host and forwarded headers, and a crash's response. The same attacks against the real server: test_attacks.py."""

from __future__ import annotations

import json
import re

import pytest
from clients import all_routes, make_client
from starlette.routing import Mount

from assistant.web import door
from assistant.web.door import Door, Networks, default_hosts, file_problem, is_gradio_route

HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")
TEXT_ONLY = "The chat takes text only: files and components are refused"


def gradio_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route the Gradio mount serves, read from the app so a new Gradio route can't be missed."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "" and hasattr(r.app, "get_blocks"))
    return [(m, p) for m, p in all_routes(mount.app.routes) if m != "HEAD"]


def sample(path: str) -> str:
    """A concrete path for a route pattern: every {param} filled in."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_every_gradio_route_but_the_allow_list_answers_404(app_client):
    routes = gradio_routes(app_client.app)
    assert len(routes) > 60  # Gradio 6 mounts ~90: reload, upload, run, file, proxy, stream, monitoring, vibe-edit…
    opened, closed = [], []
    for method, pattern in routes:
        path = sample(pattern)
        if is_gradio_route(method, path):
            opened.append(path)  # not requested: some are event streams that stay open
            continue
        r = app_client.request(method, path, json={"data": []} if method == "POST" else None)
        closed.append((method, path, r.status_code))
    assert [c for c in closed if c[2] != 404] == []
    assert {(m, p) for m, p, _ in closed} >= {
        ("GET", "/gradio_api/dev/reload"), ("POST", "/gradio_api/upload"), ("POST", "/gradio_api/run/x1"),
        ("POST", "/gradio_api/api/x1"), ("GET", "/gradio_api/file=x1"), ("GET", "/gradio_api/proxy=x1"),
        ("POST", "/gradio_api/call/v2/x1"), ("GET", "/monitoring"), ("POST", "/gradio_api/vibe-edit"),
        ("POST", "/login"), ("GET", "/gradio_api/openapi.json"), ("POST", "/gradio_api/component_server"),
    }
    # what stays open is exactly what the chat page and gradio_client use
    assert set(opened) <= {"/", "/config", "/config/", "/theme.css", "/favicon.ico", "/assets/x1", "/gradio_api/info",
                                         "/gradio_api/info/", "/gradio_api/queue/join", "/gradio_api/queue/data",
                                         "/gradio_api/heartbeat/x1"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"), ("GET", "/config"), ("GET", "/theme.css"), ("GET", "/gradio_api/info"),
        ("GET", "/assets/index-DiEEvXS6.css"), ("GET", "/static/fonts/SourceSansPro/SourceSansPro-Regular.woff2"),
        ("POST", "/gradio_api/queue/join"), ("GET", "/gradio_api/queue/data"), ("GET", "/gradio_api/heartbeat/ab12"),
        ("POST", "/gradio_api/call/ask"), ("POST", "/gradio_api/call/chat"), ("GET", "/gradio_api/call/ask/0f3a"),
        ("HEAD", "/"),
    ],
)
def test_the_routes_the_chat_page_uses_are_on_the_allow_list(method, path):
    assert is_gradio_route(method, path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/gradio_api/call/v2/ask"), ("POST", "/gradio_api/call/like"), ("GET", "/gradio_api/dev/reload"),
        ("GET", "/static/../routes.py"), ("GET", "/assets/../../etc/passwd"), ("GET", "/gradio_api/heartbeat/a/b"),
        ("POST", "/"), ("PUT", "/gradio_api/queue/join"), ("GET", "/gradio_api/queue/join"),
    ],
)
def test_near_misses_are_not(method, path):
    assert not is_gradio_route(method, path)


def join(data: list, **extra) -> dict:
    return {"data": data, "event_data": None, "fn_index": 0, "trigger_id": 1, "session_hash": "s1", **extra}


FILE_DATA = {"path": "/proc/self/environ", "meta": {"_type": "gradio.FileData"}}


@pytest.mark.parametrize(
    "body",
    [
        join(["hi", [{"role": "user", "content": [{"type": "file", "file": FILE_DATA}]}]]),  # issue 10's shape
        join(["hi", [{"role": "user", "content": FILE_DATA}]]),
        join([FILE_DATA, []]),
        join(["hi", []], event_data={"value": FILE_DATA}),
        join(["hi", [{"role": "user", "content": [{"type": "file"}]}]]),
        join(["hi", [[[[[[{"url": "http://169.254.169.254/latest/meta-data/"}]]]]]]]),  # SSRF: Gradio would fetch it
        join(["hi", [{"role": "user", "content": [{"type": "component", "component": "image"}]}]]),
        join(["hi", ["gradio.FileData"]]),
    ],
)
def test_a_gradio_body_naming_a_file_is_refused_before_gradio_parses_it(app_client, body):
    for path in ("/gradio_api/queue/join", "/gradio_api/call/chat", "/gradio_api/call/ask"):
        r = app_client.post(path, json=body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"] == TEXT_ONLY
        assert "environ" not in r.text and "169.254" not in r.text
        for header in HEADERS:
            assert header in r.headers


def test_escaped_markers_are_read_as_json_is():
    body = b'{"data": ["hi", [{"role": "user", "content": {"pa\\u0074h": "/etc/passwd"}}]]}'
    assert file_problem(body) == (422, TEXT_ONLY)
    assert file_problem(b'{"data": ["gradio\\u002eFileData"]}') == (422, TEXT_ONLY)


def test_text_that_mentions_files_is_not_a_file():
    text = {"role": "user", "content": [{"type": "text", "text": 'my "path" and {"_type": "gradio.FileData"} url'}]}
    assert file_problem(json.dumps(join(["path file url meta", [text]])).encode()) is None


def test_bodies_that_are_not_json_are_refused(app_client):
    r = app_client.post("/gradio_api/queue/join", files={"files": ("environ", b"x")})  # a multipart file part
    assert r.status_code == 415 and "JSON only" in r.json()["error"]
    r = app_client.post("/gradio_api/queue/join", content=b"{oops", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    deep = b"[" * 100_000 + b"]" * 100_000
    r = app_client.post("/gradio_api/call/ask", content=deep[:200_000], headers={"Content-Type": "application/json"})
    assert r.status_code == 400  # nested past the parser's depth: refused, not a crash


@pytest.mark.parametrize("path", ["/gradio_api/queue/join", "/gradio_api/call/chat", "/api/ask", "/gradio_api/upload"])
def test_bodies_over_the_cap_get_413_by_length_and_by_count(app_client, path):
    cap, _ = door.body_cap(path)
    r = app_client.post(path, content=b"x" * (cap + 1), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.headers["connection"] == "close"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(cap // 16_384 + 2):
            yield b" " * 16_384

    r = app_client.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == (404 if path == "/gradio_api/upload" else 413)  # a closed route is closed before reading
    for header in HEADERS:
        assert header in r.headers


def test_a_long_chat_still_fits_under_the_cap(app_client):
    turn = [{"role": "user", "content": "What should I wear? " * 5},
            {"role": "assistant", "content": "Thinner, loose-fitting clothing is best. [1] " * 8},
            {"role": "assistant", "content": "> quote " * 200, "metadata": {"title": "Sources", "status": "done"}}]
    body = json.dumps(join(["And then?", turn * 60])).encode()
    assert len(body) < door.MAX_BODY and file_problem(body) is None


# Host and forwarded headers


def test_default_hosts_are_the_bind_address_and_loopback_with_the_port():
    assert default_hosts("127.0.0.1", 7860) == ("127.0.0.1:7860", "localhost:7860", "[::1]:7860")
    assert default_hosts("0.0.0.0", 80)[0] == "127.0.0.1:80"
    assert default_hosts("192.168.1.5", 8000)[0] == "192.168.1.5:8000"
    assert default_hosts("::1", 8000) == ("127.0.0.1:8000", "localhost:8000", "[::1]:8000")


def test_host_check():
    gate = Door(app=None, allowed_hosts=("127.0.0.1:7860", "studio.example"))
    assert gate.host_allowed("127.0.0.1:7860") and gate.host_allowed("Studio.Example:443")
    assert not gate.host_allowed("127.0.0.1:7861") and not gate.host_allowed("evil.example:7860")
    assert not gate.host_allowed("")
    assert Door(app=None, allowed_hosts=("*",)).host_allowed("anything")
    assert Door(app=None).host_allowed("anything")  # create_app alone: app.py fills the default list


def test_an_unknown_host_is_refused_and_never_echoed(fake_bot):
    with make_client(fake_bot, rate_limit=0, allowed_hosts=("127.0.0.1:7860",)) as client:
        client.base_url = "http://127.0.0.1:7860"
        assert client.get("/api/health").status_code == 200
        assert client.get("/config").status_code == 200
        for headers in ({"Host": "evil.example:7860"}, {"Host": "127.0.0.1:7860", "X-Forwarded-Host": "evil.example"}):
            config = client.get("/config", headers=headers)
            assert "evil" not in config.text
        r = client.get("/config", headers={"Host": "evil.example:7860"})
        assert r.status_code == 400 and "MASSAGE_ALLOWED_HOSTS" in r.json()["error"]
        for header in HEADERS:
            assert header in r.headers
        r = client.get("/config", headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"})
        assert r.status_code == 200 and "evil" not in r.text and "https" not in r.text  # untrusted: dropped


def scope_from(peer: str, *headers: tuple[str, str]) -> dict:
    return {"type": "http", "client": (peer, 5000), "scheme": "http",
            "headers": [(k.encode(), v.encode()) for k, v in headers]}


def test_forwarded_headers_count_only_from_a_trusted_proxy():
    xff = ("x-forwarded-for", "6.6.6.6, 10.1.2.3")
    untrusted = Door(app=None).unforwarded(scope_from("127.0.0.1", xff, ("x-forwarded-host", "evil")))
    assert untrusted["client"] == ("127.0.0.1", 5000) and untrusted["headers"] == []
    proxy = Door(app=None, trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    seen = proxy.unforwarded(scope_from("127.0.0.1", xff, ("x-forwarded-proto", "https")))
    assert seen["client"] == ("6.6.6.6", 0)  # 10.1.2.3 is a trusted hop: the address before it is the client
    assert seen["scheme"] == "https"
    assert proxy.unforwarded(scope_from("8.8.8.8", xff))["client"] == ("8.8.8.8", 5000)  # not via the proxy
    assert "::1" in Networks(["::1"]) and "testclient" not in Networks(["127.0.0.1"])
    with pytest.raises(ValueError, match="MASSAGE_TRUSTED_PROXIES: 'proxy.local' is not an address"):
        Networks(["127.0.0.1", "proxy.local"])


# errors


def test_a_crash_is_a_json_500_with_the_security_headers_and_no_traceback(fake_bot):
    with make_client(fake_bot, rate_limit=0) as client:

        @client.app.get("/api/boom")
        def boom() -> None:
            raise RuntimeError("/srv/secret/path exploded")

        client.app.router.routes.insert(0, client.app.router.routes.pop())  # before the /api fallback
        r = client.get("/api/boom")
    assert r.status_code == 500
    assert r.json()["error"].startswith("Something went wrong on our side")
    assert "secret" not in r.text and "Traceback" not in r.text
    for header in HEADERS:
        assert header in r.headers


def test_health_names_the_index_folder_not_its_path(app_client, fake_bot):
    body = app_client.get("/api/health").json()
    assert body["index"] == fake_bot.settings.index_dir.name and "/" not in body["index"]


def test_websockets_are_refused(app_client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with app_client.websocket_connect("/gradio_api/queue/join") as ws:
            ws.receive_text()


def test_gradio_serves_no_file_and_shows_none_of_its_own_exception_texts(app_client):
    """Behind the Door: Gradio's own checks are on (has_launched), allow no path, and its exceptions (which name
    server paths, e.g. "Cannot move /abs/path … blocked_paths") reach clients as "error": null."""
    mount = next(r for r in app_client.app.routes if isinstance(r, Mount) and hasattr(r.app, "get_blocks"))
    blocks = mount.app.get_blocks()
    assert blocks.has_launched and blocks.show_error is False
    assert blocks.allowed_paths == [] and blocks.blocked_paths == ["/"]


def test_app_py_refuses_a_proxy_that_is_not_an_address_before_loading_anything():
    import os
    import subprocess
    import sys

    from servers import ROOT

    env = {**os.environ, "MASSAGE_TRUSTED_PROXIES": "proxy.local"}
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "--port", "1"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 2
    assert "MASSAGE_TRUSTED_PROXIES: 'proxy.local' is not an address or network" in out.stderr
