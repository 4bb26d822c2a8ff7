"""Property tests (hypothesis): whatever a caller puts in the JSON API's question and history, and whatever text the
footnote parser meets, nothing crashes and the answers keep their shape."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from clients import make_client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import footnotes

ANY_CHAR = st.characters(exclude_categories=())  # lone surrogates and control characters included
# characters that have broken text handling somewhere, drawn often enough to matter (a lone surrogate is 1 in 500
# of all code points, so ANY_CHAR alone rarely makes one)
TRICKY = st.sampled_from(["\udc80", "\ud800", "\x00", "\x1b", "\x7f", "\u202e", "\u200b", "\ufeff", "\u2028",
                          "💆", "\n", "<", "&", "\\", "%", "{", "'"])
TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(TRICKY, ANY_CHAR, st.characters(codec="ascii")), max_size=60).map("".join),  # not st.text:
    # given a mixed alphabet it almost never draws the tricky ones
    st.text(max_size=1200),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(ANY_CHAR, max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
QUESTION = st.one_of(TEXT, TEXT, JSON_VALUE)
PAIR = st.one_of(st.tuples(TEXT, TEXT).map(list), st.lists(st.one_of(TEXT, JSON_VALUE), max_size=3))
HISTORY = st.one_of(st.none(), st.lists(PAIR, max_size=12), JSON_VALUE)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_client(fake_bot):
    with make_client(fake_bot, rate_limit=0) as client:  # the question log on: it stores what it is given
        yield client


def body_of(question, history) -> bytes:
    body = {"question": question}
    if history is not None:
        body["history"] = history
    return json.dumps(body).encode()  # ASCII with \u escapes: surrogates travel as JSON allows


def check_response(r) -> None:
    assert r.status_code in (200, 400, 413, 422), (r.status_code, r.text[:300])
    body = r.json()
    if r.status_code == 200:
        assert set(body) == {"answer", "abstained", "citations", "kind"}
        assert isinstance(body["answer"], str) and body["answer"].strip()
        assert isinstance(body["abstained"], bool)
        assert body["abstained"] == (body["citations"] == [])
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
        if body["citations"]:  # every marker points at a citation (a supporting citation may go unquoted)
            assert 1 in markers and markers <= set(range(1, len(body["citations"]) + 1)), body
        assert all(c["text"].strip() for c in body["citations"])
    else:
        assert set(body) == {"error"}
        assert body["error"].strip() and "\n" not in body["error"]


@FAST
@given(question=QUESTION, history=HISTORY)
def test_json_api_question_and_history(fuzz_client, question, history):
    r = fuzz_client.post("/api/ask", content=body_of(question, history), headers={"Content-Type": "application/json"})
    check_response(r)
    if isinstance(question, str) and question.strip() and len(question) <= 1000 and history in (None, []):
        stripped = re.sub(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]", " ", question)
        if any(not c.isspace() and unicodedata.category(c) != "Cf" for c in stripped):
            assert r.status_code == 200, r.text  # any visible text gets an answer or an abstention
        elif not re.search(r"[\ud800-\udfff]", question):  # (surrogate pairs reach the server as one character)
            # only controls, spaces and invisible format characters (zero-width, direction marks)
            assert r.status_code == 400 and "Please type a question" in r.json()["error"], r.text


@FAST
@given(raw=st.binary(max_size=3000))
def test_json_api_raw_bytes(fuzz_client, raw):
    r = fuzz_client.post("/api/ask", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400, 413, 422), r.text[:300]
    check_response(r)


@pytest.mark.model
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(question=TEXT, history=st.one_of(st.none(), st.lists(st.tuples(TEXT, TEXT).map(list), max_size=3)))
def test_json_api_with_the_real_model(model_client, question, history):
    """The real tokenizer and model see the text: where a lone surrogate once raised TypeError."""
    r = model_client.post("/api/ask", content=body_of(question, history), headers={"Content-Type": "application/json"})
    check_response(r)


@pytest.fixture(scope="module")
def model_client(model_bot):
    with make_client(model_bot, rate_limit=0, log_questions=False) as client:
        yield client


# the footnote parser


@settings(max_examples=500, deadline=None)
@given(text=st.text(st.one_of(ANY_CHAR, st.sampled_from("0123456789 ,.;:)abcXYZ")), max_size=300),
       count=st.integers(-2, 60), start=st.integers(1, 70))
def test_decode_only_ever_removes_digits_and_reports_sane_markers(text, count, start):
    decoded = footnotes.decode(text, count, start)
    assert re.sub(r"\d", "", decoded.text) == re.sub(r"\d", "", text)  # every non-digit kept, in order
    assert len(decoded.text) <= len(text)
    offsets = [at for at, _ in decoded.markers]
    assert offsets == sorted(offsets) and all(0 <= at <= len(decoded.text) for at in offsets)
    for _, numbers in decoded.markers:
        assert numbers and list(numbers) == sorted(set(numbers))  # strictly rising
        assert all(1 <= n <= count for n in numbers)
    assert decoded.next_expected >= start
    assert all(decoded.next_expected > n for _, ns in decoded.markers for n in ns)
    if count <= 0 or not re.search(r"\d", text):
        assert decoded == footnotes.Decoded(text, (), start)


WORD = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=3, max_size=9)


@settings(max_examples=500, deadline=None)
@given(
    words=st.lists(st.tuples(WORD, st.sampled_from(["", ",", ".", ";", ":"]), st.integers(0, 3)), min_size=1,
                   max_size=12),
    spare=st.integers(0, 20),
)
def test_decode_recovers_markers_written_in_reading_order(words, spare):
    """Write prose the way the guide does (each new citation glued to a word, numbered in reading order), then decode:
    exactly the markers written come back, and the text is the prose without them."""
    total = sum(k for _, _, k in words)
    count = total + spare
    pieces, clean, expected, next_ref = [], [], [], 1
    for word, punct, k in words:
        numbers = tuple(range(next_ref, next_ref + k))
        next_ref += k
        prose = word + punct
        clean.append(prose)
        pieces.append(prose + "".join(str(n) for n in numbers))
        if numbers:
            expected.append((len(" ".join(clean)), numbers))
    decoded = footnotes.decode(" ".join(pieces), count)
    assert decoded.text == " ".join(clean)
    assert list(decoded.markers) == expected
    assert decoded.next_expected == next_ref
