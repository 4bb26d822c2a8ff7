"""The chat page: a Gradio Blocks built without launching, over plain handler methods tests can call directly.

Every question goes through the Journal (surface "chat"); a thumb on an answer is stored against its ask id."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace

import gradio as gr

from assistant.errors import AssistantError, BadQuestion
from assistant.questionlog import LogError
from assistant.settings import Settings
from assistant.web import markup
from assistant.web.journal import Journal, rating_of

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


FEEDBACK_OPTIONS = ("Like", "Dislike", "Didn't answer my question", "Wrong or out of date")  # extras: thumbs down


def new_conversation_id() -> str:
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class Conversation:
    """One chat session's state: an anonymous id, each turn's ask id (so a thumb finds the answer it rates), and
    the latest rating stored per answer (so clicking the same thumb off and on again isn't sent twice)."""

    id: str = field(default_factory=new_conversation_id)
    asks: tuple[str | None, ...] = ()
    rated: frozenset[tuple[str, int, str]] = frozenset()

    def for_chat(self, turns: int) -> Conversation:
        """This conversation lined up with a chat of `turns` turns; an emptied chat is a new conversation."""
        if turns == 0:
            return Conversation()
        return replace(self, asks=(self.asks + (None,) * turns)[:turns])


class ChatUI:
    def __init__(self, journal: Journal, settings: Settings, concurrency: int = 2) -> None:
        self.journal = journal
        self.settings = settings
        self.concurrency = concurrency

    # handlers: plain methods, no Gradio request context needed

    def respond(
        self, message: str, chat: list | None, conversation: Conversation | None = None
    ) -> tuple[str, list, Conversation]:
        """Answer the typed question; return the cleared textbox, the chat with the question, answer and sources,
        and the conversation with this answer's ask id."""
        chat = markup.clean_chat(chat)  # the client's copy of the chat is data: never hand it back as it came
        turns = markup.history_from_chat(chat)
        conversation = (conversation or Conversation()).for_chat(len(turns))
        if not isinstance(message, str) or not message.strip():
            return "", chat, conversation
        limit = self.settings.max_question_chars
        if len(message) > limit:  # the textbox limit is only enforced in the browser
            raise gr.Error(
                f"That question is {len(message):,} characters long; please keep it under {limit:,}", print_exception=False
            )
        try:
            asked = self.journal.ask(message, turns, surface="chat", conversation=conversation.id)
        except BadQuestion as e:
            raise gr.Error(str(e), title="Please rephrase", print_exception=False) from None
        except AssistantError as e:
            raise gr.Error(str(e), print_exception=False) from None
        conversation = replace(conversation, asks=conversation.asks + (asked.ask_id,))
        return "", chat + [markup.user_message(message)] + markup.reply_messages(asked.reply), conversation

    def pick_example(
        self, chat: list | None, conversation: Conversation | None, selected: gr.SelectData
    ) -> tuple[str, list, Conversation]:
        """A click on an example question asks it straight away."""
        value = selected.value
        text = value.get("text", "") if isinstance(value, dict) else str(value or "")
        return self.respond(text, chat, conversation)

    def like(self, chat: list | None, conversation: Conversation | None, data: gr.LikeData) -> Conversation | None:
        """Thumbs up/down (or a flag option, stored as a thumbs down with that comment) on the answer of one turn."""
        chat = markup.clean_chat(chat)
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        rating = rating_of(data.liked)
        if conversation is None or rating is None or not isinstance(index, int) or not 0 <= index < len(chat):
            return conversation
        turn = len(markup.history_from_chat(chat[: index + 1])) - 1
        ask_id = conversation.asks[turn] if 0 <= turn < len(conversation.asks) else None
        key = (ask_id, *rating)
        if ask_id is None or key in conversation.rated:
            return conversation
        try:
            self.journal.rate(ask_id, *rating)
        except LogError:  # the answer was purged from the log meanwhile: nothing left to rate
            return conversation
        except AssistantError as e:
            gr.Warning(str(e))
            return conversation
        # one rating per answer: a changed thumb replaced the earlier one, so only the latest counts as sent
        return replace(conversation, rated=frozenset(k for k in conversation.rated if k[0] != ask_id) | {key})

    def answer(self, question: str, history: list[list[str]] | None = None) -> dict:
        """Answer a question from the studio's guide, given earlier [question, answer] pairs.
        Returns the same dict as POST /api/ask: answer (markdown with [n] markers), abstained, citations."""
        try:
            return self.journal.ask(question, history or [], surface="api").reply.to_dict()
        except AssistantError as e:
            raise gr.Error(str(e), print_exception=False) from None

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
                feedback_options=FEEDBACK_OPTIONS,
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
            conversation = gr.State(None)  # per browser session, on the server: no cookie
            box.submit(self.respond, [box, chatbot, conversation], [box, chatbot, conversation], api_name="chat")
            chatbot.example_select(
                self.pick_example, [chatbot, conversation], [box, chatbot, conversation], api_visibility="private"
            )
            chatbot.like(self.like, [chatbot, conversation], [conversation], api_visibility="private")
            gr.api(self.answer, api_name=API_NAME)
        demo.queue(default_concurrency_limit=self.concurrency, max_size=self.settings.max_waiting)  # full: 503
        return demo
