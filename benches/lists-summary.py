#!/usr/bin/env python3
"""Print the "Named lists" table of BENCHMARKS.md from criterion's estimates of one run of
`cargo bench --bench lists -- lists-`.

Usage: python3 benches/lists-summary.py [TARGET_DIR]   (default: target)

Medians throughout, as scripts/bench-summary.py; 1,613 articles (benches/support::corpus).
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target") / "criterion"
ARTICLES = 1613
SETS = ["terms-50k", "list-50k-one-rule", "lists-50k-per-topic", "list-50k-near", "default"]
MET = 1.1  # a list costs "no more" per article than the terms when within 10 % (noise)


def load(group, name, what):
    path = root / group / name / "new" / what
    return json.loads(path.read_text()) if path.exists() else None


def median_ns(group, name):
    est = load(group, name, "estimates.json")
    return est["median"]["point_estimate"] if est else None


meta = load("lists-classify", "terms-50k", "benchmark.json") or {}
corpus_bytes = (meta.get("throughput") or {}).get("Bytes")
print(f"corpus: {ARTICLES} articles, {corpus_bytes} bytes")
print()
print(
    "| rule set | wall time: MB/s, per article, / terms-50k "
    "| CPU time: per article, / terms-50k | compile |"
)
print("|---|---|---|---|")
wall = {s: median_ns("lists-classify", s) for s in SETS}
cpu = {s: median_ns("lists-classify-cpu", s) for s in SETS}


def cell(ns, base, mbps=False):
    if ns is None or base is None:
        return "-"
    speed = f"{corpus_bytes / (ns / 1e9) / 1e6:.1f} MB/s, " if mbps and corpus_bytes else ""
    return f"{speed}{ns / ARTICLES / 1000:.1f} us, {ns / base:.2f}x"


for s in SETS:
    comp = median_ns("lists-compile", s)
    print(
        f"| {s} | {cell(wall[s], wall['terms-50k'], mbps=True)} "
        f"| {cell(cpu[s], cpu['terms-50k'])} | " + (f"{comp / 1e9:.3f} s |" if comp else "- |")
    )
print()
for s in ["list-50k-one-rule", "lists-50k-per-topic", "list-50k-near"]:
    for label, t in (("wall", wall), ("CPU", cpu)):
        if t[s] and t["terms-50k"]:
            r = t[s] / t["terms-50k"]
            verdict = "met" if r <= MET else "NOT met"
            print(f"{s} / terms-50k, {label} time: {r:.2f}x per article: {verdict} (<= {MET}x)")
