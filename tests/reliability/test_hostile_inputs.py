"""Every hostile input in hostile.CASES on every surface: the Python API, the CLI, POST /api/ask (TestClient and the
real server), the Gradio API (gradio_client) and the chat page (Chromium). Each gets a reply or a clear refusal,
never a 500 or a traceback, and the server keeps serving."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from clients import as_client
from hostile import CASES, JSON, RAW_BODIES, Case, cli_argv, outcome_http, via_gradio, via_http, via_python

from assistant import cli
from assistant.web import door

IDS = [c.label for c in CASES]


def cli_refuses(case: Case) -> bool:
    """The CLI can only pass text: a number or null typed as an argument is just a (strange) question."""
    return case.refused and (isinstance(case.question, str) or case.history is not None)


# Python API


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_python_api(fake_bot, case):
    refused, got = via_python(fake_bot, case)
    assert refused == case.refused, got


@pytest.mark.model
@pytest.mark.parametrize("case", [c for c in CASES if not c.refused], ids=[c.label for c in CASES if not c.refused])
def test_python_api_with_the_real_model(model_bot, case):
    """The real tokenizer is where a lone surrogate used to raise TypeError."""
    refused, got = via_python(model_bot, case)
    assert not refused, got


def test_cleaned_questions_are_valid_unicode(fake_bot):
    for case in CASES:
        if isinstance(case.question, str) and not case.refused:
            fake_bot.clean_question(case.question).encode("utf-8")  # no lone surrogates reach the tokenizer
    turns = fake_bot.clean_history([["What is shiatsu?\udc80", "It is\ud800 massage"]])
    assert "".join(turns[0]).encode("utf-8")


# CLI


@pytest.fixture
def cli_run(monkeypatch, fake_bot, capsys):
    """main() in this process, over the fake-embedder guide."""
    from fakes import FakeEmbedder

    monkeypatch.setattr("assistant.engine.SentenceEmbedder", lambda model="", threads=1: FakeEmbedder())
    where = ["--corpus", str(fake_bot.settings.corpus_dir), "--index", str(fake_bot.settings.index_dir)]

    def run(argv: list[str]) -> tuple[int, str, str]:
        code = cli.main([*argv[:1], *where, *argv[1:]])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli(cli_run, case):
    code, out, err = cli_run(cli_argv(case))
    if cli_refuses(case):
        assert code == 2
        assert err.startswith("massage-assistant: error: ") and err.count("\n") == 1, err
        assert out == ""
    else:
        assert code == 0, err
        assert out.strip()
        assert "Traceback" not in err


@pytest.mark.model
@pytest.mark.slow
def test_cli_with_invalid_utf8_in_its_argument_and_the_real_model(tmp_path):
    """Bytes that aren't UTF-8 arrive as lone surrogates (surrogateescape); the real tokenizer used to crash on them."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MASSAGE_")}
    env["MASSAGE_INDEX_DIR"] = str(tmp_path / "index")
    out = subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"assistant.cli", b"ask", b"What should I wear?\xff\xfe"],
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr.decode(errors="replace")[-2000:]
    assert b"loose-fitting" in out.stdout.lower()


# POST /api/ask through the TestClient (fake embedder)


def assert_clean_http(case: Case, refused: bool, got: str, status: int) -> None:
    assert status != 500, got
    if case.label == "history of 10,000 turns":  # 10,000 turns are over the 64 KB body limit
        assert status == 413, got
        return
    assert refused == case.refused, got
    if refused:
        assert 400 <= status < 500 and "\n" not in got


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_json_api(app_client, case):
    assert_clean_http(case, *via_http(app_client.post, case))


@pytest.mark.parametrize(("label", "body", "headers"), RAW_BODIES, ids=[b[0] for b in RAW_BODIES])
def test_json_api_raw_bodies(app_client, label, body, headers):
    refused, got, status = outcome_http(app_client.post("/api/ask", content=body, headers={**JSON, **headers}))
    assert refused and 400 <= status < 500, got


def test_json_api_still_answers_after_all_that(app_client):
    r = app_client.post("/api/ask", json={"question": "What clothing is best for a massage?"})
    assert r.status_code == 200 and r.json()["citations"]


# the real server: POST /api/ask and the Gradio API


@pytest.mark.model
def test_real_server_json_api(live):
    with httpx.Client(base_url=live.url, timeout=60) as http:
        for n, case in enumerate(CASES):
            assert_clean_http(case, *via_http(http.post, case, as_client(1000 + n)))
        for n, (label, body, headers) in enumerate(RAW_BODIES):
            r = http.post("/api/ask", content=body, headers={**JSON, **headers, **as_client(2000 + n)})
            assert 400 <= r.status_code < 500 and "\n" not in r.json()["error"], (label, r.text[:200])

        def chunks():  # a huge body with no Content-Length
            yield b'{"question": "'
            for _ in range(1024):
                yield b"a" * 1024
            yield b'"}'

        r = http.post("/api/ask", content=chunks(), headers={**JSON, **as_client(3000)})
        assert r.status_code == 413
        r = http.post("/api/ask", json={"question": "What should I wear?"}, headers=as_client(3001))
        assert r.status_code == 200 and "loose-fitting" in r.json()["answer"].lower()
    assert "Traceback" not in live.log_text()


@pytest.fixture(scope="module")
def gradio(live):
    from gradio_client import Client

    return Client(f"{live.url}/", verbose=False, headers=as_client(4000))


@pytest.mark.model
def test_real_server_gradio_api(gradio, live):
    for case in CASES:
        refused, got = via_gradio(gradio, case)
        if got.startswith("413"):  # over the body cap: refused before it is read, as POST /api/ask does
            assert len(json.dumps(case.body())) > door.MAX_BODY, case.label
            continue
        assert refused == case.refused, (case.label, got)
        if refused:
            assert "\n" not in got and got != "error message: None", (case.label, got)
    assert "loose-fitting" in gradio.predict("What should I wear?", [], api_name="/ask")["answer"].lower()
    assert "Traceback" not in live.log_text()


@pytest.mark.model
@pytest.mark.parametrize(
    "chat",
    [
        [1, "two", None],
        [{"role": "hacker", "content": "<script>window.__x=1</script>"}],
        [{"role": "user", "content": {"type": "image", "url": "javascript:alert(1)"}}],
        [{"role": "user", "content": "x" * 5000}] * 200,
    ],
    ids=["junk items", "unknown role", "non-text part", "200 long messages"],
)
def test_real_server_gradio_chat_with_junk_history(gradio, chat):
    """The chat endpoint's history is whatever the caller sends; junk gets an error message or is ignored, a part
    that isn't text is refused (422) and a body over the cap (413) before Gradio parses it."""
    import httpx
    from gradio_client.exceptions import AppError, ValidationError

    too_big = len(json.dumps(chat)) > door.MAX_BODY
    try:
        box, messages = gradio.predict("What should I wear?", chat, api_name="/chat")
    except ValidationError as e:  # 422, in the shape gradio_client reads
        assert "The chat takes text only" in str(e) and not too_big
    except AppError as e:
        assert str(e).strip()
    except httpx.HTTPStatusError as e:
        assert e.response.status_code == 413 and too_big, e.response.text
        assert e.response.json()["error"]
    else:
        assert box == ""
        assert any("loose-fitting" in json.dumps(m).lower() for m in messages)
