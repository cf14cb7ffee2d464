#!/usr/bin/env python3
"""Print the figures and ratios of BENCHMARKS.md from criterion's estimates of one run.

Usage: python3 scripts/bench-summary.py [TARGET_DIR]   (default: target)

Reads TARGET_DIR/criterion/{scan,compile}/*/new/estimates.json (the last `cargo bench --bench
engine` run), and the corpus size from benches/support (printed by the bench as throughput).
Medians are used throughout.
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target") / "criterion"
ARTICLES = None


def median_ns(group, *parts):
    # criterion keeps the last run in new/, and in base/ when it saved it as the baseline
    path = root.joinpath(group, *parts, "new", "estimates.json")
    if not path.exists():
        path = root.joinpath(group, *parts, "base", "estimates.json")
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def bench_meta(group, *parts):
    path = root.joinpath(group, *parts, "new", "benchmark.json")
    return json.loads(path.read_text()) if path.exists() else {}


meta = bench_meta("scan", "tokenize")
corpus_bytes = (meta.get("throughput") or {}).get("Bytes")
articles = 1613  # 322 + 1290 dev articles + the seed article (benches/support::corpus)

sets = ["default", "phoenix", "synthetic-1k", "synthetic-10k", "synthetic-100k", "synthetic-1k+99k-reversed"]
tok = median_ns("scan", "tokenize")


def mbps(ns):
    return corpus_bytes / (ns / 1e9) / 1e6 if ns and corpus_bytes else float("nan")


print(f"corpus: {articles} articles, {corpus_bytes} bytes")
print(f"tokenize only: {mbps(tok):.1f} MB/s, {tok / articles / 1000:.2f} us/article")
print()
print("| rules | classify, evidence | classify, no evidence | aho-corasick scan | rubric / aho-corasick (evidence, no evidence) | compile |")
print("|---|---|---|---|---|---|")
per_article = {}
for s in sets:
    ev = median_ns("scan", "classify_evidence", s)
    ne = median_ns("scan", "classify_no-evidence", s)
    ac = median_ns("scan", "aho-corasick", s)
    comp = median_ns("compile", s)
    if None in (ev, ne, ac):
        print(f"| {s} | (not measured) |")
        continue
    per_article[s] = (ev / articles / 1000, ne / articles / 1000)
    print(
        f"| {s} | {mbps(ev):.1f} MB/s, {ev / articles / 1000:.1f} us/article "
        f"| {mbps(ne):.1f} MB/s, {ne / articles / 1000:.1f} us/article "
        f"| {mbps(ac):.1f} MB/s | {ac / ev:.2f}x, {ac / ne:.2f}x "
        + (f"| {comp / 1e9:.3f} s |" if comp else "| - |")
    )
if "synthetic-1k" in per_article and "synthetic-100k" in per_article:
    a, b = per_article["synthetic-1k"], per_article["synthetic-100k"]
    print()
    print(f"time per article, 100k rules / 1k rules: {b[0] / a[0]:.2f}x with evidence, {b[1] / a[1]:.2f}x without")
if "synthetic-1k" in per_article and "synthetic-1k+99k-reversed" in per_article:
    a, b = per_article["synthetic-1k"], per_article["synthetic-1k+99k-reversed"]
    print(f"time per article, 1k + 99k reversed rules / 1k rules: {b[0] / a[0]:.2f}x with evidence, {b[1] / a[1]:.2f}x without")

seed = median_ns("seed-article", "classify_evidence_default")
seed_ascii = median_ns("seed-article", "classify_evidence_default-ascii-punctuation")
if seed and seed_ascii:
    print()
    print(
        f"seed article (default rules, evidence): {seed / 1000:.1f} us; with ASCII punctuation "
        f"{seed_ascii / 1000:.1f} us; ratio {seed / seed_ascii:.2f}x"
    )
