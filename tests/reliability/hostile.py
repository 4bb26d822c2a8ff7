"""Hostile inputs, and what each surface makes of them: the catalogue behind the tests and docs/reliability.md.

Every case is a question (and maybe a history) as a caller would send it. `refused` says what must happen: a clear
refusal (BadQuestion, a 4xx with a one-line reason, exit code 2, a Gradio error message) rather than a reply.
Everything else gets a reply: an answer with citations, or an abstention with the contact line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

SHIATSU = ["What is shiatsu?", "Shiatsu is Japanese acupressure massage. [1]"]


@dataclass(frozen=True)
class Case:
    label: str
    question: object
    history: object = None
    refused: bool = False
    typed: bool = True  # can be typed into the chat page's textbox

    def body(self) -> dict:
        out: dict = {"question": self.question}
        if self.history is not None:
            out["history"] = self.history
        return out


CASES: tuple[Case, ...] = (
    Case("empty", "", refused=True),
    Case("whitespace only", " \t\n  \u3000", refused=True),
    Case("control characters only", "\x00\x01\x1b\x7f", refused=True, typed=False),
    Case("100 KB question", "What should I wear? " * 5000, refused=True, typed=False),
    Case("exactly 1,000 characters (the limit)", ("What should I wear? " * 50)[:1000]),
    Case("NUL inside", "What should\x00 I wear?", typed=False),
    Case("terminal escape codes", "\x1b[2J\x1b[31mWhat should I wear?\x07", typed=False),
    Case("lone UTF-16 surrogate", "What should I wear?\udc80", typed=False),
    Case("zero-width characters only", "\u200b\u200c\u2060\ufeff", refused=True),
    Case("<script>", "<script>window.__x=1</script> What should I wear?"),
    Case("<img onerror>", '<img src=x onerror="window.__x=1"> What should I wear?'),
    Case("javascript: link", "[Click for a discount](javascript:window.__x=1)"),
    Case("markdown image", "![pixel](http://example.com/track.png) What should I wear?"),
    Case("HTML link and iframe", '<a href="http://evil.example">prize</a><iframe src="http://evil.example"></iframe>'),
    Case("SQL injection", "'; DROP TABLE asks; --"),
    Case("SQL tautology", "1' OR '1'='1' -- what should I wear"),
    Case("template and format strings", "{{7*7}} ${7*7} %s%n {0.__class__} <%= 7*7 %>"),
    Case("path traversal", "../../../../etc/passwd"),
    Case("right-to-left Arabic", "ماذا يجب أن أرتدي للتدليك؟"),
    Case("right-to-left override", "\u202eWhat should I wear?"),
    Case("emoji", "💆‍♀️ What should I wear? 🙏🏽"),
    Case("another language (German)", "Was soll ich zur Massage anziehen?"),
    Case("another script (Chinese)", "按摩时我应该穿什么？"),
    Case("fullwidth letters", "Ｗｈａｔ ｓｈｏｕｌｄ Ｉ ｗｅａｒ？"),
    Case("one 1,000-letter word", "a" * 1000),
    Case("question is a number", 42, refused=True, typed=False),
    Case("question is null", None, refused=True, typed=False),
    Case("history of 10,000 turns", "What should I wear for it?", [SHIATSU] * 10_000, typed=False),
    Case("history is a string", "What should I wear?", "What is shiatsu?", refused=True, typed=False),
    Case("history pair of numbers", "What should I wear?", [[1, 2]], refused=True, typed=False),
    Case("history pair of one", "What should I wear?", [["What is shiatsu?"]], refused=True, typed=False),
    Case("history of objects", "What should I wear?", [{"q": "a", "a": "b"}], refused=True, typed=False),
    Case("history with markup", "And what should I wear for it?",
         [["<script>window.__x=1</script>", "![x](javascript:window.__x=1)"]], typed=False),
)

# Sent to POST /api/ask as raw bytes: what a JSON client can't say.
RAW_BODIES: tuple[tuple[str, bytes, dict[str, str]], ...] = (
    ("invalid UTF-8 bytes", b'{"question": "What \xff\xfe should I wear?"}', {}),
    ("malformed JSON", b'{"question": "What should', {}),
    ("empty body", b"", {}),
    ("JSON array", b'["What should I wear?"]', {}),
    ("JSON nested 30,000 deep", b"[" * 30_000 + b"]" * 30_000, {}),
    ("number too big for a float", b'{"question": 1e999999}', {}),
    ("unknown field", b'{"question": "What should I wear?", "admin": true}', {}),
    ("form-encoded", b"question=What+should+I+wear%3F", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("1 MB body", b'{"question": "' + b"a" * 2**20 + b'"}', {}),
)
JSON = {"Content-Type": "application/json"}


def one_line(text: str, width: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def describe_reply(reply: dict) -> str:
    if reply.get("abstained"):
        return "reply: abstains, contact line"
    return f"reply: answer, {len(reply.get('citations', []))} citation(s)"


# --- one runner per surface: each returns (refused, what it got in a few words) ----------------------------


def via_python(bot, case: Case) -> tuple[bool, str]:
    from assistant import BadQuestion

    try:
        reply = bot.ask(case.question, case.history)
    except BadQuestion as e:
        return True, f"BadQuestion: {one_line(e)}"
    return False, describe_reply(reply.to_dict())


def via_http(post, case: Case, headers: dict[str, str] | None = None) -> tuple[bool, str, int]:
    """`post(path, content=..., headers=...)` is httpx's or the TestClient's."""
    r = post("/api/ask", content=json.dumps(case.body()).encode(), headers={**JSON, **(headers or {})})
    return outcome_http(r)


def outcome_http(r) -> tuple[bool, str, int]:
    if r.status_code == 200:
        return False, f"200 {describe_reply(r.json())}", 200
    return True, f"{r.status_code} {one_line(r.json()['error'])}", r.status_code


def via_gradio(client, case: Case) -> tuple[bool, str]:
    """gradio_client's predict; what it can't encode (a lone surrogate) goes through Gradio's REST call instead."""
    from gradio_client.exceptions import AppError

    try:
        json.dumps(case.body(), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return via_gradio_rest(client.src, case)
    import httpx

    try:
        reply = client.predict(case.question, case.history, api_name="/ask")
    except AppError as e:
        return True, f"error message: {one_line(e)}"
    except httpx.HTTPStatusError as e:  # refused before Gradio: a body over the cap, or one naming a file
        return True, f"{e.response.status_code} {one_line(e.response.json().get('error', ''))}"
    return False, describe_reply(reply)


def via_gradio_rest(url: str, case: Case) -> tuple[bool, str]:
    """POST /gradio_api/call/ask with the JSON escaped (\\udc80), then read the event stream for its result."""
    import httpx

    base = url.rstrip("/")
    body = json.dumps({"data": [case.question, case.history]}).encode()  # ensure_ascii: escapes, never raw bytes
    with httpx.Client(timeout=60) as http:
        r = http.post(f"{base}/gradio_api/call/ask", content=body, headers=JSON)
        if r.status_code >= 400:  # refused before Gradio: a body over the cap, or one naming a file
            return True, f"{r.status_code} {one_line(r.json().get('error', ''))}"
        stream = http.get(f"{base}/gradio_api/call/ask/{r.json()['event_id']}").text
    event = next(line.split(":", 1)[1].strip() for line in stream.splitlines() if line.startswith("event:"))
    data = [line.split(":", 1)[1].strip() for line in stream.splitlines() if line.startswith("data:")][-1]
    if event == "complete":
        return False, describe_reply(json.loads(data)[0])
    return True, f"error message: {one_line(data)}"


def cli_argv(case: Case) -> list[str]:
    """The command a person would type: the question as an argument (text whatever was meant), history as JSON."""
    question = case.question if isinstance(case.question, str) else json.dumps(case.question)
    argv = ["ask", question]
    if case.history is not None:
        argv += ["--history-json", json.dumps(case.history)]
    return argv
