#!/usr/bin/env python3
"""5-fold cross-validation of `rubric learn` beside the TF-IDF + logistic-regression baseline.

For each (file, topic) asked for, the lines labelled for the topic are split into 5 stratified
folds (scikit-learn StratifiedKFold, shuffled, seed 0: the folds of scripts/baseline.py). For
each fold, on the other four:

- `rubric learn --topic T` learns a rule file (and, with --rules, one on top of the base rules);
- the baseline (TF-IDF word 1-2 grams, sublinear tf + LogisticRegression liblinear C=1,
  class_weight=balanced, as scripts/baseline.py) is fitted;

and both label the held-out fold; `rubric eval` scores the rule files. The counts of the five
folds are pooled (as cross_val_predict pools predictions) into precision, recall and F1. The
base rules alone are scored on the same lines. Prints a Markdown table and a JSON summary.

Usage: scripts/crossval.py RUBRIC_BINARY BASE_RULES FILE:TOPIC... > crossval.md
Data lines never leave the temporary directory.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

FOLDS = 5
SEED = 0
# Extra options for every `rubric learn` (environment RUBRIC_LEARN_ARGS), to compare settings.
LEARN_ARGS = os.environ.get("RUBRIC_LEARN_ARGS", "").split()


def prf(c):
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def add(total, c):
    for k in ("tp", "fp", "fn", "tn"):
        total[k] += c[k]


def eval_counts(rubric, rules, data, topic):
    out = subprocess.run(
        [rubric, "eval", "--format", "json", "--rules", str(rules), str(data)],
        check=True, capture_output=True, text=True,
    ).stdout
    report = json.loads(out)["files"][0]["report"]
    for t in report["topics"]:
        if t["topic"] == topic:
            return t["counts"]
    raise SystemExit(f"eval gave no counts for {topic}")


def learn(rubric, train, topic, out, base=None):
    cmd = [rubric, "learn", "--topic", topic, str(train), "-o", str(out)] + LEARN_ARGS
    if base:
        cmd[2:2] = ["--rules", str(base)]
    started = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.monotonic() - started


def rule_count(path):
    return sum(1 for line in open(path, encoding="utf-8") if line.strip() == "[[rules]]")


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    rubric, base = sys.argv[1], sys.argv[2]
    results = []
    for target in sys.argv[3:]:
        path, topic = target.rsplit(":", 1)
        rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
        rows = [r for r in rows if topic in r.get("labels", {})]
        gold = [bool(r["labels"][topic]) for r in rows]
        texts = [r.get("title", "") + "\n" + r.get("body", "") for r in rows]
        totals = {k: {"tp": 0, "fp": 0, "fn": 0, "tn": 0} for k in ("learn", "learn_base", "baseline")}
        seconds, rules, rules_base = [], [], []
        cv = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for k, (train_idx, test_idx) in enumerate(cv.split(texts, gold)):
                train, test = tmp / f"train{k}.jsonl", tmp / f"test{k}.jsonl"
                for name, idx in ((train, train_idx), (test, test_idx)):
                    with open(name, "w", encoding="utf-8") as f:
                        for i in idx:
                            r = rows[i]
                            line = {"id": r.get("id", str(i)), "title": r.get("title", ""),
                                    "body": r.get("body", ""), "labels": {topic: gold[i]}}
                            f.write(json.dumps(line, ensure_ascii=False) + "\n")
                learned = tmp / f"learned{k}.toml"
                seconds.append(learn(rubric, train, topic, learned))
                rules.append(rule_count(learned))
                add(totals["learn"], eval_counts(rubric, learned, test, topic))
                learned_base = tmp / f"learned_base{k}.toml"
                learn(rubric, train, topic, learned_base, base)
                rules_base.append(rule_count(learned_base))
                add(totals["learn_base"], eval_counts(rubric, learned_base, test, topic))
                model = make_pipeline(
                    TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
                    LogisticRegression(solver="liblinear", C=1.0, class_weight="balanced"),
                )
                model.fit([texts[i] for i in train_idx], [gold[i] for i in train_idx])
                predicted = model.predict([texts[i] for i in test_idx])
                for i, p in zip(test_idx, predicted):
                    g = gold[i]
                    key = ("tp" if p else "fn") if g else ("fp" if p else "tn")
                    totals["baseline"][key] += 1
            all_test = tmp / "all.jsonl"
            with open(all_test, "w", encoding="utf-8") as f:
                for i, r in enumerate(rows):
                    line = {"id": r.get("id", str(i)), "title": r.get("title", ""),
                            "body": r.get("body", ""), "labels": {topic: gold[i]}}
                    f.write(json.dumps(line, ensure_ascii=False) + "\n")
            totals["base"] = eval_counts(rubric, base, all_test, topic)
        results.append({
            "file": Path(path).name, "topic": topic, "lines": len(rows), "support": sum(gold),
            "f1": {k: prf(v)[2] for k, v in totals.items()},
            "precision": {k: prf(v)[0] for k, v in totals.items()},
            "recall": {k: prf(v)[1] for k, v in totals.items()},
            "rules": rules, "rules_base": rules_base, "learn_seconds": seconds,
        })
        print(f"{target}: done", file=sys.stderr)

    print("| file | topic | support / lines | learned F1 (P / R) | rules per fold | learned on base rules F1 | base rules alone F1 | baseline F1 | learned / baseline | 0.95x met | on base >= both |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        f, p, rc = r["f1"], r["precision"], r["recall"]
        ratio = f["learn"] / f["baseline"] if f["baseline"] else float("inf")
        both = f["learn_base"] >= max(f["learn"], f["base"])
        print(
            f"| `{r['file']}` | {r['topic']} | {r['support']} / {r['lines']} | "
            f"{f['learn']:.3f} ({p['learn']:.3f} / {rc['learn']:.3f}) | {min(r['rules'])}-{max(r['rules'])} | "
            f"{f['learn_base']:.3f} | {f['base']:.3f} | {f['baseline']:.3f} | {ratio:.2f}x | "
            f"{'yes' if ratio >= 0.95 else '**no**'} | {'yes' if both else '**no**'} |"
        )
    print()
    print("```json")
    print(json.dumps(results, indent=1))
    print("```")


if __name__ == "__main__":
    main()
