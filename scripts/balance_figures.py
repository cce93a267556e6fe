#!/usr/bin/env python3
"""The figures of docs/balance.md: max/mean and stddev/mean of replicated ownership on rings of
250 nodes, random (derived) tokens against allocated ones, measured with examples/tokens.

    scripts/balance_figures.py build/rel/examples/tokens [--svg docs/img/balance.svg]

prints the Markdown table of docs/balance.md and writes the plot of max/mean against T (SVG
written by hand: no plotting library needed).
"""
import argparse
import os
import subprocess
import tempfile

NODES = 250


def run(program, args, out_path=None):
    result = subprocess.run([program] + args, check=True, capture_output=True, text=True)
    if out_path:
        with open(out_path, "w") as f:
            f.write(result.stdout)
    return result.stdout


def stats(program, path, rf):
    out = run(program, ["stats", "--rf", str(rf), path])
    values = {}
    for line in out.splitlines():
        key, value = line.split()
        if "/" in key:
            values[key] = float(value)
    return values


def measure(program, tmp, kind, tokens, rfs):
    path = os.path.join(tmp, f"{kind}_{tokens}_{'_'.join(map(str, rfs))}")
    if kind == "random":
        run(program, ["random", "--nodes", str(NODES), "--tokens", str(tokens)], path)
    else:
        run(program, ["allocate", "--nodes", str(NODES), "--tokens", str(tokens), "--rf",
                      ",".join(map(str, rfs))], path)
    return {rf: stats(program, path, rf) for rf in (1, 3)}


def svg_plot(series, ts, path):
    width, height, left, right, top, bottom = 640, 400, 70, 170, 30, 50
    ymax = max(v for _, _, values in series for v in values) * 1.05
    ymin = 1.0

    def x(t):
        import math
        return left + (math.log2(t) - math.log2(ts[0])) / (math.log2(ts[-1]) - math.log2(ts[0])) * (
            width - left - right)

    def y(v):
        return top + (ymax - v) / (ymax - ymin) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2 - 60}" y="18" font-size="14">max/mean replicated ownership, '
             f'{NODES} nodes</text>']
    # Axes, grid and labels.
    parts.append(f'<line x1="{left}" y1="{y(ymin)}" x2="{width - right}" y2="{y(ymin)}" stroke="black"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y(ymin)}" stroke="black"/>')
    for t in ts:
        parts.append(f'<text x="{x(t) - 6}" y="{y(ymin) + 18}">{t}</text>')
    parts.append(f'<text x="{(left + width - right) / 2 - 80}" y="{height - 10}">'
                 f'vnodes per node (T, log scale)</text>')
    step = 0.5 if ymax > 4 else (0.25 if ymax > 2 else 0.1)
    v = ymin
    while v <= ymax:
        parts.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" '
                     f'stroke="#ddd"/>')
        parts.append(f'<text x="{left - 40}" y="{y(v) + 4:.1f}">{v:.2f}</text>')
        v += step
    for i, (label, color, values) in enumerate(series):
        dash = ' stroke-dasharray="6,4"' if label.startswith("random") else ""
        points = " ".join(f"{x(t):.1f},{y(val):.1f}" for t, val in zip(ts, values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" '
                     f'stroke-width="2"{dash}/>')
        for t, val in zip(ts, values):
            parts.append(f'<circle cx="{x(t):.1f}" cy="{y(val):.1f}" r="3" fill="{color}"/>')
        ly = top + 20 + 20 * i
        parts.append(f'<line x1="{width - right + 10}" y1="{ly}" x2="{width - right + 35}" '
                     f'y2="{ly}" stroke="{color}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{width - right + 40}" y="{ly + 4}">{label}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", help="the built examples/tokens")
    parser.add_argument("--svg", help="where to write the plot")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("| T | rf | random max/mean | random stddev/mean | allocated max/mean | "
              "allocated stddev/mean | bound 1+4/(T·rf) | aim 1+2/(T·rf) |")
        print("|---|---|---|---|---|---|---|---|")
        for tokens in (4, 8, 16):
            rnd = measure(args.program, tmp, "random", tokens, [])
            for rf in (1, 3):
                alloc = measure(args.program, tmp, "allocate", tokens, [rf])
                print(f"| {tokens} | {rf} | {rnd[rf]['max/mean']:.3f} | "
                      f"{rnd[rf]['stddev/mean']:.3f} | {alloc[rf]['max/mean']:.3f} | "
                      f"{alloc[rf]['stddev/mean']:.3f} | {1 + 4 / (tokens * rf):.3f} | "
                      f"{1 + 2 / (tokens * rf):.3f} |")
            both = measure(args.program, tmp, "allocate", tokens, [1, 3])
            for rf in (1, 3):
                print(f"| {tokens} | {rf} (balanced for 1+3) | {rnd[rf]['max/mean']:.3f} | "
                      f"{rnd[rf]['stddev/mean']:.3f} | {both[rf]['max/mean']:.3f} | "
                      f"{both[rf]['stddev/mean']:.3f} | {1 + 4 / (tokens * rf):.3f} | "
                      f"{1 + 2 / (tokens * rf):.3f} |")
        if args.svg:
            ts = [1, 2, 4, 8, 16, 32, 64]
            series = []
            for rf, color in ((1, "#1f77b4"), (3, "#d62728")):
                rnd = [measure(args.program, tmp, "random", t, [])[rf]["max/mean"] for t in ts]
                alloc = [measure(args.program, tmp, "allocate", t, [rf])[rf]["max/mean"]
                         for t in ts]
                print(f"plot, rf {rf}, T {ts}: random {[round(v, 3) for v in rnd]}, "
                      f"allocated {[round(v, 3) for v in alloc]}")
                series.append((f"random, rf {rf}", color, rnd))
                series.append((f"allocated, rf {rf}", color, alloc))
            svg_plot(series, ts, args.svg)


if __name__ == "__main__":
    main()
