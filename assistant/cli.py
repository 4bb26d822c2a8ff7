"""`massage-assistant`: ask a question, build the index, run the evaluation, or do staff work (report, publish)
from a terminal.

A thin adapter over `Assistant`. The engine (numpy, FAISS, the model) is imported inside the
command functions, so `--help` and argument errors stay fast. Library errors become one line on
stderr and an exit code: 2 for bad input, 1 for anything else. Never a traceback for those.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from assistant.errors import AssistantError, BadQuestion
from assistant.settings import ENV_PREFIX, Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class InputError(Exception):
    """A command-line argument can't be used (unreadable file, malformed JSON)."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (BadQuestion, InputError) as e:
        return _fail(e, EXIT_BAD_INPUT)
    except AssistantError as e:
        return _fail(e, EXIT_FAILED)
    except ValueError as e:  # a MASSAGE_* environment variable that doesn't parse
        if str(e).startswith(ENV_PREFIX):
            return _fail(e, EXIT_BAD_INPUT)
        raise
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    # Global options work before or after the subcommand: the subparsers repeat them with
    # SUPPRESS defaults, so a value given after the subcommand wins and an absent one doesn't erase it.
    common = argparse.ArgumentParser(add_help=False)
    _add_globals(common, default=argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog="massage-assistant",
        description="Grounded, cited answers from the studio's documents.",
        epilog=f"Settings also come from {ENV_PREFIX}* environment variables (e.g. {ENV_PREFIX}CONTACT); flags win.",
    )
    _add_globals(parser, default=None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", parents=[common], help="answer one question, with numbered sources")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print the reply as JSON (answer, abstained, citations)")
    ask.add_argument(
        "--history-json",
        metavar="JSON|FILE",
        help='earlier turns as a JSON list of [question, answer] pairs, oldest first: inline, a file, or "-" for stdin',
    )
    ask.set_defaults(run=cmd_ask)

    build = commands.add_parser("build", parents=[common], help="build the index, or refresh it if it is stale")
    build.add_argument("--force", action="store_true", help="rebuild even when the saved index matches")
    build.set_defaults(run=cmd_build)

    evaluate = commands.add_parser(
        "eval",
        parents=[common],
        help="score the assistant on dev corpora (eval/corpora/*) or one JSONL question set",
        description="Score one corpus (CORPUS_DIR QUESTIONS, a dev corpus folder, or QUESTIONS over --corpus), "
        "or every dev corpus with --all.",
    )
    evaluate.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH",
        help="[CORPUS_DIR] QUESTIONS, or a folder holding corpus/ and questions.jsonl",
    )
    evaluate.add_argument("--all", action="store_true", help="every dev corpus in eval/corpora, one row each")
    evaluate.add_argument(
        "--loco", action="store_true",
        help="with --all: also tune the calibrated settings on all corpora but one and score the held-out one",
    )
    evaluate.add_argument("--failures", action="store_true", help="with --all: list each corpus's failing cases")
    evaluate.add_argument("--json", action="store_true", help="print the metrics and failures as JSON")
    evaluate.set_defaults(run=cmd_eval)

    report = commands.add_parser("report", parents=[common], help="what clients asked: groups to act on, per day")
    report.add_argument("--days", type=_days, default=7, metavar="N", help="the last N days (default 7)")
    report.add_argument("--csv", type=Path, metavar="FILE", help="also write the question log of the period as CSV")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.set_defaults(run=cmd_report)

    publish = commands.add_parser(
        "publish", parents=[common], help="answer a question for every client (corpus/studio-faq.md)"
    )
    publish.add_argument("question", help="the question, as the entry's heading")
    publish.add_argument("answer", help="the answer, plain text")
    publish.add_argument("--also", action="append", default=[], metavar="PHRASING",
                         help="another wording clients use (repeat for more)")
    publish.set_defaults(run=cmd_publish)
    return parser


def _days(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 3650:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days from 1 to 3650")
    return int(value)


def _add_globals(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--corpus", type=Path, metavar="DIR", default=default, help="folder of .md/.txt documents")
    parser.add_argument("--index", type=Path, metavar="DIR", default=default, help="folder for the built index")
    parser.add_argument(
        "--model", metavar="NAME_OR_PATH", default=default, help="local sentence-transformers model (default: packaged)"
    )


# --- commands ---------------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace) -> int:
    history = read_history(args.history_json) if args.history_json else []
    bot = _load(args)
    reply = bot.ask(args.question, history)
    if args.json:
        print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_reply(reply))
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    bot = _load(args, rebuild=args.force)
    info = bot.info()
    sources = info["sources"]
    print(f"Index ready: {info['passages']} passages from {len(sources)} file(s): {', '.join(sources)}")
    print(f"Model:       {info['model']}")
    print(f"Written to:  {info['index']} (built {info['built_at']}, {info['index_kind']})")
    return EXIT_FAILED if info["problems"] else EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant import evaluate

    if args.all or args.loco:
        if args.paths:
            raise InputError("--all runs every corpus in eval/corpora; drop the paths, or drop --all")
        return _eval_all(args)
    if len(args.paths) == 2:
        corpus_dir, questions = args.paths
        where = corpus_dir.absolute()
        corpus = evaluate.DevCorpus(where.parent.name if where.name == "corpus" else where.name, corpus_dir, questions)
    elif len(args.paths) == 1 and args.paths[0].is_dir():
        folder = args.paths[0]
        corpus = evaluate.DevCorpus(folder.absolute().name, folder / "corpus", folder / "questions.jsonl")
    elif len(args.paths) == 1:  # a question set over --corpus (or the shipped corpus), as before
        return _eval_one(args, _read_cases(args.paths[0]), _load(args))
    else:
        raise InputError("eval needs CORPUS_DIR QUESTIONS, a dev corpus folder, or --all")
    if not corpus.corpus_dir.is_dir():
        raise InputError(f"{corpus.corpus_dir} is not a folder; pass the corpus folder first, then the questions")
    cases = _read_cases(corpus.questions)
    settings = Settings.from_env(model=args.model)
    bot = evaluate.load_bot(corpus, settings, _eval_index(args, corpus.name), evaluate.make_embedder(settings))
    for problem in bot.index.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return _eval_one(args, cases, bot)


def _read_cases(path: Path):
    from assistant.evaluate import load_cases

    if not path.is_file():
        raise InputError(f"{path} is not a file; pass a JSONL question set such as eval/corpora/guide/questions.jsonl")
    try:
        cases = load_cases(path)
    except AssistantError as e:
        raise InputError(str(e)) from None
    if not cases:
        raise InputError(f"{path} has no cases; add one JSON object per line")
    return cases


def _eval_index(args: argparse.Namespace, name: str) -> Path:
    """Dev corpora get their own index folders, so the served index is never rebuilt for them."""
    return (args.index or Settings.from_env().index_dir) / "eval" / name


def _eval_one(args: argparse.Namespace, cases, bot) -> int:
    from assistant.evaluate import format_report, run

    metrics = run(bot, cases)
    if args.json:
        print(json.dumps(_json_safe(metrics), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(format_report(metrics))
    _print_failures(metrics["failures"])
    return EXIT_OK


def _print_failures(failures: list[dict]) -> None:
    if failures:
        print(f"\n{len(failures)} failing case(s):")
        for f in failures:
            got = "abstained" if f["abstained"] else (f["got"][0] if f["got"] else "no citation")
            print(f"  {f['id']} [{f['kind']}] {f['question']!r} -> {f['reply_kind']}: {got}")


def _eval_all(args: argparse.Namespace) -> int:
    """Every dev corpus: indexes built once, one embedder (vectors remembered), then the tables."""
    from assistant import evaluate

    corpora = evaluate.dev_corpora()
    settings = Settings.from_env(model=args.model)
    embedder = evaluate.make_embedder(settings)
    bots = {c.name: evaluate.load_bot(c, settings, _eval_index(args, c.name), embedder) for c in corpora}
    for name, bot in bots.items():
        for problem in bot.index.problems:
            print(f"warning: {name}: {problem}", file=sys.stderr)
    cases = {c.name: _read_cases(c.questions) for c in corpora}
    in_sample = {name: evaluate.run(bots[name], cases[name]) for name in bots}
    if not args.json:
        print("In-sample (shipped settings):\n")
        print(evaluate.format_table(in_sample))
        if args.failures:
            for name, m in in_sample.items():
                print(f"\n## {name}")
                _print_failures(m["failures"])
    out: dict = {"in_sample": in_sample}
    if args.loco:
        grid = evaluate.grid(settings)
        progress = None if args.json else (lambda line: print(f"  {line}", file=sys.stderr, flush=True))
        results = evaluate.sweep(bots, cases, grid, progress)
        loco = evaluate.leave_one_out(results)
        overall = evaluate.choose(results, list(bots))
        out["loco"] = {name: {"settings": s, **m} for name, (s, m) in loco.items()}
        out["calibrated"] = {name: list(values) for name, values in evaluate.CALIBRATED.items()}
        out["best_on_all"] = overall
        if not args.json:
            print("\nLeave one corpus out (calibrated settings tuned on the other corpora, scored on this one):\n")
            print(evaluate.format_table({n: m for n, (_, m) in loco.items()}, {n: s for n, (s, _) in loco.items()}))
            print(f"\nBest on all corpora together: {evaluate.describe(overall)}")
    if args.json:
        print(json.dumps(_json_safe(out), ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    studio = _studio(args)
    report = studio.report(args.days)
    if args.csv:
        try:
            with open(args.csv, "w", encoding="utf-8", newline="") as f:
                rows = studio.export_csv(f, args.days)
        except OSError as e:
            raise InputError(f"Could not write {args.csv} ({e.strerror}); pass a writable file path") from None
        print(f"Wrote {rows} question(s) to {args.csv}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_report(report.to_dict()))
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    from assistant.studio import PublishError

    studio = _studio(args)
    try:
        change = studio.publish(args.question, args.answer, also=args.also)
    except PublishError as e:
        raise InputError(str(e)) from None
    print(f"Published to {change.to_dict()['source']} under {change.question!r}. A client asking now gets:")
    for check in change.checks:
        mark = "cited" if check.cited else "NOT cited"
        print(f"  [{mark}] {check.phrasing}\n      {check.answer}")
    if not change.cited:
        print("warning: a phrasing marked NOT cited doesn't find the entry yet; reword it or the answer",
              file=sys.stderr)
    return EXIT_OK


def format_report(r: dict) -> str:
    c = r["counts"]
    lines = [
        f"Last {r['days']} day(s): {c['questions']} questions, {c['abstentions']} not answered, "
        f"{c['thumbs_up']} thumbs up, {c['thumbs_down']} thumbs down"
        + ("" if r["logging"] else " (question logging is off)"),
    ]
    titles = {"unanswered": "Couldn't answer", "rated_down": "Rated down",
              "low_confidence": "Answered with low confidence", "most_asked": "Most asked"}
    for name, title in titles.items():
        section = r[name]
        lines += ["", f"{title}:"]
        if not section["groups"]:
            lines.append("  (none)")
        for g in section["groups"][:20]:
            extra = f", {g['down_votes']} thumbs down" if g["down_votes"] else ""
            lines.append(f"  {g['count']:>4}x  {g['example']}{extra}")
            others = [q for q in g["questions"] if q != g["example"]]
            if others:
                lines.append("         also: " + "; ".join(others[:3]) + (" …" if len(others) > 3 else ""))
            if g.get("passage"):
                lines.append(f"         answered from: {g['passage']}")
        more = section["more_groups"] + max(0, len(section["groups"]) - 20)
        if more:
            lines.append(f"  … and {more} smaller group(s); --csv has every question")
    lines += ["", "Per day (answered / referred / thumbs down):"]
    lines += [f"  {d['date']}  {d['answered']:>4} / {d['referred']:>4} / {d['down']:>3}" for d in r["trend"]]
    for problem in r["problems"]:
        lines.append(f"warning: {problem}")
    return "\n".join(lines)


# --- helpers ----------------------------------------------------------------------------------


def _studio(args: argparse.Namespace):
    from assistant.questionlog import QuestionLog
    from assistant.studio import Studio

    bot = _load(args)
    s = bot.settings
    return Studio(bot, QuestionLog.open(s.data_dir, s.log_questions, s.retention_days))


def _load(args: argparse.Namespace, rebuild: bool = False):
    from assistant.engine import Assistant

    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, model=args.model)
    bot = Assistant.load(settings=settings, rebuild=rebuild)
    for problem in bot.info()["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    return bot


def read_history(value: str) -> list[list[str]]:
    """History from inline JSON, a JSON file, or stdin ("-"). The engine validates the pairs."""
    if value == "-":
        text, where = sys.stdin.read(), "stdin"
    elif not value.lstrip().startswith(("[", "{", '"')):  # not inline JSON: a file
        try:
            text, where = Path(value).read_text(encoding="utf-8"), value
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(
                f"Could not read history file {value} ({e.__class__.__name__}); pass a UTF-8 JSON file or inline JSON"
            ) from None
    else:
        text, where = value, "--history-json"
    try:
        history = json.loads(text)
    except ValueError as e:
        raise InputError(
            f"{where} is not valid JSON ({e}); pass a list of [question, answer] pairs, "
            'e.g. [["What is shiatsu?", "…"]]'
        ) from None
    if not isinstance(history, list):
        raise InputError(f"{where} must be a JSON list of [question, answer] pairs, not {type(history).__name__}")
    return history


def format_reply(reply) -> str:
    """The answer, then numbered sources: file and section, the quoted passage, the studies it cites."""
    lines = [reply.answer]
    if reply.citations:
        lines += ["", "Sources:"]
        for n, c in enumerate(reply.citations, 1):
            where = f"{c.source} · {c.section}" if c.section else c.source
            lines.append(f"[{n}] {where} (score {c.score:.2f})")
            lines.append(f'    "{c.text}"')
            for r in c.references:
                lines.append(f"    study {r.number}: {r.title}")
    return "\n".join(lines)


def _json_safe(value):
    """Metrics as strict JSON: NaN (an empty category) becomes null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _fail(error: BaseException, code: int) -> int:
    message = " ".join(str(error).split()) or type(error).__name__
    print(f"massage-assistant: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
