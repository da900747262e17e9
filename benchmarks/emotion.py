"""Text-emotion benchmark: GoEmotions (Ekman labels) test macro-F1 of Parlance's text-emotion model
(MiniLM + LoRA, per-label thresholds tuned on dev) vs TF-IDF + one-vs-rest logistic regression
(thresholds tuned on dev the same way), trained here on the same training split.

    python benchmarks/emotion.py --limit 1000     # quick
    python benchmarks/emotion.py                  # full test split (5,427 comments)

The last line printed is one JSON object with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from core.model_resolver import project_artifact
    from core.recipes.text_emotion.goemotions.prepare import prepare
    from core.text.emotion import DEFAULT_ARTIFACT, TextEmotionClassifier
    from core.text.metrics import f1_per_label, tune_thresholds

    out = ROOT / "runs" / "bench_emotion_manifests"
    prepare(args.data, out)
    rows = lambda n: [json.loads(x) for x in (out / n).read_text().splitlines()]  # noqa: E731
    train, valid, test = rows("train.jsonl"), rows("valid.jsonl"), rows("test.jsonl")
    test = test[: args.limit] if args.limit else test
    labels = json.loads((out / "labels.json").read_text())

    def targets(rs):
        return torch.tensor([[1.0 if lab in r["labels"] else 0.0 for lab in labels] for r in rs])

    y_test = targets(test)
    clf = TextEmotionClassifier(project_artifact(DEFAULT_ARTIFACT))
    texts = [r["text"] for r in test]
    runs = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        preds = clf.predict(texts)
        runs.append((time.perf_counter() - t) / len(texts))
    probs = torch.tensor([[p.scores[lab] for lab in labels] for p in preds])
    ours = f1_per_label(probs, y_test, clf.thresholds)
    ours_05 = f1_per_label(probs, y_test, 0.5)

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    lr = OneVsRestClassifier(LogisticRegression(max_iter=2000, C=4.0)).fit(
        vec.fit_transform([r["text"] for r in train]), targets(train).numpy())
    pv = torch.tensor(lr.predict_proba(vec.transform([r["text"] for r in valid])), dtype=torch.float32)
    th = tune_thresholds(pv, targets(valid))
    pt = torch.tensor(lr.predict_proba(vec.transform(texts)), dtype=torch.float32)
    peer = f1_per_label(pt, y_test, th)
    print(f"\nGoEmotions Ekman test: {len(test)} comments\n")
    print(f"{'label':10} {'parlance F1':>12} {'tfidf+LR F1':>12}")
    for i, lab in enumerate(labels):
        print(f"{lab:10} {ours[i]:12.3f} {peer[i]:12.3f}")
    print(f"{'macro':10} {ours.mean():12.3f} {peer.mean():12.3f}")
    summary = {"macro_f1": round(float(ours.mean()), 4), "macro_f1_threshold_0_5": round(float(ours_05.mean()), 4),
               "macro_f1_tfidf_logreg": round(float(peer.mean()), 4),
               "per_label_f1": {lab: round(float(v), 4) for lab, v in zip(labels, ours)},
               "ms_per_comment_b64": round(1000 * statistics.median(runs), 3), "n_test": len(test)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
