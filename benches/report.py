#!/usr/bin/env python3
"""Turns criterion's output into the README's benchmark table and plot.

Reads target/criterion/<group>/<function>/new/estimates.json (medians) and target/criterion/footprint.json
(from benches/footprint.sh), writes benches/results.svg and replaces what is between
<!-- bench:start --> and <!-- bench:end --> in README.md. Prints the table. Exits non-zero only when a
benchmark's output is missing (a missed target is reported, not a failure).

    python3 benches/report.py [--quick]
"""
import json
import os
import platform
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRIT = os.path.join(ROOT, "target", "criterion")
README = os.path.join(ROOT, "README.md")
SVG = os.path.join(ROOT, "benches", "results.svg")
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
RPC_BYTES = 2 * 256 * 1024  # 256 KiB in + 256 KiB out per iteration


def median_ns(group, function):
    path = os.path.join(CRIT, group, function, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def machine():
    model, cores = platform.processor() or "unknown CPU", os.cpu_count()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {cores} cores"


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def gibs(ns):
    return RPC_BYTES / (ns * 1e-9) / 2**30


def main():
    quick = "--quick" in sys.argv
    try:
        m = {k: median_ns(*k.split("/")) for k in [
            "roundtrip/inline_cmd", "roundtrip/pingpong_baseline", "roundtrip/protocol_floor",
            "engine/overhead_sync", "engine/overhead_null_device",
            "mailbox/rpc_256k", "mailbox/rpc_256k_null_device", "mailbox/atomic_words_floor",
            "mailbox/memcpy_baseline",
            "layout/get_set", "layout/c_macro_baseline"]}
    except (OSError, KeyError, ValueError) as e:
        print(f"report: missing criterion output: {e}", file=sys.stderr)
        return 1

    # Targets are judged by the ratios from alternating rounds (benches/src/interleave.rs) when present:
    # criterion's medians of a benchmark and its baseline are taken seconds apart, across which a VM's
    # vCPU placement and clock can change. Criterion's ratio is shown beside them.
    try:
        with open(os.path.join(CRIT, "alternating.json")) as f:
            alt = json.load(f)
    except (OSError, ValueError):
        alt = {}

    def judged(key, crit_ratio):
        p = alt.get(key)
        return (p["ratio"], p) if p else (crit_ratio, None)

    rt, rt_alt = judged("roundtrip", m["roundtrip/inline_cmd"] / m["roundtrip/pingpong_baseline"])
    rt_null = m["engine/overhead_null_device"]
    rpc_t, rpc_alt = judged("rpc_256k", m["mailbox/rpc_256k"] / m["mailbox/memcpy_baseline"])
    rpcn_t, rpcn_alt = judged("rpc_256k_null_device", m["mailbox/rpc_256k_null_device"] / m["mailbox/memcpy_baseline"])
    rpc, rpc_null = 1 / rpc_t, 1 / rpcn_t  # throughput relative to memcpy
    lay, lay_alt = judged("layout", m["layout/get_set"] / m["layout/c_macro_baseline"])

    def ratio_text(value, unit, alt_pair, crit_value, fmt="{:.1f}", base=""):
        text = f"{fmt.format(value)}{unit}"
        if alt_pair:
            b, a = alt_pair["bench_ns"], alt_pair["base_ns"]
            text += f" (alternating rounds: {fmt_ns(b)} / {base}{fmt_ns(a)}); {fmt.format(crit_value)}{unit} from the medians"
        return text

    rt_crit = m["roundtrip/inline_cmd"] / m["roundtrip/pingpong_baseline"]
    rt_text = ratio_text(rt, "× the ping-pong", rt_alt, rt_crit)
    # How far the command is from the least its protocol needs (two lines there, one back, no work).
    proto, proto_alt = judged("roundtrip_protocol_floor", m["roundtrip/inline_cmd"] / m["roundtrip/protocol_floor"])
    proto_base = proto_alt["base_ns"] if proto_alt else m["roundtrip/protocol_floor"]
    rt_pp = rt_alt["base_ns"] if rt_alt else m["roundtrip/pingpong_baseline"]
    rt_text += (f"; {proto:.1f}× the protocol floor, which is itself {proto_base / rt_pp:.1f}× the ping-pong")
    words, words_alt = judged("atomic_words_floor", m["mailbox/atomic_words_floor"] / m["mailbox/memcpy_baseline"])
    words_crit = m["mailbox/memcpy_baseline"] / m["mailbox/atomic_words_floor"]
    words_text = ratio_text(1 / words, "× memcpy", words_alt, words_crit, "{:.3f}", "memcpy ")
    rpc_crit = gibs(m["mailbox/rpc_256k"]) / gibs(m["mailbox/memcpy_baseline"])
    rpcn_crit = gibs(m["mailbox/rpc_256k_null_device"]) / gibs(m["mailbox/memcpy_baseline"])
    rpc_text = ratio_text(rpc, "× memcpy", rpc_alt, rpc_crit, "{:.3f}", "memcpy ")
    rpcn_text = ratio_text(rpc_null, "× memcpy", rpcn_alt, rpcn_crit, "{:.3f}", "memcpy ")
    lay_text = ratio_text(lay, "× C", lay_alt, m["layout/get_set"] / m["layout/c_macro_baseline"], "{:.2f}", "C ")
    ok = lambda b: "floor, no target" if b is None else ("met" if b else "**missed**")
    rows = [
        # (what, measured, baseline, ratio text, target text, met, cost relative to the target's limit)
        ("inline command round trip, device model on its own thread", fmt_ns(m["roundtrip/inline_cmd"]),
         f"ping-pong {fmt_ns(m['roundtrip/pingpong_baseline'])}; protocol floor {fmt_ns(m['roundtrip/protocol_floor'])}",
         rt_text, "≤ 2×", rt <= 2, rt / 2),
        ("engine cost per command, device model in the doorbell write", fmt_ns(m["engine/overhead_sync"]),
         "—", "", "< 150 ns", m["engine/overhead_sync"] < 150, m["engine/overhead_sync"] / 150),
        ("engine cost per command, null device (engine alone)", fmt_ns(rt_null),
         "—", "", "< 150 ns", rt_null < 150, rt_null / 150),
        ("256 KiB in + 256 KiB out, signed mailboxes, device model",
         f"{gibs(m['mailbox/rpc_256k']):.2f} GiB/s", f"memcpy {gibs(m['mailbox/memcpy_baseline']):.1f} GiB/s",
         rpc_text, "≥ 0.25×", rpc >= 0.25, 0.25 / rpc),
        ("256 KiB in + 256 KiB out, signed mailboxes, null device (engine alone)",
         f"{gibs(m['mailbox/rpc_256k_null_device']):.2f} GiB/s", "(same memcpy)",
         rpcn_text, "≥ 0.25×", rpc_null >= 0.25, 0.25 / rpc_null),
        ("256 KiB in + 256 KiB out through 8-byte atomic words (how the model shares DMA memory), no mailboxes",
         f"{gibs(m['mailbox/atomic_words_floor']):.2f} GiB/s", "(same memcpy)",
         words_text, "—", None, 0.25 * words),
        ("16 fields of cmd_hca_cap read + written, generated accessors", fmt_ns(m["layout/get_set"]),
         f"C macros {fmt_ns(m['layout/c_macro_baseline'])}", lay_text, "≤ 1×", lay <= 1.0, lay),
    ]

    lines = [
        f"Latest run: {machine()}" + (" (quick mode: short measurements)" if quick else "") +
        "; medians from criterion, each beside its baseline from the same run; targets judged by the ratio "
        "from alternating rounds of benchmark and baseline. "
        "`benches/run.sh` regenerates this; [what each figure means](docs/BENCHMARKS.md).",
        "",
        "| benchmark | median | baseline (same run) | ratio | target | |",
        "|---|---|---|---|---|---|",
    ]
    for what, meas, base, ratio, target, met, _ in rows:
        lines.append(f"| {what} | {meas} | {base} | {ratio} | {target} | {ok(met)} |")

    fp_path = os.path.join(CRIT, "footprint.json")
    if os.path.exists(fp_path):
        with open(fp_path) as f:
            fp = json.load(f)
        lines += ["", f"Footprint on `{fp.get('target', '?')}` (engine + `hca::bring_up`/`teardown` + 5 typed "
                  "commands + a fake volatile host, `benches/footprint`), bytes; no heap (no allocator symbol):", "",
                  "| profile | .text | .rodata | .data | `Cmdq` (caller's memory) |", "|---|---|---|---|---|"]
        for prof, label in [("release", "release (opt-level 3, LTO)"), ("release-size", "size (opt-level z, LTO)")]:
            p = fp.get(prof)
            if p:
                lines.append(f"| {label} | {p['text']} | {p['rodata']} | {p['data']} | {p['cmdq_bytes']} |")

    lines += ["", "![benchmark ratios against their targets](benches/results.svg)"]
    table = "\n".join(lines)
    write_svg(rows)

    with open(README) as f:
        text = f.read()
    a, b = text.find(START), text.find(END)
    if a < 0 or b < a:
        print("report: README.md has no bench markers", file=sys.stderr)
        return 1
    text = text[: a + len(START)] + "\n" + table + "\n" + text[b:]
    with open(README, "w") as f:
        f.write(text)
    print(table)
    return 0


def write_svg(rows):
    """A bar per benchmark: its cost relative to its target's limit, on a log scale (1 = at the target)."""
    import math

    w, left, right, top, bar_h, gap = 900, 430, 90, 40, 22, 12
    h = top + len(rows) * (bar_h + gap) + 40
    lo, hi = 0.1, 100.0
    span = right_edge = w - right

    def x(v):
        v = min(max(v, lo), hi)
        return left + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (span - left)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="20" font-size="13">cost relative to target (log scale; left of the line = target met)</text>']
    for t in [0.1, 0.3, 1, 3, 10, 30, 100]:
        out.append(f'<line x1="{x(t):.1f}" y1="{top - 8}" x2="{x(t):.1f}" y2="{h - 30}" stroke="#ddd"/>')
        out.append(f'<text x="{x(t):.1f}" y="{h - 15}" text-anchor="middle" fill="#555">{t:g}×</text>')
    out.append(f'<line x1="{x(1):.1f}" y1="{top - 8}" x2="{x(1):.1f}" y2="{h - 30}" stroke="#c00" stroke-width="2"/>')
    for i, (what, meas, _base, ratio, target, met, rel) in enumerate(rows):
        y = top + i * (bar_h + gap)
        color = "#999" if met is None else ("#2a8" if met else "#d73")
        label = what if len(what) <= 62 else what[:60] + "…"
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{x(lo):.1f}" y="{y}" width="{x(rel) - x(lo):.1f}" height="{bar_h}" fill="{color}"/>')
        out.append(f'<text x="{x(rel) + 4:.1f}" y="{y + 15}">{escape(meas)} {escape(ratio)}</text>')
    out.append("</svg>")
    del right_edge
    with open(SVG, "w") as f:
        f.write("\n".join(out) + "\n")


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


if __name__ == "__main__":
    sys.exit(main())
