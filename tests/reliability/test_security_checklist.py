"""The security checklist in docs/reliability.md, one test (or more) per line: loopback by default, the staff side
behind its password (constant-time, throttled, off without one, every route), embedding origins enforced, security
headers on every kind of response, and no secret in the logs, the database or any page."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from clients import STUDIO, all_routes, as_client, basic, make_client
from servers import PASSWORD, ROOT

from assistant import Settings
from assistant.web import staff

HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


# binding


def test_the_default_address_is_loopback_only():
    assert Settings().host == "127.0.0.1"
    assert Settings.from_env({}).host == "127.0.0.1"
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "--help"], capture_output=True, text=True, timeout=60)
    assert "default 127.0.0.1, only this machine" in " ".join(out.stdout.split())


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port`, from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.model
def test_the_running_server_listens_on_127_0_0_1_only(live):
    assert listening_addresses(live.port) == {"0100007F"}  # 127.0.0.1, little-endian hex
    others = [a for a in _own_addresses() if not a.startswith("127.")]
    for address in others:  # reachable from this machine's other addresses? it must not be
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((address, live.port)) != 0, f"{address}:{live.port} accepted a connection"


def _own_addresses() -> list[str]:
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return []
    return [a for a in out.split() if "." in a]


# the staff side


def staff_routes(app) -> list[tuple[str, str]]:
    """Every route on the staff side, read from the app itself so a new one can't be missed."""
    routes = [(m, p) for m, p in all_routes(app.routes) if p.startswith(("/staff", "/api/staff")) and m != "HEAD"]
    documented = {p for p in app.openapi()["paths"] if p.startswith("/api/staff")}
    assert documented <= {p for _, p in routes}, "the walk over the routes missed some"
    return routes


def test_every_staff_route_is_off_without_a_password(fake_bot):
    with make_client(fake_bot, staff_password="", rate_limit=0) as client:
        routes = staff_routes(client.app)
        assert {("GET", "/staff"), ("GET", "/api/staff/search"), ("POST", "/api/staff/publish")} <= set(routes)
        for method, path in routes:
            r = client.request(method, path, params={"q": "wear"}, json={}, headers={"Authorization": basic("")})
            assert r.status_code == 404, (method, path, r.status_code)
            assert "staff view is off" in r.text


def test_every_staff_route_needs_the_password(fake_bot):
    with make_client(fake_bot, rate_limit=0, staff_login_limit=0) as client:
        for method, path in staff_routes(client.app):
            for auth in (None, basic("wrong"), basic("s3cret" + "x"), basic("S3CRET"), "Basic !!!"):
                headers = {"Authorization": auth} if auth else {}
                r = client.request(method, path, params={"q": "wear"}, json={}, headers=headers)
                assert r.status_code == 401, (method, path, auth, r.status_code)
                assert r.headers["www-authenticate"].startswith("Basic")
            r = client.request(method, path, params={"q": "wear"}, json={}, headers={"Authorization": basic("s3cret")})
            assert r.status_code not in (401, 404), (method, path)


def test_the_password_check_is_constant_time_by_construction():
    """Both sides are hashed to 32 bytes before hmac.compare_digest: the time can't depend on a guess's length or
    on how many leading characters are right (see also test_admission)."""
    import inspect

    source = inspect.getsource(staff.same_secret)
    assert "hmac.compare_digest" in source and "sha256" in source
    assert "==" not in source


@pytest.mark.model
def test_wrong_passwords_on_the_real_server_are_throttled(live):
    with httpx.Client(base_url=live.url, timeout=30, headers=as_client(30_000)) as http:
        codes = [http.get("/api/staff/search", params={"q": "wear"}, auth=("staff", f"guess{n}")).status_code
                 for n in range(5)]
        assert codes == [401] * 5
        r = http.get("/api/staff/search", params={"q": "wear"}, auth=("staff", PASSWORD))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    with httpx.Client(base_url=live.url, timeout=30, headers=as_client(30_001)) as http:  # another address is not
        assert http.get("/api/staff/search", params={"q": "wear"}, auth=("staff", PASSWORD)).status_code == 200


# embedding: CORS for the API, frame-ancestors for the pages


@pytest.mark.model
def test_cors_allows_the_configured_origin_only(live):
    with httpx.Client(base_url=live.url, timeout=30, headers=as_client(31_000)) as http:
        ok = http.post("/api/ask", json={"question": "What should I wear?"}, headers={"Origin": STUDIO})
        assert ok.headers["access-control-allow-origin"] == STUDIO
        assert "x-ask-id" in ok.headers["access-control-expose-headers"].lower()
        evil = http.post("/api/ask", json={"question": "What should I wear?"}, headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in evil.headers
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        assert http.options("/api/ask", headers={"Origin": STUDIO, **preflight}).status_code == 200
        assert http.options("/api/ask", headers={"Origin": "http://evil.example", **preflight}).status_code == 400
        gradio = http.get("/gradio_api/info", headers={"Origin": "http://evil.example"})  # Gradio's own CORS is off
        assert "access-control-allow-origin" not in gradio.headers
        staff_preflight = http.options("/api/staff/publish", headers={"Origin": "http://evil.example", **preflight})
        assert "access-control-allow-origin" not in staff_preflight.headers


@pytest.mark.model
def test_frame_ancestors_let_the_studio_embed_the_widget_and_nothing_embed_the_rest(live):
    with httpx.Client(base_url=live.url, timeout=30) as http:
        for path in ("/", "/widget"):
            csp = http.get(path).headers["content-security-policy"]
            assert f"frame-ancestors 'self' {STUDIO}" in csp, path
        for path in ("/api/health", "/api/docs", "/api/openapi.json"):
            r = http.get(path)
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
            assert r.headers["x-frame-options"] == "DENY", path
        r = http.get("/staff", auth=("staff", PASSWORD), headers=as_client(31_001))
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"


def test_the_csp_allows_no_eval_and_no_plugins_anywhere():
    """The chat page needs inline scripts (Gradio writes its config inline) but not eval: the browser tests load it,
    ask, rate and open its API view under this policy and fail on any refusal."""
    from assistant.web.headers import SecurityHeaders

    headers = SecurityHeaders(app=None, allowed_origins=(STUDIO,))
    for path in ("/", "/widget", "/staff", "/api/ask", "/web/widget.css", "/gradio_api/info"):
        csp = headers.policy(path)
        assert "'unsafe-eval'" not in csp, path
        assert "default-src 'none'" in csp or "object-src 'none'" in csp, path


# security headers on every kind of response


@pytest.mark.model
def test_every_kind_of_response_carries_the_security_headers(live):
    with httpx.Client(base_url=live.url, timeout=30, headers=as_client(32_000)) as http:
        responses = {
            "chat page": http.get("/"),
            "Gradio config": http.get("/config"),
            "Gradio API info": http.get("/gradio_api/info"),
            "theme CSS": http.get("/theme.css"),
            "widget snippet": http.get("/widget.js"),
            "widget page": http.get("/widget"),
            "API docs": http.get("/api/docs"),
            "health": http.get("/api/health"),
            "answer": http.post("/api/ask", json={"question": "What should I wear?"}),
            "400": http.post("/api/ask", content=b"{oops", headers={"Content-Type": "application/json"}),
            "401": http.get("/api/staff/search", params={"q": "x"}),
            "404": http.get("/api/nothing"),
            "404 (Gradio upload)": http.post("/gradio_api/upload"),
            "405": http.get("/api/ask"),
            "413": http.post("/api/ask", content=b"x" * 70_000, headers={"Content-Type": "application/json"}),
            "422": http.post("/api/ask", json={"question": 1}),
        }
        for name, r in responses.items():
            for header in HEADERS:
                assert header in r.headers, f"{name} ({r.status_code}) has no {header}"
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "same-origin"


# secrets


def test_settings_never_print_the_password():
    settings = Settings(staff_password="hunter2-secret")
    assert "hunter2-secret" not in repr(settings) and "hunter2-secret" not in str(settings)


@pytest.mark.model
def test_the_password_is_in_no_log_no_database_and_no_page(live):
    with httpx.Client(base_url=live.url, timeout=30, headers=as_client(33_000)) as http:
        for password in (PASSWORD, "wrong-" + PASSWORD):
            http.get("/staff", auth=("staff", password))
            http.get("/api/staff/search", params={"q": "What should I wear?"}, auth=("staff", password))
        http.get("/api/staff/report", auth=("staff", PASSWORD))
        http.get("/api/staff/questions.csv", auth=("staff", PASSWORD))
        pages = [http.get(p).text for p in ("/", "/config", "/api/health", "/api/openapi.json", "/widget", "/staff")]
    secrets = [
        PASSWORD,
        PASSWORD.encode("utf-8").hex(),
        base64.b64encode(f"staff:{PASSWORD}".encode()).decode(),
        base64.b64encode(PASSWORD.encode()).decode(),
    ]
    stored = [live.log.read_bytes()]
    for folder in (live.data, live.home / "index"):
        stored += [p.read_bytes() for p in folder.rglob("*") if p.is_file()]
    for secret in secrets:
        for blob in stored:
            assert secret.encode() not in blob
        for page in pages:
            assert secret not in page
