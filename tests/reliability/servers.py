"""The real server (`python app.py`, real model) in a temporary studio folder, started and killed by tests and scripts.

Also importable from the command-line scripts in this folder (`loadgen.py`, `inputs_table.py`), so it needs nothing
from pytest.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests") not in sys.path:  # run as a script (loadgen.py, inputs_table.py) rather than under pytest
    sys.path.append(str(ROOT / "tests"))
from live import wait_for_chat  # noqa: E402
GUIDE = ROOT / "corpus" / "back-massage-guide.txt"
PASSWORD = "Ünïcode staff pässword 7d1f"  # non-ASCII on purpose: browsers send it as UTF-8
CONTACT = "Call the studio on 555-0100."
QUIET = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """One app.py process over a studio folder (corpus/, index/, data/) it owns."""

    home: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    root: Path = ROOT  # the checkout whose app.py runs (another one: to measure an older commit)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def corpus(self) -> Path:
        return self.home / "corpus"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 180.0) -> Server:
        """Start app.py and wait until it serves everything: the JSON API and the chat page."""
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(self.root / "app.py"), "--port", str(self.port)],
                cwd=self.root,
                env={**self.env, "PYTHONPATH": str(self.root)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_chat(self.url, self.proc, lambda: self.log_text()[-3000:], timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=20)

    def kill(self) -> int:
        """SIGKILL: no shutdown handlers, no flushing, exactly like a power cut to the process."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=20)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def rss_mb(self) -> float:
        """Resident memory of the server process, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS line")


def make_server(home: Path, **settings: str) -> Server:
    """A server over a fresh copy of the packaged guide, with its own index and question log, the staff view on,
    one other origin allowed to embed it, and 127.0.0.1 trusted as a proxy, so tests can play many clients with
    X-Forwarded-For (clients.as_client). `settings` are MASSAGE_* overrides, e.g. rate_limit="0"; trusted_proxies=""
    gives the shipped default (no proxy trusted)."""
    (home / "corpus").mkdir(parents=True, exist_ok=True)
    shutil.copy(GUIDE, home / "corpus" / GUIDE.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASSAGE_")}
    env.update(QUIET)
    env.update(
        {
            "MASSAGE_CORPUS_DIR": str(home / "corpus"),
            "MASSAGE_INDEX_DIR": str(home / "index"),
            "MASSAGE_DATA_DIR": str(home / "data"),
            "MASSAGE_STAFF_PASSWORD": PASSWORD,
            "MASSAGE_ALLOWED_ORIGINS": "http://studio.example",
            "MASSAGE_CONTACT": CONTACT,
            "MASSAGE_TRUSTED_PROXIES": "127.0.0.1",
        }
    )
    env.update({f"MASSAGE_{k.upper()}": str(v) for k, v in settings.items()})
    return Server(home, env)
