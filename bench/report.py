#!/usr/bin/env python3
"""Renders a ringplan_bench JSON run as markdown (medians, and the ratios of the performance
targets, all from the same run) and plots owner time against ring size (gnuplot, log-log).

    bench/report.py bench/results/bench.json [--machine machine.txt] [--md out.md] [--png out.png]

Standard library only; the plot needs gnuplot (Debian gnuplot-nox) and is skipped without it.
Times are CPU time (Google Benchmark's cpu_time and items_per_second), the medians of the
repetitions: on a shared VM, wall time also counts the time other tenants hold the core.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

LOOKUP_SIZES = [1000, 10000, 100000, 1000000]
PLAN_SHAPES = ["40x256", "400x256", "3900x256"]
PLAN_LABELS = {"40x256": "10^4 (40x256)", "400x256": "10^5 (400x256)", "3900x256": "10^6 (3900x256)"}
IMPLS = ["ringplan", "std_map", "sorted_vector", "jump"]
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(path):
    """run_name -> {cpu_ns, real_ns, items_per_second, counters...}: the medians when the run
    has aggregates, else the single iteration rows."""
    with open(path) as f:
        data = json.load(f)
    rows = data.get("benchmarks", [])
    has_median = any(r.get("aggregate_name") == "median" for r in rows)
    out = {}
    for r in rows:
        if has_median:
            if r.get("run_type") != "aggregate" or r.get("aggregate_name") != "median":
                continue
        elif r.get("run_type") == "aggregate" or r.get("error_occurred"):
            continue
        name = r.get("run_name", r["name"])
        scale = UNIT_NS[r.get("time_unit", "ns")]
        entry = {"cpu_ns": r["cpu_time"] * scale, "real_ns": r["real_time"] * scale}
        for k, v in r.items():
            if isinstance(v, (int, float)) and k not in entry and k not in (
                    "cpu_time", "real_time", "iterations", "repetitions", "repetition_index",
                    "threads", "family_index", "per_family_instance_index"):
                entry[k] = v
        out[name] = entry
    return data.get("context", {}), out, has_median


def per_item_ns(rows, name):
    r = rows.get(name)
    if not r or not r.get("items_per_second"):
        return None
    return 1e9 / r["items_per_second"]


def cpu_ns(rows, name):
    r = rows.get(name)
    return r["cpu_ns"] if r else None


def fmt(v, digits=3):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def fmt_ratio(v):
    return "–" if v is None else fmt(v) + "×"


def fmt_time(ns):
    if ns is None:
        return "–"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{fmt(ns / scale)} {unit}"
    return f"{fmt(ns)} ns"


def ratio(a, b):
    return a / b if a is not None and b is not None and b > 0 else None


def size_label(n):
    return {1000: "10^3", 10000: "10^4", 100000: "10^5", 1000000: "10^6"}.get(n, str(n))


def targets(rows):
    """(what, measured ratio, target, at least?) for each target of the issue."""
    o = lambda impl, n, fam="owner": per_item_ns(rows, f"{fam}/{impl}/{n}")
    leave = lambda shape: cpu_ns(rows, f"plan_leave/ringplan/{shape}/rf3")
    naive = lambda shape: cpu_ns(rows, f"plan_naive/sorted_vector/{shape}/rf3")
    out = [
        ("`owner` 10^6: std_map ÷ ringplan", ratio(o("std_map", 1000000), o("ringplan", 1000000)), 20, True),
        ("`owner` 10^6: sorted_vector ÷ ringplan", ratio(o("sorted_vector", 1000000), o("ringplan", 1000000)), 3.5, True),
        ("`owner` 10^3: std_map ÷ ringplan", ratio(o("std_map", 1000), o("ringplan", 1000)), 4, True),
        ("`owner` 10^3: sorted_vector ÷ ringplan", ratio(o("sorted_vector", 1000), o("ringplan", 1000)), 4, True),
        ("`owner_latency` 10^6: sorted_vector ÷ ringplan",
         ratio(o("sorted_vector", 1000000, "owner_latency"), o("ringplan", 1000000, "owner_latency")), 3, True),
        ("`owner_batch` 10^6: throughput ÷ `owner`'s",
         ratio(o("ringplan", 1000000), o("ringplan", 1000000, "owner_batch")), 1.5, True),
        ("`plan_leave` rf 3: 10^6 ÷ 10^4 vnodes (growth)", ratio(leave("3900x256"), leave("40x256")), 2, False),
    ]
    for shape in PLAN_SHAPES:
        out.append((f"`plan_naive` (10^6 keys) ÷ `plan_leave`, rf 3, {shape}",
                    ratio(naive(shape), leave(shape)), 100, True))
    for n in (1000000, 10000000):
        r = rows.get(f"project_keys/ringplan/{n}")
        mkeys = r["items_per_second"] / 1e6 if r and r.get("items_per_second") else None
        out.append((f"`project_keys` {n:,} keys: million keys/s (one core)", mkeys, 30, True))
    out.append(("`build` 10^6: std_map ÷ ringplan",
                ratio(cpu_ns(rows, "build/std_map/1000000"), cpu_ns(rows, "build/ringplan/1000000")), 5, True))
    return out


def render(context, machine, rows, has_median):
    L = []
    L.append("# ringplan benchmark results\n")
    L.append("## Machine\n")
    if machine:
        for k, v in machine:
            L.append(f"- {k}: {v}")
    L.append(f"- Benchmark context: {context.get('library_build_type', '?')} library build, "
             f"{context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz, "
             f"load average at start {', '.join(f'{x:.2f}' for x in context.get('load_avg', []))}")
    L.append(f"- Run: {context.get('date', '?')}; "
             + ("medians of the repetitions" if has_median else "one repetition (no medians)")
             + "; CPU time")
    L.append("")

    L.append("## Targets\n")
    L.append("| target | measured | wanted | met |")
    L.append("|---|---:|---:|:---:|")
    for what, got, want, at_least in targets(rows):
        unit = "" if "keys/s" in what else "×"
        wanted = (f"≥ {want}{unit}" if at_least else f"≤ {want}{unit}")
        if got is None:
            met = "not run"
        else:
            met = "yes" if (got >= want if at_least else got <= want) else "**no**"
        L.append(f"| {what} | {fmt(got) + unit if got is not None else '–'} | {wanted} | {met} |")
    L.append("")

    L.append("## Lookups: ns per lookup (median)\n")
    L.append("Probes are random precomputed tokens (no hashing); `owner` issues independent "
             "lookups, `owner_latency` makes each depend on the previous result, `owner_batch` is "
             "`owners_at` over blocks of 1024.\n")
    L.append("| benchmark | " + " | ".join(size_label(n) for n in LOOKUP_SIZES) + " |")
    L.append("|---|" + "---:|" * len(LOOKUP_SIZES))
    for fam in ("owner", "owner_latency"):
        for impl in IMPLS:
            L.append(f"| {fam}/{impl} | " + " | ".join(
                fmt(per_item_ns(rows, f"{fam}/{impl}/{n}")) for n in LOOKUP_SIZES) + " |")
    L.append("| owner_batch/ringplan | " + " | ".join(
        fmt(per_item_ns(rows, f"owner_batch/ringplan/{n}")) for n in LOOKUP_SIZES) + " |")
    L.append("")
    L.append("Speed-up of ringplan (`owner`, `owner_latency`): baseline time ÷ ringplan time.\n")
    L.append("| ratio | " + " | ".join(size_label(n) for n in LOOKUP_SIZES) + " |")
    L.append("|---|" + "---:|" * len(LOOKUP_SIZES))
    for fam in ("owner", "owner_latency"):
        for impl in IMPLS[1:]:
            L.append(f"| {fam}: {impl} ÷ ringplan | " + " | ".join(
                fmt(ratio(per_item_ns(rows, f"{fam}/{impl}/{n}"), per_item_ns(rows, f"{fam}/ringplan/{n}")))
                for n in LOOKUP_SIZES) + " |")
    L.append("| owner_batch throughput ÷ owner | " + " | ".join(
        fmt(ratio(per_item_ns(rows, f"owner/ringplan/{n}"), per_item_ns(rows, f"owner_batch/ringplan/{n}")))
        for n in LOOKUP_SIZES) + " |")
    L.append("")
    L.append("Bytes per vnode (`bytes_per_vnode`: ringplan's `memory_usage()`, the sorted vector's "
             "arrays, the std::map's heap measured with mallinfo2; jump: its node table over the "
             "ring size it stands in for):\n")
    L.append("| impl | " + " | ".join(size_label(n) for n in LOOKUP_SIZES) + " |")
    L.append("|---|" + "---:|" * len(LOOKUP_SIZES))
    for impl in IMPLS:
        L.append(f"| {impl} | " + " | ".join(
            fmt((rows.get(f"owner/{impl}/{n}") or {}).get("bytes_per_vnode")) for n in LOOKUP_SIZES) + " |")
    L.append("")

    L.append("## Build a ring from a node list (vnode hashing included)\n")
    L.append("| impl | " + " | ".join(size_label(n) for n in LOOKUP_SIZES) + " | spread at 10^6 |")
    L.append("|---|" + "---:|" * (len(LOOKUP_SIZES) + 1))
    for impl in IMPLS[:3]:
        spread = (rows.get(f"build/{impl}/1000000") or {}).get("spread")
        L.append(f"| build/{impl} | " + " | ".join(
            fmt_time(cpu_ns(rows, f"build/{impl}/{n}")) for n in LOOKUP_SIZES) + f" | {fmt(spread)} |")
    for impl in IMPLS[1:3]:
        L.append(f"| {impl} ÷ ringplan | " + " | ".join(
            fmt_ratio(ratio(cpu_ns(rows, f"build/{impl}/{n}"), cpu_ns(rows, f"build/ringplan/{n}")))
            for n in LOOKUP_SIZES) + " | |")
    L.append("")
    L.append("`spread` is max ÷ mean of the nodes' shares of the ring (the same ring in all three).\n")

    L.append("## Plans: one node of 256 vnodes leaves\n")
    L.append("| benchmark | " + " | ".join(PLAN_LABELS[s] for s in PLAN_SHAPES) + " | moved ÷ optimum |")
    L.append("|---|" + "---:|" * (len(PLAN_SHAPES) + 1))
    for fam in ("plan_leave/ringplan", "plan_crash/ringplan", "diff/ringplan", "plan_naive/sorted_vector"):
        for rf in (1, 3):
            names = [f"{fam}/{s}/rf{rf}" for s in PLAN_SHAPES]
            mvo = [(rows.get(n) or {}).get("moved_vs_optimum") for n in names]
            mvo = [m for m in mvo if m is not None]
            mvo_s = (fmt(min(mvo), 4) if mvo and abs(min(mvo) - max(mvo)) < 5e-4
                     else f"{fmt(min(mvo), 4)}–{fmt(max(mvo), 4)}" if mvo else "–")
            L.append(f"| {fam} rf{rf} | " + " | ".join(fmt_time(cpu_ns(rows, n)) for n in names)
                     + f" | {mvo_s} |")
    L.append("| plan_naive ÷ plan_leave, rf3 | " + " | ".join(
        fmt_ratio(ratio(cpu_ns(rows, f"plan_naive/sorted_vector/{s}/rf3"), cpu_ns(rows, f"plan_leave/ringplan/{s}/rf3")))
        for s in PLAN_SHAPES) + " | |")
    L.append("")
    L.append("`plan_naive` computes the replica sets of 10^6 keys in both rings (a sorted-vector "
             "ring, keys pre-hashed); its moved ÷ optimum is sampled by those keys. "
             "A crash with rf 1 moves nothing: everything the node held is lost "
             "(`lost_vs_optimum` = 1).\n")

    L.append("## Projecting a plan onto keys (hashing included)\n")
    L.append("| keys | time | million keys/s | keys moved |")
    L.append("|---:|---:|---:|---:|")
    for n in (1000000, 10000000):
        r = rows.get(f"project_keys/ringplan/{n}")
        mk = r["items_per_second"] / 1e6 if r and r.get("items_per_second") else None
        moved = r.get("moved_keys") if r else None
        L.append(f"| {n:,} | {fmt_time(cpu_ns(rows, f'project_keys/ringplan/{n}'))} | {fmt(mk)} | "
                 f"{f'{moved:,.0f}' if moved is not None else '–'} |")
    L.append("")
    return "\n".join(L) + "\n"


def plot(rows, png):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("report.py: gnuplot not found (Debian: gnuplot-nox), no plot", file=sys.stderr)
        return False
    series = [("owner", impl) for impl in IMPLS] + [("owner_batch", "ringplan")] + \
             [("owner_latency", impl) for impl in IMPLS]
    with tempfile.TemporaryDirectory() as tmp:
        dat = os.path.join(tmp, "owner.dat")
        with open(dat, "w") as f:
            for n in LOOKUP_SIZES:
                vals = [per_item_ns(rows, f"{fam}/{impl}/{n}") for fam, impl in series]
                f.write(f"{n} " + " ".join("NaN" if v is None else f"{v:.4g}" for v in vals) + "\n")
        colors = {"ringplan": "#d62728", "std_map": "#1f77b4", "sorted_vector": "#2ca02c", "jump": "#7f7f7f"}

        def lines(fam_filter, title_fn):
            parts = []
            for i, (fam, impl) in enumerate(series):
                if fam not in fam_filter:
                    continue
                dash = "dt 2" if fam == "owner_batch" else "dt 1"
                parts.append(f"'{dat}' using 1:{i + 2} with linespoints lw 2 pt 7 ps 0.6 {dash} "
                             f"lc rgb '{colors[impl]}' title '{title_fn(fam, impl)}'")
            return ", ".join(parts)

        script = f"""
set terminal pngcairo size 960,400 font 'DejaVu Sans,9' noenhanced
set output '{png}'
set logscale xy
set grid
set key top left Left reverse
set xrange [600:1.7e6]
set xlabel 'vnodes in the ring'
set ylabel 'ns per lookup (median CPU time)'
set xtics ('10^3' 1000, '10^4' 10000, '10^5' 100000, '10^6' 1000000)
set yrange [1:3000]
set multiplot layout 1,2
set title 'owner: independent lookups'
plot {lines(('owner', 'owner_batch'), lambda f, i: i + (' owners_at (batch)' if f == 'owner_batch' else ''))}
set title 'owner_latency: each lookup waits for the previous'
plot {lines(('owner_latency',), lambda f, i: i)}
unset multiplot
"""
        res = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
        if res.returncode != 0:
            print(res.stderr, file=sys.stderr)
            return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--machine", help="a file of 'key: value' lines describing the machine")
    ap.add_argument("--md", help="markdown output (default: stdout)")
    ap.add_argument("--png", help="plot of owner time against ring size")
    args = ap.parse_args()

    context, rows, has_median = load(args.json)
    machine = []
    if args.machine and os.path.exists(args.machine):
        with open(args.machine) as f:
            for line in f:
                if ":" in line:
                    k, v = line.split(":", 1)
                    machine.append((k.strip(), v.strip()))
    text = render(context, machine, rows, has_median)
    if args.png and plot(rows, os.path.abspath(args.png)):
        text += f"\n![owner time against ring size]({os.path.basename(args.png)})\n"
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
