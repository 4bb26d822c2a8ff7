"""What a person sees, in Debian's Chromium driven by Playwright, against the real server and model.

Every page's requests are recorded; any to a host other than 127.0.0.1 is blocked and fails the test.
Screenshots go to tests/artifacts/ (git-ignored); UPDATE_SCREENSHOTS=1 writes the README's pictures in
docs/screenshots/ instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from chromium import Watch, launched
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import Error as BrowserError

pytestmark = [pytest.mark.browser, pytest.mark.model]
expect.set_options(timeout=15_000)  # generous: CI shares two cores with the model

CONTACT = "Call the studio on 555-0100."  # conftest starts the server with this MASSAGE_CONTACT
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "tests/artifacts")
COUPLES = "Do you have a couples room?"
COUPLES_ANSWER = "Yes, our couples room fits two massage tables side by side."
HOSTILE = '<script>window.__x=1</script> <img src=x onerror="window.__x=1"> ![i](http://example.com/a.png)'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture
def open_context(browser) -> Iterator[Callable[..., BrowserContext]]:
    """New browser contexts whose every request is recorded; anything not on 127.0.0.1 is blocked.
    Script errors and Content-Security-Policy refusals fail the test too."""
    contexts: list[BrowserContext] = []
    watch = Watch()

    def make(**options) -> BrowserContext:
        context = browser.new_context(**{"viewport": {"width": 1100, "height": 800}, **options})
        watch.attach(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    watch.check()


def chat_page(open_context, server, **options) -> Page:
    page = open_context(**options).new_page()
    page.goto(f"{server.url}/")
    expect(page.locator("#question textarea")).to_be_visible()
    return page


def ask(page: Page, question: str) -> None:
    box = page.locator("#question textarea")
    before = page.locator('[data-testid="bot"]').count()
    box.fill(question)
    box.press("Enter")
    expect(page.locator('[data-testid="bot"]')).not_to_have_count(before, timeout=20_000)


def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / name, full_page=full_page)


def eventually(read: Callable[[], list], timeout: float = 10.0) -> list:
    """Poll the server's question log until `read` finds rows (a thumb is stored after the click returns)."""
    deadline = time.monotonic() + timeout
    while not (rows := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return rows


def ratings(server, question: str) -> list[tuple]:
    """(surface, conversation, rating, comment) of every thumb on answers to `question`."""
    return server.query(
        "SELECT a.surface, a.conversation, f.rating, f.comment FROM feedback f JOIN asks a ON a.id = f.ask_id "
        "WHERE a.question = ? ORDER BY f.id",
        (question,),
    )


def open_widget(page: Page, server):
    """The studio page with the widget opened; returns its chat frame once its script is ready."""
    page.goto(f"{server.examples_url}/studio-page.html")
    bubble = page.get_by_role("button", name="Ask our massage guide")
    bubble.click()
    expect(bubble).to_have_attribute("aria-expanded", "true")
    chat = page.frame_locator("iframe.massage-assistant-frame")
    expect(chat.get_by_role("button", name="Ask", exact=True)).to_be_enabled()  # before that, Enter does nothing
    return chat


WIDGET_ANSWERS = ".msg.bot:not(.welcome):not(.waiting)"  # the widget's answer bubbles


def ask_widget(chat, question: str) -> None:
    box = chat.locator("#question")
    box.fill(question)
    box.press("Enter")


def last_answer(page: Page):
    """The last bubble of plain answer text (not a Sources block)."""
    return page.locator('.bot-row .message:not(.thought) > [data-testid="bot"]').last


def test_chat_answers_with_a_visible_source(open_context, server):
    page = chat_page(open_context, server)
    expect(page.get_by_text("Hello! Ask me about massage.")).to_be_visible()
    ask(page, "What should I wear?")
    expect(last_answer(page)).to_contain_text("loose-fitting")
    sources = page.get_by_text("Sources", exact=True).last
    expect(sources).to_be_visible()
    sources.click()
    expect(page.get_by_text("What to expect at your first back massage").last).to_be_visible()
    expect(page.locator(".thought blockquote").last).to_contain_text("loose-fitting clothing")

    ask(page, "Is there research on massage for back pain?")  # for the README's picture: studies cited
    expect(last_answer(page)).to_contain_text("Studies cited")
    page.get_by_text("Sources", exact=True).last.click()
    expect(page.locator(".thought").last).to_contain_text("Studies:")
    page.wait_for_timeout(400)  # let the accordion finish opening
    screenshot(page, "chat.png")


def test_example_click_then_follow_up_uses_the_conversation(open_context, server):
    page = chat_page(open_context, server)
    page.get_by_text("What should I wear?", exact=True).first.click()
    expect(last_answer(page)).to_contain_text("loose-fitting")
    ask(page, "Can massage help me sleep?")
    expect(last_answer(page)).to_contain_text("sleep")
    ask(page, "Is there research on that?")  # alone, "that" means nothing: the guide has no answer
    answer = last_answer(page)
    expect(answer).to_contain_text("sleep")
    expect(answer).not_to_contain_text("Not something our guide covers")


def test_thumbs_down_in_the_chat_reaches_the_question_log(open_context, server):
    page = chat_page(open_context, server)
    ask(page, "What is trigger point therapy?")
    expect(last_answer(page)).to_contain_text("Trigger point")
    page.get_by_role("button", name="Dislike").last.click()
    rows = eventually(lambda: ratings(server, "What is trigger point therapy?"))
    assert [(surface, rating) for surface, _, rating, _ in rows] == [("chat", -1)]
    assert len(rows[0][1]) >= 16  # the session's anonymous conversation id


def test_out_of_scope_question_gets_the_abstention_with_contact_line(open_context, server):
    page = chat_page(open_context, server)
    ask(page, "how much does a massage cost?")
    answer = last_answer(page)
    expect(answer).to_contain_text("Not something our guide covers")
    expect(answer).to_contain_text(CONTACT)
    expect(page.locator(".toast-body")).to_have_count(0)  # a reply, not an error


def test_markup_in_a_question_is_shown_as_text_and_never_runs(open_context, server):
    page = chat_page(open_context, server)
    ask(page, HOSTILE)
    question = page.locator('[data-testid="user"]').last
    expect(question).to_contain_text('<script>window.__x=1</script> <img src=x onerror="window.__x=1">')
    expect(question).to_contain_text("![i](http://example.com/a.png)")
    assert question.locator("img, script, a").count() == 0
    assert page.evaluate("window.__x") is None


def test_phone_sized_viewport(open_context, server):
    page = chat_page(open_context, server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    ask(page, "What should I wear?")
    expect(last_answer(page)).to_be_in_viewport()
    expect(page.locator("#question textarea")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_widget_on_the_studio_page_answers_with_a_source(open_context, server):
    page = open_context().new_page()
    chat = open_widget(page, server)
    ask_widget(chat, "What should I wear?")
    answer = chat.locator(WIDGET_ANSWERS).last
    expect(answer).to_contain_text("loose-fitting")
    answer.locator("summary").click()
    expect(answer.locator(".sources blockquote").first).to_be_visible()
    expect(answer.locator(".sources .section").first).to_contain_text("What to expect")
    page.wait_for_timeout(200)
    screenshot(page, "widget.png")

    ask_widget(chat, HOSTILE)
    expect(chat.locator(".msg.user").last).to_have_text(HOSTILE)
    expect(chat.locator(WIDGET_ANSWERS)).to_have_count(2)
    assert chat.locator(".log img, .log script").count() == 0
    frame = next(f for f in page.frames if f.url.endswith("/widget"))
    assert frame.evaluate("window.__x") is None


def test_thumbs_in_the_widget_reach_the_question_log_with_a_comment(open_context, server):
    page = open_context().new_page()
    chat = open_widget(page, server)
    ask_widget(chat, "What is shiatsu?")
    answer = chat.locator(WIDGET_ANSWERS).last
    expect(answer).to_contain_text("Shiatsu")
    answer.get_by_role("button", name="Not helpful").click()
    answer.get_by_placeholder("What was missing? (optional)").fill("How long a session lasts")
    answer.get_by_role("button", name="Send").click()
    expect(answer.locator(".rate")).to_have_text("Thank you for the feedback.")
    ask_widget(chat, "What should I wear for shiatsu?")
    second = chat.locator(WIDGET_ANSWERS).nth(1)
    second.get_by_role("button", name="Helpful", exact=True).click()
    expect(second.locator(".rate")).to_have_text("Thank you for the feedback.")

    (down,) = eventually(lambda: ratings(server, "What is shiatsu?"))
    (up,) = eventually(lambda: ratings(server, "What should I wear for shiatsu?"))
    assert (down[0], down[2], down[3]) == ("widget", -1, "How long a session lasts")
    assert (up[0], up[2], up[3]) == ("widget", 1, "")
    assert len(down[1]) == 24 and down[1] == up[1]  # one random conversation id for the open widget


def test_widget_can_be_closed(open_context, server):
    page = open_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    page.goto(f"{server.examples_url}/studio-page.html")
    page.get_by_role("button", name="Ask our massage guide").click()
    panel = page.get_by_role("dialog", name="Ask our massage guide")
    expect(panel).to_be_visible()
    expect(panel).to_be_in_viewport()
    page.get_by_role("button", name="Close").click()
    expect(panel).to_be_hidden()


def test_staff_view_refuses_without_the_password(open_context, server):
    for credentials in (None, {"username": "staff", "password": "guess"}):
        page = open_context(http_credentials=credentials).new_page()
        try:  # with nothing to offer, Chromium drops the page; with a wrong password it shows our 401 text
            response = page.goto(f"{server.url}/staff")
        except BrowserError as e:
            assert "ERR_INVALID_AUTH_CREDENTIALS" in str(e)
        else:
            assert response.status == 401
            expect(page.get_by_text("The staff view needs the staff password")).to_be_visible()
        expect(page.get_by_role("heading", name="Staff view")).to_have_count(0)
        response = page.request.get(f"{server.url}/api/staff/search?q=wear")
        assert response.status == 401
        assert response.json() == {"error": "The staff view needs the staff password"}


def test_staff_view_works_with_the_password(open_context, server):
    context = open_context(http_credentials={"username": "staff", "password": server.password})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    assert page.goto(f"{server.url}/staff").status == 200
    page.get_by_label("Client question").fill("What should I wear?")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#answer")).to_contain_text("loose-fitting")
    rows = page.locator("#passages tr")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("What to expect at your first back massage")
    page.get_by_role("button", name="Copy answer").click()
    expect(page.locator("#status")).to_have_text("Answer copied.")
    assert "loose-fitting" in page.evaluate("navigator.clipboard.readText()")


def test_nothing_but_127_0_0_1_is_contacted(open_context, server):
    """The fixture blocks and reports any other host; here we also check the page really loaded and answered."""
    page = chat_page(open_context, server)
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    page.reload()
    ask(page, "What should I wear?")
    expect(last_answer(page)).to_contain_text("loose-fitting")
    assert hosts == {urlsplit(server.url).netloc}


def test_staff_answers_a_group_with_all_its_wordings_and_a_client_then_gets_it(open_context, server):
    client = chat_page(open_context, server)
    ask(client, COUPLES)
    expect(last_answer(client)).to_contain_text("Not something our guide covers")
    ask(client, "is there a room for couples")  # another wording of the same question

    staff = open_context(http_credentials={"username": "staff", "password": server.password}).new_page()
    assert staff.goto(f"{server.url}/staff").status == 200
    # the trend chart: inline SVG, today's bar has the referred questions
    chart = staff.locator("#trend-svg")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.referred").last).to_be_visible()
    today = chart.locator("g.day").last
    expect(today.locator("title")).to_contain_text("referred")
    assert staff.evaluate("document.querySelector('#trend-svg').getBoundingClientRect().height") > 50

    group = staff.locator('[data-section="unanswered"] tr', has_text=COUPLES)
    expect(group).to_be_visible()
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Download the log (CSV)").click()
    assert download.value.suggested_filename.endswith("-7d.csv")
    log = Path(download.value.path()).read_text(encoding="utf-8")
    assert log.startswith("id,time,conversation,surface,question,") and f",chat,{COUPLES}," in log
    group.get_by_role("button", name="Answer this group").click()
    expect(staff.get_by_label("Question", exact=True)).to_have_value(COUPLES)
    expect(staff.locator("#faq-also")).to_have_value("is there a room for couples")

    # markup is refused with a message, shown as text, never run; nothing is published
    staff.get_by_label("Answer", exact=True).fill(HOSTILE)
    staff.get_by_role("button", name="Publish answer").click()
    expect(staff.locator("#publish-status")).to_contain_text("plain text")
    assert staff.evaluate("window.__x") is None
    assert not (server.corpus_dir / "studio-faq.md").exists()

    staff.get_by_label("Answer", exact=True).fill(COUPLES_ANSWER)
    staff.get_by_role("button", name="Publish answer").click()
    expect(staff.locator("#publish-status")).to_contain_text("Published to studio-faq.md", timeout=60_000)
    checks = staff.locator("#published-checks li")
    expect(checks).to_have_count(2)
    expect(checks.first).to_contain_text("couples room fits two massage tables")
    expect(staff.locator(".entry", has_text=COUPLES)).to_contain_text("is there a room for couples")
    screenshot(staff, "staff.png", full_page=True)
    assert "- is there a room for couples" in (server.corpus_dir / "studio-faq.md").read_text(encoding="utf-8")

    ask(client, COUPLES)  # the same client, the very next question: no restart
    answer = last_answer(client)
    expect(answer).to_contain_text("couples room fits two massage tables")
    client.get_by_text("Sources", exact=True).last.click()
    expect(client.locator(".thought").last).to_contain_text(COUPLES)  # the FAQ heading is the cited section

    # staff remove the extra wording from the published entry: live when the request returns
    entry = staff.locator(".entry", has_text=COUPLES)
    entry.get_by_role("button", name="Remove").click()
    expect(staff.locator("#faq-status")).to_contain_text("Saved")
    expect(staff.locator(".entry", has_text=COUPLES).get_by_role("button", name="Remove")).to_have_count(0)
    assert "Also asked as" not in (server.corpus_dir / "studio-faq.md").read_text(encoding="utf-8")

    # a broken hand edit: the staff view says so, clients keep the last good answer
    faq = server.corpus_dir / "studio-faq.md"
    good = faq.read_bytes()
    faq.write_bytes(good + b"\n## Broken\n\n\xff\xfe\n")
    try:
        staff.reload()
        expect(staff.locator("#problems")).to_be_visible()
        expect(staff.locator("#problem-list")).to_contain_text("studio-faq.md is not UTF-8")
        ask(client, COUPLES)
        expect(last_answer(client)).to_contain_text("couples room fits two massage tables")
    finally:
        faq.write_bytes(good)
    staff.reload()
    expect(staff.locator("#problems")).to_be_hidden()
