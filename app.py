"""Run the massage-studio assistant: chat page, JSON API, widget and staff view in one process.

    python app.py [--host H] [--port P]        (or: make run)
"""

from __future__ import annotations

import argparse
import logging
import sys

from assistant.settings import Settings  # light: no torch, no gradio


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve the assistant: chat at /, JSON API at /api/, widget at /widget.js, staff view at /staff.",
        epilog="Configuration comes from MASSAGE_* environment variables (e.g. MASSAGE_STAFF_PASSWORD, "
        "MASSAGE_ALLOWED_ORIGINS); flags override them.",
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1, only this machine)")
    parser.add_argument("--port", type=int, help="port to listen on (default 7860)")
    return parser.parse_args(argv)


def browser_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env(host=args.host, port=args.port)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    url = browser_url(settings.host, settings.port)
    print(f"Open {url} in your browser (staff view: {url}staff, API docs: {url}api/docs)", flush=True)

    import uvicorn

    from assistant import Assistant, AssistantError
    from assistant.web import create_app
    from assistant.web.door import Networks, default_hosts

    if not settings.allowed_hosts:  # a page on another name that resolves here (DNS rebinding) gets 400
        settings = settings.replace(allowed_hosts=default_hosts(settings.host, settings.port))
    try:
        Networks(settings.trusted_proxies)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    try:
        bot = Assistant.load(settings=settings)
        bot.ask("What should I wear?")  # warm up the model so the first visitor doesn't wait
        # opens the question log in settings.data_dir; the chat page is built once the server is up (the API
        # answers meanwhile, / says the chat is starting) and logs a line when it is ready
        app = create_app(bot, settings, chat="later")
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    bot.watch()  # corpus edits go live without a restart
    if settings.staff_password:  # embed logged questions in the background, so the first report needn't
        app.state.studio.keep_warm()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    questions = app.state.questions.path
    print(f"Question log: {questions}" if questions else "Question log: off (MASSAGE_LOG_QUESTIONS=0)", flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level="info",
        timeout_graceful_shutdown=2,
        # forwarded headers are the app's call (door.Door, MASSAGE_TRUSTED_PROXIES), not uvicorn's: by default
        # uvicorn believes X-Forwarded-For from 127.0.0.1, which lets any local process pick its address
        proxy_headers=False,
        forwarded_allow_ips="",
        timeout_keep_alive=5,  # an idle keep-alive connection is closed after 5 s
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers: 16 KB at most
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
