"""ChatUI handlers called directly with a stub bot: no server, no browser."""

from __future__ import annotations

import gradio as gr
import pytest

from assistant import Settings
from assistant.web.chat import API_NAME, ChatUI, Feedback


@pytest.fixture
def feedback() -> list[Feedback]:
    return []


@pytest.fixture
def ui(stub, feedback) -> ChatUI:
    return ChatUI(stub, Settings(max_question_chars=50), feedback=feedback.append)


def test_answer_shows_question_answer_and_sources(ui, stub):
    box, chat = ui.respond("What should I wear?", [])
    assert box == ""
    assert [m["role"] for m in chat] == ["user", "assistant", "assistant"]
    assert chat[0]["content"] == r"What should I wear\?"
    assert "loose-fitting" in chat[1]["content"]
    assert chat[2]["metadata"]["title"] == "Sources"
    assert "9\\. Massage Therapy" in chat[2]["content"]
    assert stub.asked == [("What should I wear?", [])]


def test_follow_up_sends_earlier_turns_without_sources(ui, stub):
    _, chat = ui.respond("What should I wear?", [])
    ui.respond("And for shiatsu?", chat)
    assert stub.asked[-1] == ("And for shiatsu?", [("What should I wear?", "Thinner, loose-fitting clothing is best. [1]")])


def test_abstention_is_a_styled_answer_not_an_error(ui):
    _, chat = ui.respond("how much does it cost?", [])
    assert chat[-1]["content"].startswith("#### Not something our guide covers")
    assert "555-0100" in chat[-1]["content"]


def test_too_long_question_is_refused_in_the_handler(ui, stub):
    with pytest.raises(gr.Error, match="51 characters long; please keep it under 50"):
        ui.respond("x" * 51, [])
    assert stub.asked == []


@pytest.mark.parametrize("message", ["", "   ", None])
def test_empty_message_changes_nothing(ui, stub, message):
    chat = [{"role": "user", "content": "Hi"}]
    assert ui.respond(message, chat) == ("", chat)
    assert stub.asked == []


def test_bad_question_from_the_engine_becomes_a_chat_error(ui):
    class Refuses:
        def ask(self, question, history=None):
            from assistant import BadQuestion

            raise BadQuestion("That is not a question")

    ui.bot = Refuses()
    with pytest.raises(gr.Error, match="That is not a question"):
        ui.respond("hm", [])


def test_example_click_asks_it(ui, stub):
    selected = gr.SelectData(None, {"index": 0, "value": {"text": "What should I wear?"}})
    _, chat = ui.pick_example([], selected)
    assert stub.asked[0][0] == "What should I wear?"
    assert len(chat) == 3


@pytest.mark.parametrize("index", [1, 2, [2, 0]])  # the answer, its sources, or a grouped index
def test_thumbs_reach_the_feedback_hook_with_question_and_answer(ui, feedback, index):
    _, chat = ui.respond("What should I wear?", [])
    ui.like(chat, gr.LikeData(None, {"index": index, "value": "…", "liked": False}))
    (given,) = feedback
    assert given.question == "What should I wear?"
    assert given.answer == "Thinner, loose-fitting clothing is best. [1]"
    assert given.liked is False


def test_thumbs_out_of_range_are_ignored(ui, feedback):
    ui.like([], gr.LikeData(None, {"index": 5, "value": "x", "liked": True}))
    assert feedback == []


def test_api_function_returns_the_reply_dict(ui, stub):
    result = ui.answer("What should I wear?", [["Hi", "Hello"]])
    assert set(result) == {"answer", "abstained", "citations"}
    assert stub.asked == [("What should I wear?", [("Hi", "Hello")])]


def test_blocks_wire_the_documented_api_names_and_no_share_button(ui):
    demo = ui.build()
    config = demo.get_config_file()
    names = {d["api_name"] for d in config["dependencies"] if d.get("api_visibility", "public") == "public"}
    assert {API_NAME, "chat"} <= names
    chatbot = next(c for c in config["components"] if c["type"] == "chatbot")
    assert chatbot["props"]["buttons"] == ["copy", "copy_all"]
    assert chatbot["props"]["sanitize_html"] is True
    assert chatbot["props"]["latex_delimiters"] == []
    assert {"text": "What should I wear?"} in chatbot["props"]["examples"]
