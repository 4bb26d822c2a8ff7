"""The chat page: a Gradio Blocks built without launching, over plain handler methods tests can call directly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from assistant.errors import AssistantError, BadQuestion
from assistant.settings import Settings
from assistant.web import markup
from assistant.web.gate import Answerer

log = logging.getLogger("assistant.feedback")

EXAMPLES = (
    "What should I wear?",
    "What is trigger point therapy?",
    "Is there research on massage for back pain?",
    "Does a back massage help me sleep?",
)
WELCOME = (
    "### Hello! Ask me about massage.\n"
    "I answer from our studio's guide and show where each answer comes from. "
    "For prices, bookings or your own health, our team is the one to ask."
)
API_NAME = "ask"  # documented in docs/api.md
CSS = """
#title h2 { margin: 0; }
#chat .prose blockquote { margin: .25em 0; }
#chat .bot .message:has(h4) { background: #fff8e8; border-color: #f0d9a0; }
#chat .bot .message h4 { margin: 0 0 .4em; color: #7a5a12; }
"""


@dataclass(frozen=True)
class Feedback:
    """A thumbs up or down on one answer. Storing it is another module's job; here it reaches the hook."""

    question: str
    answer: str
    liked: bool | str
    index: int


def log_feedback(feedback: Feedback) -> None:
    log.info("feedback liked=%s question=%r", feedback.liked, feedback.question)


class ChatUI:
    def __init__(
        self,
        bot: Answerer,
        settings: Settings,
        feedback: Callable[[Feedback], None] = log_feedback,
        concurrency: int = 2,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.feedback = feedback
        self.concurrency = concurrency

    # handlers: plain methods, no Gradio request context needed

    def respond(self, message: str, chat: list | None) -> tuple[str, list]:
        """Answer the typed question; return the cleared textbox and the chat with the question, answer and sources."""
        chat = list(chat or [])
        if not isinstance(message, str) or not message.strip():
            return "", chat
        limit = self.settings.max_question_chars
        if len(message) > limit:  # the textbox limit is only enforced in the browser
            raise gr.Error(f"That question is {len(message):,} characters long; please keep it under {limit:,}")
        try:
            reply = self.bot.ask(message, markup.history_from_chat(chat))
        except BadQuestion as e:
            raise gr.Error(str(e), title="Please rephrase") from None
        except AssistantError as e:
            raise gr.Error(str(e)) from None
        return "", chat + [markup.user_message(message)] + markup.reply_messages(reply)

    def pick_example(self, chat: list | None, selected: gr.SelectData) -> tuple[str, list]:
        """A click on an example question asks it straight away."""
        value = selected.value
        text = value.get("text", "") if isinstance(value, dict) else str(value or "")
        return self.respond(text, chat)

    def like(self, chat: list | None, data: gr.LikeData) -> None:
        """Thumbs up/down: find the answer and its question, then hand them to the feedback hook."""
        chat = list(chat or [])
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        if not isinstance(index, int) or not 0 <= index < len(chat):
            return
        turns = markup.history_from_chat(chat[: index + 1])
        if not turns:
            return
        question, answer = turns[-1]
        self.feedback(Feedback(question=question, answer=answer, liked=data.liked, index=index))

    def answer(self, question: str, history: list[list[str]] | None = None) -> dict:
        """Answer a question from the studio's guide, given earlier [question, answer] pairs.
        Returns the same dict as POST /api/ask: answer (markdown with [n] markers), abstained, citations."""
        try:
            return self.bot.ask(question, history or []).to_dict()
        except AssistantError as e:
            raise gr.Error(str(e)) from None

    # layout

    def build(self) -> gr.Blocks:
        limit = self.settings.max_question_chars
        with gr.Blocks(title="Massage studio assistant", analytics_enabled=False, fill_height=True) as demo:
            gr.Markdown("## Ask our massage guide", elem_id="title")
            chatbot = gr.Chatbot(
                label="Massage guide assistant",
                elem_id="chat",
                placeholder=WELCOME,
                examples=[{"text": q} for q in EXAMPLES],
                buttons=["copy", "copy_all"],  # no "share": it posts to an outside hub
                sanitize_html=True,
                allow_tags=False,
                latex_delimiters=[],
                feedback_options=("Like", "Dislike"),
                layout="bubble",
                scale=1,
                height="70vh",
            )
            box = gr.Textbox(
                placeholder="Ask about massage, e.g. What should I wear?",
                show_label=False,
                max_length=limit,
                submit_btn="Ask",
                elem_id="question",
                autofocus=True,
            )
            box.submit(self.respond, [box, chatbot], [box, chatbot], api_name="chat")
            chatbot.example_select(self.pick_example, [chatbot], [box, chatbot], api_visibility="private")
            chatbot.like(self.like, [chatbot], None, api_visibility="private")
            gr.api(self.answer, api_name=API_NAME)
        demo.queue(default_concurrency_limit=self.concurrency)
        return demo
