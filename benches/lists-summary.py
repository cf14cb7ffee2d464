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


corpus_bytes = (load("lists-classify", "terms-50k", "benchmark.json") or {}).get("throughput", {}).get("Bytes")
print(f"corpus: {ARTICLES} articles, {corpus_bytes} bytes")
print()
print("| rule set | classify, evidence | per article | / terms-50k | compile |")
print("|---|---|---|---|---|")
base = median_ns("lists-classify", "terms-50k")
for s in SETS:
    ns = median_ns("lists-classify", s)
    if ns is None:
        print(f"| {s} | (not measured) |")
        continue
    comp = median_ns("lists-compile", s)
    print(
        f"| {s} | {corpus_bytes / (ns / 1e9) / 1e6:.1f} MB/s | {ns / ARTICLES / 1000:.1f} us "
        f"| {ns / base:.2f}x | " + (f"{comp / 1e9:.3f} s |" if comp else "- |")
    )
print()
for s in ["list-50k-one-rule", "lists-50k-per-topic", "list-50k-near"]:
    ns = median_ns("lists-classify", s)
    if ns and base:
        r = ns / base
        print(f"{s} / terms-50k: {r:.2f}x per article: {'met' if r <= MET else 'NOT met'} (<= {MET}x)")
