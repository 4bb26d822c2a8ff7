"""The massage-assistant command: fast --help, output formats, and errors as one line plus an exit code.

In-process tests swap the sentence-transformers embedder for the fake one; subprocess tests use the
venv's python exactly as a user would, and load the real model only under the `model` marker.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import cli
from guide_text import ROOT
from fakes import FakeEmbedder

HEAVY = ("torch", "sentence_transformers", "transformers", "faiss", "bm25s")


@pytest.fixture
def fake_model(monkeypatch):
    """Every Assistant.load() in this process embeds with the fake embedder, named after --model if given."""
    made: list[str] = []

    def factory(model: str = "", threads: int | None = 1) -> FakeEmbedder:
        made.append(model)
        return FakeEmbedder(name=model or "fake")

    monkeypatch.setattr("assistant.engine.SentenceEmbedder", factory)
    return made


@pytest.fixture
def run(fake_model, corpus_dir, index_dir, capsys):
    """Call main() with the temporary corpus and index; return (exit code, stdout, stderr)."""

    def call(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            sys.stdin = io.StringIO(stdin)
        try:
            code = cli.main(["--corpus", str(corpus_dir), "--index", str(index_dir), *argv])
        finally:
            sys.stdin = sys.__stdin__
        out, err = capsys.readouterr()
        return code, out, err

    return call


def subprocess_cli(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("MASSAGE_")}
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "assistant.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=kwargs.pop("timeout", 60),
        **kwargs,
    )


def imported(stderr: str) -> set[str]:
    """Top-level module names from `python -X importtime` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line and not line.startswith("import time:")]


# --- fast, no model ------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["ask", "--help"], ["build", "--help"], ["eval", "--help"]])
def test_help_is_fast_and_does_not_import_the_engine(argv):
    proc = subprocess_cli(*argv)
    assert proc.returncode == 0, proc.stderr
    assert "usage: massage-assistant" in proc.stdout
    modules = imported(proc.stderr)
    assert "assistant" in modules  # the probe works
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_help_lists_the_commands_and_global_options():
    proc = subprocess_cli("--help")
    for word in ("ask", "build", "eval", "--corpus", "--index", "--model"):
        assert word in proc.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "massage-assistant"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "usage: massage-assistant" in proc.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "What should I wear for it?", "--history-json", "{broken"], "--history-json is not valid JSON"),
        (["ask", "q", "--history-json", '"just text"'], "must be a JSON list of [question, answer] pairs"),
        (["ask", "q", "--history-json", "no/such/history.json"], "Could not read history file no/such/history.json"),
        (["eval", "no/such/file.jsonl"], "no/such/file.jsonl is not a file"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_before_loading_anything(argv, message):
    proc = subprocess_cli(*argv)
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert line.startswith("massage-assistant: error: ") and message in line
    assert "Traceback" not in proc.stderr
    assert not imported(proc.stderr) & {"torch", "sentence_transformers"}


def test_missing_corpus_exits_1_with_one_line(tmp_path):
    proc = subprocess_cli("--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "index"), "build")
    assert proc.returncode == 1
    (line,) = error_lines(proc.stderr)
    assert f"Corpus directory {tmp_path / 'nope'} does not exist; create it" in line


def test_non_utf8_corpus_file_exits_1_naming_it(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "prices.txt").write_bytes(b"Massage \xa360")
    proc = subprocess_cli("build", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index"))
    assert proc.returncode == 1
    (line,) = error_lines(proc.stderr)
    assert "prices.txt is not UTF-8" in line and "re-save it as UTF-8" in line


def test_bad_environment_setting_exits_2(tmp_path):
    env = {**os.environ, "MASSAGE_MAX_QUESTION_CHARS": "lots"}
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--index", str(tmp_path), "build"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert "MASSAGE_MAX_QUESTION_CHARS='lots' is not a valid int" in line


def test_ask_prints_the_answer_then_numbered_sources(run):
    code, out, err = run("ask", "is there research on sleep?")
    assert code == 0, err
    answer, sources = out.split("\nSources:\n")
    assert "Facilitating better sleep. [1]" in answer
    assert sources.startswith("[1] back-massage-guide.txt · Back massage: Good for your whole body & your mind too!")
    assert "Facilitating better sleep" in sources
    assert "study 12: Back massage intervention for improving health and sleep quality" in sources
    assert "study 13: Randomised controlled trial" in sources


def test_ask_json_prints_the_reply_contract(run):
    code, out, _ = run("ask", "which clothing is best?", "--json")
    assert code == 0
    reply = json.loads(out)
    assert set(reply) == {"answer", "abstained", "citations", "kind"}
    assert reply["abstained"] is False
    assert "loose-fitting clothing" in reply["citations"][0]["text"]


def test_ask_abstains_without_sources(run):
    code, out, _ = run("ask", "what is your price?")
    assert code == 0
    assert "Sources:" not in out and "front desk" in out


def test_global_options_also_work_after_the_subcommand(fake_model, corpus_dir, index_dir, capsys):
    argv = ["ask", "which clothing is best?", "--json", "--corpus", str(corpus_dir), "--index", str(index_dir)]
    code = cli.main(argv)
    assert code == 0
    assert json.loads(capsys.readouterr().out)["abstained"] is False
    assert (index_dir / "manifest.json").is_file()


@pytest.mark.parametrize("question", ["", "   ", "why?" * 25_000])
def test_ask_bad_question_exits_2_with_one_line(run, question):
    code, out, err = run("ask", question)
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("massage-assistant: error: ")
    assert "Please type a question" in line or "please keep it under 1,000" in line


def test_history_json_inline_file_and_stdin_all_fold_in_the_earlier_turn(run, tmp_path):
    history = [["Tell me about shiatsu", "Shiatsu (Japanese acupressure massage)."]]
    path = tmp_path / "history.json"
    path.write_text(json.dumps(history), encoding="utf-8")
    outputs = [
        run("ask", "what about clothing for it?", "--json", "--history-json", json.dumps(history)),
        run("ask", "what about clothing for it?", "--json", "--history-json", str(path)),
        run("ask", "what about clothing for it?", "--json", "--history-json", "-", stdin=json.dumps(history)),
    ]
    alone = run("ask", "what about clothing for it?", "--json")
    assert [code for code, _, _ in outputs] == [0, 0, 0]
    assert outputs[0][1] == outputs[1][1] == outputs[2][1]
    assert outputs[0][1] != alone[1]  # the earlier turn changed the scores


def test_history_with_wrong_shape_exits_2(run):
    code, _, err = run("ask", "what about it?", "--history-json", '[["only the question"]]')
    assert code == 2
    assert "history must be a list of [question, answer] pairs" in err


def test_build_reports_passages_model_and_location(run, index_dir):
    code, out, _ = run("build")
    assert code == 0
    assert "Index ready: 42 passages from 1 file(s): back-massage-guide.txt" in out
    assert "Model:       fake" in out
    assert str(index_dir) in out
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["built_at"] in out


def test_build_force_rebuilds_and_plain_build_reuses(run, index_dir):
    run("build")
    first = json.loads((index_dir / "manifest.json").read_text())["build"]
    run("build")
    assert json.loads((index_dir / "manifest.json").read_text())["build"] == first
    code, _, _ = run("build", "--force")
    assert code == 0
    assert json.loads((index_dir / "manifest.json").read_text())["build"] != first


def test_model_option_reaches_the_embedder(run, fake_model):
    code, out, _ = run("--model", "/models/mini", "build")
    assert code == 0
    assert fake_model == ["/models/mini"]
    assert "Model:       /models/mini" in out


def test_build_with_a_broken_file_keeps_the_old_index_warns_and_exits_1(run, corpus_dir):
    run("build")
    (corpus_dir / "menu.txt").write_bytes(b"\xff\xfe broken")
    code, out, err = run("build")
    assert code == 1
    assert "Index ready: 42 passages" in out
    assert "warning: menu.txt is not UTF-8" in err and "still serving the last good index" in err


def test_empty_corpus_exits_1(run, corpus_dir):
    for f in corpus_dir.iterdir():
        f.unlink()
    code, out, err = run("build")
    assert code == 1 and out == ""
    (line,) = err.splitlines()
    assert "has no .md or .txt files" in line


EVAL_CASES = [
    {"id": "wear", "kind": "in_scope", "question": "which clothing is best?", "expect": ["loose-fitting clothing"]},
    {"id": "sleep", "kind": "in_scope", "question": "sleep", "expect": ["Facilitating better sleep"]},
    {"id": "price", "kind": "out_of_scope", "question": "what is your price?"},
    {"id": "preg", "kind": "medical", "question": "I'm pregnant, can I get a massage?"},
    {"id": "miss", "kind": "in_scope", "question": "music", "expect": ["Trigger point therapy"]},
]


@pytest.fixture
def eval_file(tmp_path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in EVAL_CASES) + "\n", encoding="utf-8")
    return path


def test_eval_prints_the_report_and_failures(run, eval_file):
    code, out, _ = run("eval", str(eval_file))
    assert code == 0
    assert "cases                      5" in out
    assert "hit@1                      0.667" in out
    assert "abstention recall          1.000" in out
    assert "false abstention           0.000" in out
    assert "1 failing case(s):" in out and "miss [in_scope] 'music'" in out


def test_eval_json_is_strict_json(run, eval_file, tmp_path):
    code, out, _ = run("eval", str(eval_file), "--json")
    assert code == 0
    metrics = json.loads(out)
    assert metrics["cases"] == 5
    assert metrics["hit@1"] == pytest.approx(2 / 3) and metrics["hit@3"] == pytest.approx(2 / 3)
    assert [f["id"] for f in metrics["failures"]] == ["miss"]

    only_answers = tmp_path / "answers.jsonl"
    only_answers.write_text(json.dumps(EVAL_CASES[0]) + "\n", encoding="utf-8")
    code, out, _ = run("eval", str(only_answers), "--json")
    assert "NaN" not in out
    assert json.loads(out)["abstention_recall"] is None


def test_eval_with_an_invalid_case_exits_2_naming_the_line(run, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(EVAL_CASES[0]) + '\n{"kind": "in_scope"}\n', encoding="utf-8")
    code, out, err = run("eval", str(path))
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert f"{path}:2 is not a valid case" in line


# --- the real model ------------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.slow
def test_ask_json_end_to_end_with_the_real_model(model_bot):
    index = str(model_bot.settings.index_dir)
    proc = subprocess_cli("--index", index, "ask", "What should I wear?", "--json", timeout=300)
    assert proc.returncode == 0, error_lines(proc.stderr)
    reply = json.loads(proc.stdout)
    assert reply["abstained"] is False
    assert "loose-fitting clothing" in reply["citations"][0]["text"]
    assert "[1]" in reply["answer"]


@pytest.mark.model
def test_blank_question_with_a_built_index_exits_2_without_loading_the_model(model_bot):
    proc = subprocess_cli("--index", str(model_bot.settings.index_dir), "ask", "   ")
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert line == "massage-assistant: error: Please type a question, for example: What should I wear?"
    assert not imported(proc.stderr) & {"torch", "sentence_transformers"}


@pytest.mark.model
@pytest.mark.slow
def test_unloadable_model_exits_1_with_one_line(tmp_path):
    proc = subprocess_cli(
        "--index", str(tmp_path / "index"), "--model", str(tmp_path / "no-model"), "build", timeout=300
    )
    assert proc.returncode == 1
    (line,) = error_lines(proc.stderr)
    assert line.startswith("massage-assistant: error: Could not load embedding model")
    assert "MASSAGE_MODEL" in line
    assert "Traceback" not in proc.stderr
