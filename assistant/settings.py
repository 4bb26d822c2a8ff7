"""All configuration in one frozen record: defaults, then MASSAGE_* environment variables, then overrides."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "MASSAGE_"

DEFAULT_CONTACT = "Our front desk will be glad to help: please call or message the studio."


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = ROOT / "corpus"
    index_dir: Path = ROOT / "index"
    data_dir: Path = ROOT / "data"
    model: str = ""  # empty: the packaged all-MiniLM-L6-v2
    model_threads: int = 1  # BLAS/torch threads per forward pass; 0 leaves the libraries' default (one per core)
    contact: str = DEFAULT_CONTACT
    # chunking: part of the index hash, so changing them rebuilds
    max_passage_chars: int = 600
    # retrieval and answer
    candidates: int = 20
    max_citations: int = 3
    min_dense: float = 0.26  # below this cosine, nothing in the documents is close enough
    min_support: float = 0.30  # extra sentences must reach this cosine too
    # decisions (assistant/topics.toml): a topic decides when its nearest example is at least this close
    # and closer than any passage
    min_topic: float = 0.55
    min_health: float = 0.55  # a question nearest a health example and this close to it is about health, however close a passage
    min_caution: float = 0.5  # a health question is quoted (with the referral) only from a passage this close
    min_catchall: float = 0.65  # a passage this close to a call-to-action example is never an answer
    # topic agreement: a question this close to a studio topic is not answered from a passage whose entry is
    # about another studio topic (its affinity to the question's topic at least agree_passage_gap below its
    # own topic's), unless the question is nearly as close to that other topic (within agree_question_gap)
    min_agree: float = 0.5
    agree_passage_gap: float = 0.05
    agree_question_gap: float = 0.15
    # studio files
    general_sources: tuple[str, ...] = ()  # more documents that never answer studio business (see docs/topics.md)
    max_fact_age_days: int = 180  # older studio facts are flagged as possibly out of date
    # question log (SQLite in data_dir)
    log_questions: bool = True
    retention_days: int = 90
    # input limits
    max_question_chars: int = 1000
    max_history_turns: int = 6
    # surfaces
    host: str = "127.0.0.1"
    port: int = 7860
    staff_password: str = field(default="", repr=False)
    allowed_origins: tuple[str, ...] = ()
    # Host values answered ("name" for any port, "name:port", "*" for any); empty: the bind address, localhost and
    # 127.0.0.1 with the port (app.py; create_app alone checks nothing then)
    allowed_hosts: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose X-Forwarded-For/-Proto/-Host are believed
    # overload and abuse (assistant/web/limits.py, docs/reliability.md)
    rate_limit: int = 60  # questions per minute per client address; 0 turns the limit off
    rate_burst: int = 30  # questions a client may send in a row before the per-minute rate applies
    workers: int = 16  # questions answered at once; their forward passes are batched (assistant/batching.py)
    max_batch: int = 8  # most questions in one forward pass (CPU per question levels off near 8); 1: no batching
    max_waiting: int = 64  # questions waiting for a free worker; one more gets 503 at once
    staff_login_limit: int = 5  # wrong staff passwords per minute per client address before 429; 0 turns it off

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if env is None else env
        values: dict = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)

    def replace(self, **changes) -> Settings:
        return replace(self, **changes)


def _coerce(name: str, kind: str, raw: str):
    try:
        if kind == "Path":
            return Path(raw).expanduser()
        if kind == "bool":
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind}; fix or unset it") from None
    return raw
