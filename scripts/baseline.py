#!/usr/bin/env python3
"""TF-IDF + logistic-regression baseline for rubric's labelled data.

For each file and each topic, the lines where the topic is labelled (a missing label means unknown)
are classified by 5-fold stratified cross-validation: each line is predicted by a model trained on
the other four folds. The pooled predictions give precision, recall and F1, comparable to
`rubric eval` on the same lines.

Model: scikit-learn TfidfVectorizer (word 1-2 grams, sublinear tf, lowercase) on title + body, and
LogisticRegression (liblinear, C=1.0, class_weight="balanced"). Seeded, so runs repeat exactly.

Usage: scripts/baseline.py DATA.jsonl... > baseline.json
"""

import json
import sys

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline

FOLDS = 5
SEED = 0


def evaluate(path):
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    topics = sorted({t for r in rows for t in r.get("labels", {})})
    out = {}
    for topic in topics:
        labelled = [r for r in rows if topic in r.get("labels", {})]
        texts = [(r.get("title", "") + "\n" + r.get("body", "")) for r in labelled]
        gold = [bool(r["labels"][topic]) for r in labelled]
        positives = sum(gold)
        folds = min(FOLDS, positives, len(gold) - positives)
        if folds < 2:
            out[topic] = {"support": positives, "labelled": len(gold), "skipped": "too few examples of a class"}
            continue
        model = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
            LogisticRegression(solver="liblinear", C=1.0, class_weight="balanced"),
        )
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
        predicted = cross_val_predict(model, texts, gold, cv=cv)
        out[topic] = {
            "support": positives,
            "labelled": len(gold),
            "folds": folds,
            "precision": precision_score(gold, predicted, zero_division=0),
            "recall": recall_score(gold, predicted, zero_division=0),
            "f1": f1_score(gold, predicted, zero_division=0),
            # For paired comparisons (scripts/evaluate.sh): the ids predicted true.
            "predicted_true": [r["id"] for r, p in zip(labelled, predicted) if p],
        }
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    json.dump({path: evaluate(path) for path in sys.argv[1:]}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
