"""docs/benchmarks.md from the saved section results: a targets summary, then every figure per section."""

from __future__ import annotations

import math
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def _fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1f} {unit}".strip() if unit != "x" else f"{value:.2f}x"


def _verdict(ok: bool | None, value: float, target: float, higher_is_better: bool = False) -> str:
    if ok is None:
        return "not measured"
    if ok:
        return "met"
    off = value / target if higher_is_better is False else target / value
    return f"**missed** ({off:.1f}x)" if target else "**missed**"


def targets(records: dict[str, dict]) -> list[tuple[str, str, str, str]]:
    """(target, measured, verdict, where) rows."""
    rows: list[tuple[str, str, str, str]] = []
    lat = records.get("latency", {}).get("result")
    if lat:
        p50 = lat["rows"]["ask (ours)"]["p50_ms"]
        cpu = lat["rows"]["ask (ours)"].get("cpu_p50_ms", float("nan"))
        rows.append(("in-process ask p50 ≤ 15 ms", f"{p50:.1f} ms wall, {cpu:.1f} ms CPU",
                     _verdict(p50 <= 15, p50, 15), "section 1"))
        r = lat["ratio_forward"]
        rows.append(("ask within 2x of the forward pass (p50)", _fmt(r, "x"), _verdict(r <= 2, r, 2), "section 1"))
    eng = records.get("engines", {}).get("result")
    if eng:
        onnx, before, servers = eng["engines"]["ONNX fp32"], "NumpyBert", eng["servers"]
        r = onnx["ask_over_st_encode"]
        rows.append(("ONNX: ask p50 ≤ 0.5x one sentence-transformers encode (issue 13)", _fmt(r, "x"),
                     _verdict(r <= 0.5, r, 0.5), "section 1b"))
        r = servers["ONNX fp32"]["answers_per_s"] / servers[before]["answers_per_s"]
        rows.append(("ONNX: 16-client answers/s ≥ 1.3x the NumpyBert server (issue 13)", _fmt(r, "x"),
                     _verdict(r >= 1.3, r, 1.3, higher_is_better=True), "section 1b"))
        s = servers["ONNX fp32"]["cold_start_median_s"]
        rows.append(("ONNX: cold start to first answer ≤ 2 s, index built, model exported (issue 13)",
                     _fmt(s, "s"), _verdict(s <= 2, s, 2), "section 1b"))
    http = records.get("http", {}).get("result")
    if http:
        for v in http["variants"]:
            at16 = next(lv for lv in v["levels"] if lv["clients"] == 16)
            short = []
            if at16["answers_per_s"] < 80:
                short.append(f"{80 / at16['answers_per_s']:.2f}x short on rate")
            if at16["p95_ms"] > 300:
                short.append(f"p95 {at16['p95_ms'] / 300:.2f}x the limit")
            rows.append((
                f"16 clients: ≥ 80 answers/s, p95 ≤ 300 ms ({v['server']})",
                f"{at16['answers_per_s']:.1f}/s, p95 {at16['p95_ms']:.0f} ms",
                f"**missed** ({', '.join(short)})" if short else "met",
                "section 2",
            ))
            errors = sum(lv["errors"] for lv in v["levels"])
            where = ", ".join(
                f"{lv['clients']} clients: " + ", ".join(f"{n}x {k}" for k, n in lv["statuses"].items() if k != "200")
                for lv in v["levels"] if lv["errors"]
            )
            rows.append((f"zero errors at every level ({v['server']})", f"{errors}" + (f" ({where})" if where else ""),
                         "met" if errors == 0 else "**missed**", "section 2"))
        sat = http.get("saturation")
        if sat:
            refused = sat["statuses"].get("503", 0)
            ok = refused > 0 and sat["other"] == 0 and sat["refused_with_retry_after"] == refused
            rows.append((
                f"saturated ({sat['requests']} at once): quick 503 with Retry-After, nothing hangs",
                f"{refused}x 503 in ≤ {sat['refused_max_ms']:.0f} ms, {sat['statuses'].get('200', 0)} answered, "
                f"{sat['other']} other",
                "met" if ok else "**missed**", "section 2",
            ))
        single = next(lv for lv in http["variants"][0]["levels"] if lv["clients"] == 1)
        rows.append(("HTTP round trip p50 ≤ 40 ms, 1 client (issue 3)", _fmt(single["p50_ms"], "ms"),
                     _verdict(single["p50_ms"] <= 40, single["p50_ms"], 40), "section 2"))
    cold = records.get("coldstart", {}).get("result")
    if cold:
        s = cold["built_median_s"]
        cpu = sorted(cold.get("built_cpu_s", [float("nan")]))[len(cold.get("built_cpu_s", [0])) // 2]
        rows.append(("cold start with a built index ≤ 8 s", f"{s:.1f} s wall, {cpu:.1f} s CPU",
                     _verdict(s <= 8, s, 8), "section 3"))
        rows.append(("loading never re-embeds", "manifest unchanged" if not cold["manifest_changed_by_start"] else
                     "rebuilt", "met" if not cold["manifest_changed_by_start"] else "**missed**", "sections 3, 4"))
    publish = records.get("publish", {}).get("result")
    if publish:
        live = sorted(publish["publish_to_cited_s"])[len(publish["publish_to_cited_s"]) // 2]
        rows.append(("publish → next question cites it ≤ 1 s", f"{live:.2f} s", _verdict(live <= 1, live, 1),
                     "section 6"))
    grouping = records.get("grouping", {}).get("result", {}).get("sizes", {}).get("20000")
    if grouping:
        cold, warm = grouping["cold_s"], grouping.get("restarted_s", grouping["warm_s"])
        rows.append(("staff report ≤ 2 s at 20k distinct questions", f"{warm:.2f} s (vectors kept), {cold:.2f} s "
                     "the very first time", _verdict(warm <= 2, warm, 2), "section 7"))
    scale = records.get("scale", {}).get("result", {}).get("sizes", {})
    big = scale.get("100000")
    if big:
        rows.append(("100k: ask p50 ≤ 25 ms", _fmt(big["ask_p50_ms"], "ms"),
                     _verdict(big["ask_p50_ms"] <= 25, big["ask_p50_ms"], 25), "section 4"))
        rows.append(("100k: retrieval p50 ≤ 25 ms", _fmt(big["retrieve_p50_ms"], "ms"),
                     _verdict(big["retrieve_p50_ms"] <= 25, big["retrieve_p50_ms"], 25), "section 4"))
        gib = big["peak_rss_mib"] / 1024
        rows.append(("100k: serving memory ≤ 2 GiB", f"{gib:.2f} GiB peak", _verdict(gib <= 2, gib, 2), "section 4"))
        rec = big["recall_at_10"]
        rows.append((f"100k: recall@10 of {big['index_kind']} vs exact ≥ 0.95", f"{rec:.3f}",
                     "met" if rec >= 0.95 else "**missed**", "section 4"))
    return rows


def scale_lines(r: dict) -> list[str]:
    sizes = sorted(r["sizes"].values(), key=lambda s: s["size"])
    lines = [
        "Synthetic corpora from `bench/synthetic.py` (seed 5): guide words recombined by a bigram chain, one "
        "sentence per paragraph, 1,000 per .txt file, a heading every 50. Each size is built in one fresh process "
        "(`bench/scale.py --build`, progress bar in the log) and served in another (`--serve`): load, 10 warm-up "
        "questions, then each query asked, retrieved, encoded and searched; half the queries are dev-set "
        "questions, half are stretches of random passages.",
        "",
        "| passages | vectors (views + paragraphs) | index | build s | build peak MiB | on disk MiB | load s | "
        "serving peak RSS MiB | ask p50 / p95 ms | ask CPU p50 ms | retrieve p50 / p95 ms | forward pass p50 ms | vector search p50 / p95 ms "
        "| exact search p50 ms | recall@10 vs exact |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in sizes:
        lines.append(
            f"| {s['passages']:,} | {s['vectors']:,} + {s['paragraph_vectors']:,} | {s['index_kind']} | "
            f"{s['build_s']:.0f} | {s['build_peak_rss_mib']:.0f} | {s['disk_mib']:.1f} | {s['load_s']:.2f} | "
            f"{s['peak_rss_mib']:.0f} | {s['ask_p50_ms']:.1f} / {s['ask_p95_ms']:.1f} | "
            f"{s.get('ask_cpu_p50_ms', float('nan')):.1f} | "
            f"{s['retrieve_p50_ms']:.1f} / {s['retrieve_p95_ms']:.1f} | {s['encode_p50_ms']:.1f} | "
            f"{s['search_p50_ms']:.2f} / {s['search_p95_ms']:.2f} | {s['exact_search_p50_ms']:.2f} | "
            f"{s['recall_at_10']:.3f} |"
        )
    lines += [
        "",
        "- Texts embedded while loading each index: "
        + ", ".join(f"{s['size']:,}: {s['texts_embedded_on_load']}" for s in sizes)
        + " (loading never re-embeds; only questions are embedded, at most "
        + f"{max(s['largest_encode_call'] for s in sizes)} texts per call).",
        "- Builds: " + "; ".join(f"{s['size']:,}: {s.get('built_by', 'bench/scale.py --build')}" for s in sizes) + ".",
        "- Recall@10: the saved index's top 10 against `IndexFlatIP` over the same vectors (reconstructed from the "
        "index), on the same query vectors. Flat indexes are exact, so 1.000 there is by construction.",
    ]
    return lines


def document(records: dict[str, dict], titles: dict[str, str], notes: bool = True) -> str:
    """The report; `notes` adds the hand-written findings and the profile, which describe the full run."""
    import http_load
    import latency
    import memory
    import coldstart
    import engines
    import profile_server
    import staff

    renderers = {"latency": latency.render, "engines": engines.render, "http": http_load.render,
                 "profile": profile_server.render,
                 "coldstart": coldstart.render,
                 "scale": scale_lines, "memory": memory.render, "publish": staff.render_publish,
                 "grouping": staff.render_grouping}
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`bench/run.py`; `--only SECTION` runs one; `make bench QUICK=1` is a smoke test that "
        "writes to /tmp/massage-bench/quick instead). "
        "These are measurements, not tests. The machine is shared with other work, so absolute timings move from "
        "run to run; compare rows measured in the same run, and read the load average given with each section.",
        "",
        "## Targets",
        "",
        "| target | measured | verdict | see |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {t} | {m} | {v} | {w} |" for t, m, v, w in targets(records)]
    findings = BENCH / "findings.md"
    if notes and findings.exists():
        lines += ["", findings.read_text(encoding="utf-8").strip()]
    for name, title in titles.items():
        rec = records.get(name)
        if not rec:
            continue
        lines += [
            "",
            f"## {title}",
            "",
            f"Command: `{rec['command']}`{' (quick)' if rec['quick'] else ''}; {rec['date']}; "
            f"{rec['section_seconds']:.0f} s.  ",
            f"Machine: {rec['machine']}.",
            "",
        ]
        lines += renderers[name](rec["result"])
    profile = BENCH / "results" / "profile-100k.txt"
    if notes and profile.exists():
        lines += [
            "",
            "## Profile: `ask` at 100,000 passages",
            "",
            "`.venv/bin/python bench/profile_ask.py --rounds 2 --corpus /tmp/massage-scale/corpus-100000 --index "
            "/tmp/massage-scale/index-100000` (pyinstrument, 212 warm questions from the dev set; wall time under "
            "the machine's load, with the profiler's own overhead):",
            "",
            "```",
            profile.read_text(encoding="utf-8").strip("\n"),
            "```",
        ]
    return "\n".join(lines) + "\n"
