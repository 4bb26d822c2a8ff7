"""The chat page and the widget in Debian's Chromium, fed every typeable hostile input: each is shown as the text it
is, nothing in it becomes a live element, no script runs, the page's CSP refuses nothing of the app's own, and every
question gets an answer bubble. Also: the Unicode staff password works from a real browser."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest
from chromium import Watch, launched
from hostile import CASES
from playwright.sync_api import Browser, Page, expect
from servers import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]
expect.set_options(timeout=20_000)  # CI shares two cores with the model

TYPED = [c for c in CASES if c.typed and not c.refused]


def squash(text: str) -> str:
    """The text without whitespace and invisible format characters (zero-width spaces, direction marks)."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


LIVE = "img, script, iframe, a, object, embed, svg, video, audio"  # nothing a question could smuggle in


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture
def page(browser, live) -> Iterator[Page]:
    """A page whose requests may go to the server only, and whose CSP refusals and script errors are collected."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    watch = Watch()
    watch.attach(context)
    page = context.new_page()
    page.problems = watch.problems  # type: ignore[attr-defined]
    yield page
    context.close()
    watch.check()


def test_the_chat_page_shows_every_hostile_question_as_text(page, live):
    page.goto(f"{live.url}/")
    box = page.locator("#question textarea")
    expect(box).to_be_visible()
    for n, case in enumerate(TYPED):
        bots = page.locator('[data-testid="bot"]').count()
        box.fill(case.question)
        box.press("Enter")
        expect(page.locator('[data-testid="user"]')).to_have_count(n + 1)
        expect(page.locator('[data-testid="bot"]')).not_to_have_count(bots)  # an answer or an abstention came
        question = page.locator('[data-testid="user"]').nth(n)
        assert squash(case.question) in squash(question.inner_text()), case.label  # every character, as text
        assert question.locator(LIVE).count() == 0, case.label
    assert page.evaluate("window.__x") is None  # no script ran
    assert page.locator('[data-testid="bot"] :is(img, script, iframe, object, embed)').count() == 0
    assert page.locator(".toast-body").count() == 0  # replies, not errors


def test_the_widget_shows_every_hostile_question_as_text(page, live):
    page.goto(f"{live.url}/widget")
    box = page.locator("#question")
    expect(box).to_be_visible()
    for n, case in enumerate(TYPED):
        box.fill(case.question)
        box.press("Enter")
        expect(page.locator(".msg.user")).to_have_count(n + 1)
        expect(page.locator(".msg.bot:not(.welcome):not(.waiting)")).to_have_count(n + 1)
        message = page.locator(".msg.user").nth(n)
        assert squash(case.question) in squash(message.text_content()), case.label
        assert message.locator(LIVE).count() == 0, case.label
    assert page.evaluate("window.__x") is None


def test_a_unicode_staff_password_works_from_chromium(browser, live):
    context = browser.new_context(http_credentials={"username": "staff", "password": PASSWORD})
    try:
        page = context.new_page()
        response = page.goto(f"{live.url}/staff")
        assert response.status == 200
        expect(page.get_by_role("heading", name="Staff view")).to_be_visible()
    finally:
        context.close()


def test_the_gradio_api_page_runs_under_the_csp(page, live):
    """The chat page's "Use via API" view loads its own scripts too; the fixture fails on any CSP refusal."""
    page.goto(f"{live.url}/")
    page.get_by_role("button", name="Use via API").click()
    expect(page.get_by_text("/ask").first).to_be_visible()
    expect(page.get_by_text("/chat").first).to_be_visible()
