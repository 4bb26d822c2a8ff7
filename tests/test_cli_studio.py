"""`massage-assistant publish` and `massage-assistant report`: the Studio's verbs from a terminal (fake embedder)."""

from __future__ import annotations

import csv
import io

import pytest

from assistant.questionlog import QuestionLog
from assistant.records import Reply
from test_cli import fake_model, run  # noqa: F401 - fixtures

MUSIC = "Can I bring my own music?"
ANSWER = "Yes. Bring a playlist on your phone and your therapist will play it through the room speaker."


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MASSAGE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_publish_writes_the_entry_and_shows_what_each_phrasing_gets(run, corpus_dir):
    code, out, err = run("publish", MUSIC, ANSWER, "--also", "is it ok to play my own songs", "--also", "my spotify")
    assert code == 0, err
    assert f"Published to studio-faq.md under {MUSIC!r}" in out
    assert out.count("[cited]") + out.count("[NOT cited]") == 3
    assert (corpus_dir / "studio-faq.md").read_text(encoding="utf-8") == (
        f"# Studio FAQ\n\n## {MUSIC}\n\nAlso asked as:\n- is it ok to play my own songs\n- my spotify\n\n{ANSWER}\n"
    )


@pytest.mark.parametrize(
    "answer, message",
    [("", "can't be empty"), ("<script>alert(1)</script>", "HTML markup"), ("x", "needs words")],
)
def test_publish_refuses_bad_answers_with_one_line_and_exit_2(run, corpus_dir, answer, message):
    code, out, err = run("publish", MUSIC, answer)
    assert code == 2 and out == ""
    assert err.startswith("massage-assistant: error: ") and message in err and err.count("\n") == 1
    assert not (corpus_dir / "studio-faq.md").exists()


def test_report_prints_the_groups_and_trend_and_writes_the_csv(run, data_dir, tmp_path):
    log = QuestionLog.open(data_dir)
    referred = Reply("Sorry.", True, kind="out_of_scope")
    for q in ["do you have parking", "do you have parking", "=cmd|' /C calc'!A0"]:
        log.record(q, referred, 5, "api")
    log.close()
    out_csv = tmp_path / "out.csv"
    code, out, err = run("report", "--days", "3", "--csv", str(out_csv))
    assert code == 0, err
    assert "Last 3 day(s): 3 questions, 3 not answered" in out
    assert "Couldn't answer:" in out and "do you have parking" in out
    assert out.count("Per day") == 1 and len([l for l in out.splitlines() if l.startswith("  20")]) == 4
    assert "Wrote 3 question(s)" in err
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert [r["question"] for r in rows][-1] == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize("days", ["0", "-1", "x", "4000"])
def test_report_refuses_a_bad_period(run, days):
    with pytest.raises(SystemExit) as e:
        run("report", "--days", days)
    assert e.value.code == 2
