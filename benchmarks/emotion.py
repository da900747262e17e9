"""Text-emotion benchmark: GoEmotions (Ekman labels) test macro-F1 of Parlance's text-emotion model
(MiniLM + LoRA, per-label thresholds tuned on dev) vs TF-IDF + one-vs-rest logistic regression
(thresholds tuned on dev the same way), trained here on the same training split.

    python benchmarks/emotion.py --limit 1000     # quick
    python benchmarks/emotion.py                  # full test split (5,427 comments)

Speed (benchmarks/harness.py): per-comment time at batch 64 (median of --repeats passes after a
warm-up pass) and batch-1 latency p50/p90/p99 (one timed loop after warm-up calls) for both
systems, with ratios to the peer; peak RSS of each. The last line printed is one JSON object with
the figures and the machine's facts.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.harness import PeakRss, finish, ratio, throughput, time_calls  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--latency-sentences", type=int, default=300)
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
    texts = [r["text"] for r in test]
    with PeakRss() as ours_mem:
        clf = TextEmotionClassifier(project_artifact(DEFAULT_ARTIFACT))
        preds = clf.predict(texts)
        rate = throughput(clf.predict, [texts[i:i + 64] for i in range(0, min(len(texts), 1024), 64)],
                          items=min(len(texts), 1024), passes=args.repeats)
        lat = time_calls(lambda t: clf.predict([t]), texts[: args.latency_sentences])
    probs = torch.tensor([[p.scores[lab] for lab in labels] for p in preds])
    ours = f1_per_label(probs, y_test, clf.thresholds)
    ours_05 = f1_per_label(probs, y_test, 0.5)

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    with PeakRss() as peer_mem:
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        lr = OneVsRestClassifier(LogisticRegression(max_iter=2000, C=4.0)).fit(
            vec.fit_transform([r["text"] for r in train]), targets(train).numpy())
        pv = torch.tensor(lr.predict_proba(vec.transform([r["text"] for r in valid])), dtype=torch.float32)
        th = tune_thresholds(pv, targets(valid))
        pt = torch.tensor(lr.predict_proba(vec.transform(texts)), dtype=torch.float32)
        peer_rate = throughput(lambda b: lr.predict_proba(vec.transform(b)),
                               [texts[i:i + 64] for i in range(0, min(len(texts), 1024), 64)],
                               items=min(len(texts), 1024), passes=args.repeats)
        peer_lat = time_calls(lambda t: lr.predict_proba(vec.transform([t])), texts[: args.latency_sentences])
    peer = f1_per_label(pt, y_test, th)
    print(f"\nGoEmotions Ekman test: {len(test)} comments\n")
    print(f"{'label':10} {'parlance F1':>12} {'tfidf+LR F1':>12}")
    for i, lab in enumerate(labels):
        print(f"{lab:10} {ours[i]:12.3f} {peer[i]:12.3f}")
    print(f"{'macro':10} {ours.mean():12.3f} {peer.mean():12.3f}")
    print(f"\nbatch 64: {1000 / rate:.2f} ms per comment (TF-IDF+LR {1000 / peer_rate:.3f}); batch 1 p50/p90/p99 "
          f"{lat.p50_ms:.2f}/{lat.p90_ms:.2f}/{lat.p99_ms:.2f} ms (TF-IDF+LR p50 {peer_lat.p50_ms:.3f}); peak RSS "
          f"{ours_mem.peak_mb:.0f} MB (TF-IDF+LR {peer_mem.peak_mb:.0f} MB); {args.threads} threads")
    summary = {"macro_f1": round(float(ours.mean()), 4), "macro_f1_threshold_0_5": round(float(ours_05.mean()), 4),
               "macro_f1_tfidf_logreg": round(float(peer.mean()), 4),
               "per_label_f1": {lab: round(float(v), 4) for lab, v in zip(labels, ours)},
               "ms_per_comment_b64_ratio_vs_tfidf_logreg": ratio(1000 / rate, 1000 / peer_rate),
               "latency_ms_p50_b1_ratio_vs_tfidf_logreg": ratio(lat.p50_ms, peer_lat.p50_ms),
               "ms_per_comment_b64": round(1000 / rate, 3), "ms_per_comment_b64_tfidf_logreg": round(1000 / peer_rate, 4),
               "latency_ms_p50_b1": lat.p50_ms, "latency_ms_p90_b1": lat.p90_ms, "latency_ms_p99_b1": lat.p99_ms,
               "latency_ms_p50_b1_tfidf_logreg": peer_lat.p50_ms, "peak_rss_mb": ours_mem.peak_mb,
               "peak_rss_mb_tfidf_logreg": peer_mem.peak_mb, "n_test": len(test), "threads": args.threads}
    finish(summary)


if __name__ == "__main__":
    main()
