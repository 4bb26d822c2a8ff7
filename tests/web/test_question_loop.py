"""The loop from what clients ask to what the studio knows, through the app (TestClient, keyword embedder, no model):
question log per surface, thumbs, the staff report and CSV, publishing a studio FAQ answer without a restart."""

from __future__ import annotations

import csv
import io
import sqlite3
import time

import pytest
from fastapi.testclient import TestClient

from assistant.questionlog import DB_NAME, QuestionLog
from assistant.web import create_app
from assistant.studiofaq import FAQ_FILE

PASSWORD = "s3cret"
STAFF = ("staff", PASSWORD)
COUPLES = "Do you have a couples room?"
ANSWER = "Yes, our couples room fits two massage tables side by side."


@pytest.fixture
def app(studio_bot):
    return create_app(studio_bot, studio_bot.settings.replace(staff_password=PASSWORD))


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


@pytest.fixture
def log(app) -> QuestionLog:
    return app.state.questions


def ask(client: TestClient, question: str, **fields):
    r = client.post("/api/ask", json={"question": question, **fields})
    assert r.status_code == 200, r.text
    return r


# the question log, per surface


def test_api_questions_are_logged_and_the_reply_body_is_unchanged(client, log, studio_bot):
    r = ask(client, "What should I wear?")
    assert r.json() == studio_bot.ask("What should I wear?").to_dict()  # exactly Reply.to_dict(), no ask id in it
    (row,) = log.rows()
    assert r.headers["x-ask-id"] == row["token"] and len(row["token"]) >= 16  # random, not the row number
    assert not row["token"].isdigit()
    assert (row["question"], row["surface"], row["conversation"], row["abstained"], row["kind"]) == (
        "What should I wear?", "api", "", 0, "answer")
    assert row["latency_ms"] > 0
    assert '"score"' in row["citations"] and "guide.md#" in row["citations"]


def test_the_widget_says_which_surface_and_conversation_it_is(client, log):
    ask(client, "What should I wear?", surface="widget", conversation="a1b2c3d4e5f6")
    ask(client, COUPLES, surface="widget", conversation="a1b2c3d4e5f6")
    assert [(r["surface"], r["conversation"], r["abstained"], r["kind"]) for r in log.rows()] == [
        ("widget", "a1b2c3d4e5f6", 0, "answer"),
        ("widget", "a1b2c3d4e5f6", 1, "out_of_scope"),
    ]


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"surface": "chat"}, "surface"),  # the chat page logs itself; callers are api or widget
        ({"conversation": "has spaces"}, "conversation"),
        ({"conversation": "x" * 65}, "conversation"),
    ],
)
def test_surface_and_conversation_are_checked(client, log, fields, reason):
    r = client.post("/api/ask", json={"question": "What should I wear?", **fields})
    assert r.status_code == 422 and reason in r.json()["error"]
    assert log.rows() == []


def test_refused_questions_are_not_logged(client, log):
    assert client.post("/api/ask", json={"question": "  "}).status_code == 400
    assert log.rows() == []


def test_the_ask_id_header_is_readable_from_an_allowed_studio_page(studio_bot):
    studio = "http://studio.example"
    client = TestClient(create_app(studio_bot, studio_bot.settings.replace(allowed_origins=(studio,))))
    r = client.post("/api/ask", json={"question": "What should I wear?"}, headers={"Origin": studio})
    assert r.headers["access-control-expose-headers"] == "X-Ask-Id"


# thumbs from the widget and the API


def test_feedback_is_stored_against_the_answer_and_shows_in_the_report(client, log):
    ask(client, "What is trigger point therapy?", surface="widget")
    wear = ask(client, "What should I wear?", surface="widget").headers["x-ask-id"]
    r = client.post("/api/feedback", json={"ask_id": wear, "rating": -1, "comment": "I meant for hot stones"})
    assert r.status_code == 200 and r.json() == {"stored": True}
    rows = {row["question"]: row for row in log.rows()}
    assert (rows["What should I wear?"]["down"], rows["What should I wear?"]["comments"]) == (1, "I meant for hot stones")
    assert rows["What is trigger point therapy?"]["down"] == 0

    report = client.get("/api/staff/report", params={"days": 1}, auth=STAFF).json()
    assert report["counts"]["thumbs_down"] == 1 and report["counts"]["questions"] == 2
    assert [(g["example"], g["count"], g["down_votes"]) for g in report["rated_down"]["groups"]] == [
        ("What should I wear?", 1, 1)]
    assert report["unanswered"]["groups"] == []


def test_a_changed_thumb_replaces_the_earlier_one_and_keeps_the_comment(client, log):
    wear = ask(client, "What should I wear?").headers["x-ask-id"]
    client.post("/api/feedback", json={"ask_id": wear, "rating": -1, "comment": "too vague"})
    r = client.post("/api/feedback", json={"ask_id": wear, "rating": 1})
    assert r.json() == {"stored": True}
    (row,) = log.rows()
    assert (row["up"], row["down"], row["comments"]) == (1, 0, "too vague")


@pytest.mark.parametrize(
    "body, status, reason",
    [
        ({"ask_id": "A" * 22, "rating": -1}, 404, "No asked question with id AAAA"),
        ({"ask_id": "A" * 22, "rating": 0}, 422, "rating"),
        ({"ask_id": "A" * 22, "rating": 1, "comment": "x" * 501}, 422, "comment"),
        ({"ask_id": "one", "rating": 1}, 422, "ask_id"),
        ({"ask_id": 1, "rating": 1}, 422, "ask_id"),  # a row number is not an ask id
        ({"ask_id": True, "rating": 1}, 422, "ask_id"),
        ({"ask_id": 2**63, "rating": 1}, 422, "ask_id"),
        ({"ask_id": -(2**70), "rating": 1}, 422, "ask_id"),
        ({"ask_id": 1.5, "rating": 1}, 422, "ask_id"),
        ({"ask_id": "A" * 65, "rating": 1}, 422, "ask_id"),
        ({"ask_id": "../../etc/passwd", "rating": 1}, 422, "ask_id"),
        ({"rating": 1}, 422, "ask_id is required"),
    ],
)
def test_bad_feedback_gets_a_one_line_4xx(client, body, status, reason):
    ask(client, "What should I wear?")
    r = client.post("/api/feedback", json=body)
    assert r.status_code == status, r.text
    assert reason in r.json()["error"]


# turning the log off


def test_logging_off_stores_nothing(studio_bot):
    settings = studio_bot.settings.replace(log_questions=False, staff_password=PASSWORD)
    app = create_app(studio_bot, settings)
    client = TestClient(app)
    r = ask(client, "What should I wear?", surface="widget", conversation="abc")
    assert "x-ask-id" not in r.headers
    assert client.post("/api/feedback", json={"ask_id": "A" * 22, "rating": 1}).json() == {"stored": False}
    _, _, conversation = app.state.chat.respond("What should I wear?", [])
    assert conversation.asks == (None,)
    report = client.get("/api/staff/report", auth=STAFF).json()
    assert report["logging"] is False and report["counts"]["questions"] == 0
    assert not (settings.data_dir / DB_NAME).exists()


def test_a_long_running_app_still_forgets_questions_past_the_retention_period(app, client, log, studio_bot):
    log.record(COUPLES, studio_bot.ask(COUPLES), 5.0, "api", now=time.time() - 91 * 86400)
    ask(client, "What should I wear?")
    assert len(log.rows()) == 2  # purged at most once a day
    journal = app.state.chat.journal
    journal._purged -= journal.PURGE_EVERY + 1  # a day later
    ask(client, "What should I wear?")
    assert [r["question"] for r in log.rows()] == ["What should I wear?", "What should I wear?"]


class FullDisk(QuestionLog):
    def record(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")


def test_a_log_that_cannot_be_written_never_stops_an_answer(studio_bot, tmp_path):
    client = TestClient(create_app(studio_bot, studio_bot.settings, FullDisk(tmp_path / DB_NAME)))
    r = ask(client, "What should I wear?")
    assert "loose-fitting" in r.json()["answer"] and "x-ask-id" not in r.headers


# the staff report and CSV


def test_report_groups_unanswered_questions_by_meaning_most_asked_first(client):
    for q in (COUPLES, "Is there a couples room?", "couples room available?", "Where is parking?", "Is parking free?",
              "What should I wear?"):
        ask(client, q)
    ask(client, "I have a herniated disc, can I get a massage?")  # medical: a referral, not a gap in the FAQ
    report = client.get("/api/staff/report", params={"days": 7}, auth=STAFF).json()
    unanswered = report["unanswered"]["groups"]
    assert [(g["count"], g["example"]) for g in unanswered] == [(3, COUPLES), (2, "Where is parking?")]
    assert sorted(unanswered[0]["questions"]) == sorted([COUPLES, "Is there a couples room?", "couples room available?"])
    counts = report["counts"]
    referred = 5 + client.post("/api/ask", json={"question": "I have a herniated disc, can I get a massage?"}).json()[
        "abstained"]  # a referral, or (with the documents' caution) an answer
    assert (counts["questions"], counts["abstentions"], counts["thumbs_up"], counts["thumbs_down"]) == (7, referred, 0, 0)
    assert counts["p50_latency_ms"] > 0
    assert report["problems"] == [] and report["logging"] is True


def test_report_counts_only_the_chosen_period(client, log, studio_bot):
    old = studio_bot.ask(COUPLES)
    log.record(COUPLES, old, 5.0, "api", now=time.time() - 3 * 86400)
    ask(client, "What should I wear?")
    assert client.get("/api/staff/report", params={"days": 1}, auth=STAFF).json()["counts"]["questions"] == 1
    assert client.get("/api/staff/report", params={"days": 7}, auth=STAFF).json()["counts"]["questions"] == 2
    assert client.get("/api/staff/report", params={"days": 0}, auth=STAFF).status_code == 422


def test_the_report_embeds_each_question_once_across_reloads(client, studio_bot, monkeypatch):
    from assistant.studio import VectorCache

    calls: list[list[str]] = []
    encode = studio_bot.embedder.encode
    cache = VectorCache(lambda texts: calls.append(list(texts)) or encode(texts), size=3)
    first = cache.encode(["a room", "parking", "a room"])
    assert calls == [["a room", "parking"]] and first.shape[0] == 3
    assert (first[0] == first[2]).all()
    cache.encode(["parking", "couples", "wear"])  # one over the size: "a room" is forgotten
    cache.encode(["a room", "parking"])
    assert calls == [["a room", "parking"], ["couples", "wear"], ["a room"]]

    ask(client, COUPLES)
    seen: list[list[str]] = []

    class Counting:
        name = "keywords"

        def encode(self, texts):
            seen.append(list(texts))
            return encode(texts)

    monkeypatch.setattr(studio_bot, "embedder", Counting())  # answering keeps its own; the report asks the bot
    first_report = client.get("/api/staff/report", auth=STAFF).json()
    second_report = client.get("/api/staff/report", params={"days": 30}, auth=STAFF).json()
    assert first_report["unanswered"] == second_report["unanswered"] != {"groups": [], "more_groups": 0, "left_out": 0}
    assert seen == []  # its vector was kept in the log when it was answered: the report embeds nothing


def test_csv_export_downloads_the_log(client):
    wear = ask(client, "What should I wear?").headers["x-ask-id"]
    ask(client, "=HYPERLINK(\"http://evil.example\")")  # a formula stays text in a spreadsheet
    client.post("/api/feedback", json={"ask_id": wear, "rating": 1, "comment": "clear"})
    r = client.get("/api/staff/questions.csv", params={"days": 7}, auth=STAFF)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="questions-')
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["question"], row["surface"], row["up"], row["comments"]) for row in rows] == [
        ("What should I wear?", "api", "1", "clear"),
        ("'=HYPERLINK(\"http://evil.example\")", "api", "0", ""),
    ]


@pytest.mark.parametrize("method, path", [("GET", "/api/staff/report"), ("GET", "/api/staff/questions.csv"),
                                          ("POST", "/api/staff/publish")])
def test_report_endpoints_need_the_staff_password(client, method, path):
    r = client.request(method, path, auth=("staff", "wrong"), json={"question": "q", "answer": "a"})
    assert r.status_code == 401
    assert r.json() == {"error": "The staff view needs the staff password"}


# publishing a studio FAQ answer


def test_a_published_answer_is_the_very_next_answer_citing_studio_faq(client, studio_bot, log):
    before = ask(client, COUPLES).json()
    assert before["abstained"] is True
    r = client.post("/api/staff/publish", json={"question": COUPLES, "answer": ANSWER}, auth=STAFF)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["source"], body["question"], body["cited"], body["problems"]) == (FAQ_FILE, COUPLES, True, [])
    assert [(c["phrasing"], c["cited"], c["abstained"]) for c in body["checks"]] == [(COUPLES, True, False)]
    assert ANSWER in body["checks"][0]["answer"]

    after = ask(client, COUPLES).json()  # no restart, no waiting for the watcher
    assert after["abstained"] is False
    assert ANSWER in after["answer"]
    assert (after["citations"][0]["source"], after["citations"][0]["section"]) == (FAQ_FILE, COUPLES)
    text = (studio_bot.settings.corpus_dir / FAQ_FILE).read_text(encoding="utf-8")
    assert text == f"# Studio FAQ\n\n## {COUPLES}\n\n{ANSWER}\n"
    assert len(log.rows()) == 2  # the staff member's check is not a client question


def test_publishing_twice_appends_and_a_repeat_is_refused(client, studio_bot):
    auth = STAFF
    client.post("/api/staff/publish", json={"question": COUPLES, "answer": ANSWER}, auth=auth)
    r = client.post("/api/staff/publish", json={"question": "Is there parking?", "answer": "Yes, free parking behind the studio."},
                    auth=auth)
    assert r.status_code == 200
    text = (studio_bot.settings.corpus_dir / FAQ_FILE).read_text(encoding="utf-8")
    assert text.endswith(f"## {COUPLES}\n\n{ANSWER}\n\n## Is there parking?\n\nYes, free parking behind the studio.\n")
    again = client.post("/api/staff/publish", json={"question": COUPLES.upper(), "answer": "No."}, auth=auth)
    assert again.status_code == 409 and "already answers" in again.json()["error"]


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"question": "  ", "answer": ANSWER}, "Write the question"),
        ({"question": COUPLES, "answer": " \n "}, "can't be empty"),
        ({"question": "x" * 201, "answer": ANSWER}, "keep it under 200"),
        ({"question": COUPLES, "answer": "y" * 2001}, "keep it under 2,000"),
        ({"question": COUPLES, "answer": "<script>alert(1)</script>"}, "HTML markup"),
        ({"question": COUPLES, "answer": "x"}, "needs words"),
    ],
)
def test_publish_validates_the_question_and_answer(client, studio_bot, body, reason):
    r = client.post("/api/staff/publish", json=body, auth=STAFF)
    assert r.status_code == 400 and reason in r.json()["error"]
    assert not (studio_bot.settings.corpus_dir / FAQ_FILE).exists()


def test_publish_refuses_a_request_from_another_site(client, studio_bot):
    """A logged-in staff browser made to post by another site's page (refused by limits.protect for all staff writes)."""
    r = client.post("/api/staff/publish", json={"question": COUPLES, "answer": ANSWER}, auth=STAFF,
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert not (studio_bot.settings.corpus_dir / FAQ_FILE).exists()


def test_a_broken_hand_edit_keeps_the_last_good_index_and_shows_in_the_staff_report(client, studio_bot):
    client.post("/api/staff/publish", json={"question": COUPLES, "answer": ANSWER}, auth=STAFF)
    good = ask(client, COUPLES).json()
    (studio_bot.settings.corpus_dir / FAQ_FILE).write_bytes(b"# Studio FAQ\n\n## Couples?\n\n\xff\xfe broken\n")
    report = client.get("/api/staff/report", auth=STAFF).json()  # the report refreshes, as the watcher would
    (problem,) = report["problems"]
    assert "studio-faq.md is not UTF-8" in problem and "last good index" in problem
    assert ask(client, COUPLES).json() == good  # still serving the last good index
    r = client.post("/api/staff/publish", json={"question": "Is there parking?", "answer": "Yes."}, auth=STAFF)
    assert r.status_code == 400 and "not UTF-8" in r.json()["error"]


def test_staff_page_has_the_report_and_publish_form(client):
    page = client.get("/staff", auth=STAFF).text
    for needle in ('id="groups"', 'id="publish"', 'id="problems"', "/web/staff-report.js", "questions.csv"):
        assert needle in page
    assert "<script>" not in page  # no inline code: the CSP forbids it


# editing published answers over HTTP


def test_staff_edit_and_unpublish_an_entry_with_the_version_they_loaded(client, studio_bot):
    published = client.post("/api/staff/publish", json={"question": COUPLES, "answer": ANSWER,
                                                         "also": ["is there a room for two"]}, auth=STAFF).json()
    assert [c["phrasing"] for c in published["checks"]] == [COUPLES, "is there a room for two"]
    faq = client.get("/api/staff/faq", auth=STAFF).json()
    assert faq["version"] == published["version"]
    assert faq["entries"] == [{"question": COUPLES, "answer": ANSWER, "also": ["is there a room for two"]}]

    r = client.patch("/api/staff/faq", auth=STAFF, json={
        "question": COUPLES, "answer": "Yes, book the couples room by phone.", "remove": ["is there a room for two"],
        "add": ["room for two people?"], "version": faq["version"]})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["entry"] == {"question": COUPLES, "answer": "Yes, book the couples room by phone.",
                               "also": ["room for two people?"]}
    assert "book the couples room by phone" in ask(client, COUPLES).json()["answer"]  # live before it returned

    stale = client.request("DELETE", "/api/staff/faq", auth=STAFF, json={"question": COUPLES, "version": faq["version"]})
    assert stale.status_code == 409 and "changed since you loaded it" in stale.json()["error"]
    gone = client.request("DELETE", "/api/staff/faq", auth=STAFF,
                          json={"question": COUPLES, "version": edited["version"]})
    assert gone.status_code == 200 and gone.json()["entry"] is None
    assert [c["cited"] for c in gone.json()["checks"]] == [False, False]
    assert ask(client, COUPLES).json()["abstained"] is True
    missing = client.patch("/api/staff/faq", auth=STAFF, json={"question": COUPLES, "add": ["room for two"]})
    assert missing.status_code == 404 and "no entry" in missing.json()["error"]


@pytest.mark.parametrize(
    "body, status, reason",
    [
        ({"question": COUPLES, "answer": "a" * 10_000}, 400, "10,000 characters"),
        ({"question": COUPLES, "answer": '<img src=x onerror="alert(1)"<b>>'}, 400, "HTML markup"),
        ({"question": COUPLES, "answer": ANSWER, "also": "not a list"}, 422, "also"),
        ({"question": COUPLES, "answer": ANSWER, "also": [1]}, 422, "also"),
        ({"question": COUPLES, "answer": ANSWER, "extra": 1}, 422, "extra"),
    ],
)
def test_bad_publish_requests_change_nothing(client, studio_bot, body, status, reason):
    r = client.post("/api/staff/publish", json=body, auth=STAFF)
    assert r.status_code == status and reason in r.json()["error"]
    assert not (studio_bot.settings.corpus_dir / FAQ_FILE).exists()
