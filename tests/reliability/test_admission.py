"""Admission control without a server: token buckets, the gate's bounded waiting room, the staff login guard,
and the limits middleware through the TestClient."""

from __future__ import annotations

import threading
import time
from base64 import b64encode
from contextlib import ExitStack

import pytest
from clients import basic, make_client

from assistant.records import Reply
from assistant.web import limits, staff
from assistant.web.gate import Busy, Gate, QueueFull
from assistant.web.limits import Buckets, LoginGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# token buckets


def test_a_bucket_admits_the_burst_then_refuses_until_it_refills():
    clock = Clock()
    buckets = Buckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)  # one token a second
    assert buckets.take("b") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_a_refused_request_takes_no_token():
    clock = Clock()
    buckets = Buckets(per_minute=60, burst=1, clock=clock)
    buckets.take("a")
    for _ in range(100):  # hammering doesn't push the next admission further away
        buckets.take("a")
    clock.now += 1.0
    assert buckets.take("a") == 0.0


def test_buckets_never_hold_more_than_the_burst():
    clock = Clock()
    buckets = Buckets(per_minute=60, burst=2, clock=clock)
    clock.now += 3600
    assert [buckets.take("a") for _ in range(3)][:2] == [0.0, 0.0]
    assert buckets.take("a") > 0


def test_buckets_remember_a_bounded_number_of_clients():
    buckets = Buckets(per_minute=60, burst=1, max_keys=100)
    for n in range(10_000):
        buckets.take(f"client-{n}")
    assert len(buckets) == 100


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (10, 0), (-1, 5)])
def test_buckets_that_admit_nothing_are_refused(rate, burst):
    with pytest.raises(ValueError, match="admits nothing"):
        Buckets(rate, burst)


# the gate


class SlowBot:
    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.running = 0

    def ask(self, question, history=None):
        self.running += 1
        self.release.wait(10)
        return Reply("ok", False, ())

    def search(self, query, k=5):
        return []

    def info(self):
        return {}


def test_a_full_waiting_room_refuses_at_once_and_the_waiting_are_still_answered():
    release = threading.Event()
    gate = Gate(SlowBot(release), limit=1, wait=10.0, max_waiting=2)
    results: list[object] = []

    def ask() -> None:
        try:
            results.append(gate.ask("q"))
        except Busy as e:
            results.append(e)

    threads = [threading.Thread(target=ask) for _ in range(3)]  # one runs, two wait
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while gate.waiting < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gate.waiting == 2
    with pytest.raises(QueueFull, match="2 questions are already waiting"):
        gate.ask("one too many")  # refused without waiting: the slot is still taken
    release.set()
    for t in threads:
        t.join(10)
    assert [r.answer for r in results] == ["ok", "ok", "ok"]
    assert gate.waiting == 0


def test_admission_counts_running_and_waiting_places_before_any_thread_is_used():
    gate = Gate(SlowBot(threading.Event()), limit=2, max_waiting=3)
    with ExitStack() as held:
        for _ in range(5):
            held.enter_context(gate.admitted())
        with pytest.raises(QueueFull, match="5 questions are already waiting or being answered"):
            held.enter_context(gate.admitted())
    with gate.admitted():  # every place is given back, even by the refused one
        pass
    assert gate._admitted == 0


def test_a_question_that_waits_too_long_gets_busy():
    release = threading.Event()
    gate = Gate(SlowBot(release), limit=1, wait=0.2, max_waiting=5)
    runner = threading.Thread(target=gate.ask, args=("q",))
    runner.start()
    time.sleep(0.1)
    with pytest.raises(Busy, match=r"waited 0\.2 s") as caught:
        gate.ask("q")
    assert not isinstance(caught.value, QueueFull)
    release.set()
    runner.join(10)


def test_max_waiting_zero_never_waits():
    release = threading.Event()
    gate = Gate(SlowBot(release), limit=1, max_waiting=0)
    runner = threading.Thread(target=gate.ask, args=("q",))
    runner.start()
    time.sleep(0.1)
    with pytest.raises(QueueFull):
        gate.ask("q")
    release.set()
    runner.join(10)


# staff passwords


@pytest.mark.parametrize(
    ("header", "password"),
    [
        (None, None),
        ("Bearer abc", None),
        (basic("s3cret"), "s3cret"),
        (basic("pässwörd"), "pässwörd"),  # browsers send UTF-8
        ("Basic " + b64encode("staff:pässwörd".encode("latin-1")).decode(), "pässwörd"),  # older ones Latin-1
        (basic("with:colon"), "with:colon"),
        (basic(""), ""),
        ("Basic !!!not-base64", ""),  # malformed: a wrong password, not an error
        ("Basic " + b64encode(b"no colon").decode(), ""),
    ],
)
def test_basic_password_parses_what_browsers_send(header, password):
    assert staff.basic_password(header) == password


def test_passwords_are_compared_as_equal_length_digests(monkeypatch):
    compared: list[tuple[bytes, bytes]] = []
    real = staff.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(staff.hmac, "compare_digest", spy)
    assert staff.same_secret("s3cret", "s3cret")
    assert not staff.same_secret("s", "s3cret")
    assert not staff.same_secret("s3cret" * 1000, "s3cret")
    assert len(compared) == 3
    assert all(len(a) == len(b) == 32 for a, b in compared)  # the length of a guess tells nothing


def test_login_guard_counts_per_client_and_in_total():
    guard = LoginGuard(per_minute=2)
    assert guard.wait("a") == 0
    guard.failed("a")
    guard.failed("a")
    assert guard.wait("a") > 0
    assert guard.wait("b") == 0
    for n in range(20):  # twenty addresses, one wrong guess each: the total catches up
        guard.failed(f"spoofed-{n}")
    assert guard.wait("c") > 0


def test_login_guard_zero_is_off():
    guard = LoginGuard(per_minute=0)
    for _ in range(100):
        guard.failed("a")
    assert guard.wait("a") == 0


# the middleware, through the whole app


def test_one_client_over_its_rate_gets_429_with_retry_after(fake_bot):
    with make_client(fake_bot, rate_limit=60, rate_burst=3) as client:
        codes = [client.post("/api/ask", json={"question": "What should I wear?"}).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        r = client.post("/api/ask", json={"question": "What should I wear?"})
        assert r.status_code == 429
        assert r.json()["error"].startswith("Too many questions from your address; please wait")
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["x-content-type-options"] == "nosniff"  # refusals carry the security headers too
        assert client.get("/api/health").status_code == 200  # reading is never limited
        assert client.get("/").status_code == 200


def test_bad_requests_count_against_the_rate_too(fake_bot):
    with make_client(fake_bot, rate_limit=60, rate_burst=2) as client:
        for _ in range(2):
            assert client.post("/api/ask", content=b"{oops", headers={"Content-Type": "application/json"}).status_code == 400
        assert client.post("/api/ask", json={"question": "What should I wear?"}).status_code == 429


def test_a_429_to_an_allowed_origin_is_readable_by_its_page(fake_bot):
    with make_client(fake_bot, rate_limit=60, rate_burst=1) as client:
        client.post("/api/ask", json={"question": "hi"})
        r = client.post("/api/ask", json={"question": "hi"}, headers={"Origin": "http://studio.example"})
        assert r.status_code == 429
        assert r.headers["access-control-allow-origin"] == "http://studio.example"  # the widget can show why


def test_rate_limit_zero_is_off(fake_bot):
    with make_client(fake_bot, rate_limit=0) as client:
        assert {client.post("/api/ask", json={"question": "hi"}).status_code for _ in range(50)} == {200}


@pytest.mark.parametrize("path", ["/gradio_api/upload", "/gradio_api/run/ask", "/gradio_api/api/ask"])
def test_gradio_paths_the_app_never_uses_are_closed(app_client, path):
    r = app_client.post(path, json={"data": ["What should I wear?", []]}, files=None)
    assert r.status_code == 404
    assert "not available" in r.json()["error"]


def test_wrong_staff_passwords_are_limited_even_the_right_one_waits(fake_bot):
    with make_client(fake_bot, staff_login_limit=3) as client:
        for _ in range(3):
            assert client.get("/api/staff/search?q=wear", headers={"Authorization": basic("guess")}).status_code == 401
        r = client.get("/api/staff/search?q=wear", headers={"Authorization": basic("s3cret")})
        assert r.status_code == 429
        assert "Too many wrong staff passwords" in r.json()["error"]
        assert int(r.headers["retry-after"]) >= 1
        assert client.get("/staff", headers={"Authorization": basic("s3cret")}).status_code == 429


def test_asking_without_credentials_is_not_a_wrong_password(fake_bot):
    with make_client(fake_bot, staff_login_limit=2) as client:
        for _ in range(10):  # the browser's first request carries none, then it asks the person
            assert client.get("/staff").status_code == 401
        assert client.get("/staff", headers={"Authorization": basic("s3cret")}).status_code == 200


def test_a_unicode_staff_password_works(fake_bot):
    with make_client(fake_bot, staff_password="pässwörd") as client:
        assert client.get("/api/staff/search?q=wear", headers={"Authorization": basic("pässwörd")}).status_code == 200
        assert client.get("/api/staff/search?q=wear", headers={"Authorization": basic("passwort")}).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://sub.testserver"},
    ],
)
def test_staff_writes_from_another_site_are_refused(app_client, headers):
    auth = {"Authorization": basic("s3cret")}
    r = app_client.post("/api/staff/publish", json={"question": "Q", "answer": "A"}, headers={**auth, **headers})
    assert r.status_code == 403
    assert r.json()["error"] == "The staff side only takes changes from its own pages"


def test_staff_reads_and_same_site_writes_pass_the_site_check(app_client):
    auth = {"Authorization": basic("s3cret")}
    assert app_client.get("/api/staff/search?q=wear", headers={**auth, "Sec-Fetch-Site": "cross-site"}).status_code == 200
    same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    r = app_client.post("/api/staff/publish", json={}, headers={**auth, **same})
    assert r.status_code != 403


def test_is_cross_site_trusts_sec_fetch_site_then_reads_origin_against_host():
    def scope(**headers):
        return {"headers": [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}

    assert not limits.is_cross_site(scope(Host="studio.example:7860"))  # curl, scripts: no Origin
    assert not limits.is_cross_site(scope(Host="studio.example:7860", Origin="https://studio.example:7860"))
    assert limits.is_cross_site(scope(Host="studio.example:7860", Origin="https://evil.example"))
    # behind a proxy that rewrites Host, the browser's own word decides
    assert not limits.is_cross_site(scope(Host="127.0.0.1:7860", Origin="https://studio.example",
                                          Sec_Fetch_Site="same-origin"))
    assert limits.is_cross_site(scope(Host="studio.example", Origin="https://studio.example",
                                      Sec_Fetch_Site="cross-site"))


def test_a_burst_of_zero_is_a_clear_configuration_error(fake_bot):
    with pytest.raises(ValueError, match="MASSAGE_RATE_BURST=0 would refuse every question"):
        make_client(fake_bot, rate_limit=60, rate_burst=0)
