"""Intent benchmark: Parlance's intent classifier (MiniLM + LoRA, int8 on CPU) vs two classic peers
trained on the same data in the same run: TF-IDF + logistic regression, and frozen MiniLM sentence
embeddings + logistic regression.

    python benchmarks/intent.py --limit 500     # quick
    python benchmarks/intent.py                 # full: Banking77 test (3,080) + CLINC150 oos_test (1,000)

Figures: Banking77 test accuracy (argmax over the 77 intents); out-of-scope recall on CLINC150's
oos_test at the operating point that keeps >= 90% in-scope accuracy (right intent and not flagged),
and at the shipped threshold (chosen on validation data, never on test); CPU latency per utterance
at batch 1 for every system (benchmarks/harness.py: warm-up calls, then p50/p90/p99 of one timed
loop over --latency-sentences test sentences), throughput at batch 64 (median of --repeats
passes), peak RSS per system, and the speed ratios to the peers measured in the same run.
The last line printed is one JSON object with the figures and the machine's facts.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.harness import PeakRss, finish, ratio, throughput, time_calls  # noqa: E402


def load(data: Path, limit: int | None):
    from core.recipes.intent.banking77.prepare import OOS, prepare

    out = ROOT / "runs" / "bench_intent_manifests"
    prepare(data, out)
    rows = lambda n: [json.loads(x) for x in (out / n).read_text().splitlines()]  # noqa: E731
    train, valid, test = rows("train.jsonl"), rows("valid.jsonl"), rows("test.jsonl")
    if limit:
        ins = [r for r in test if r["label"] != OOS][:limit]
        oos = [r for r in test if r["label"] == OOS][: max(1, limit // 3)]
        test = ins + oos
    return train, valid, test, OOS


def operating_point(probs: np.ndarray, labels: list[str], classes: list[str], oos: str) -> dict:
    from core.text.calibration import oos_operating_point

    y = torch.tensor([classes.index(lab) for lab in labels])
    return oos_operating_point(torch.tensor(probs), y, classes.index(oos), min_in_scope_accuracy=0.90)


def accuracy(probs: np.ndarray, labels: list[str], classes: list[str], oos: str) -> float:
    inside = [i for i, lab in enumerate(labels) if lab != oos]
    p = probs[inside].copy()
    p[:, classes.index(oos)] = -1
    return float(np.mean([classes[j] == labels[i] for i, j in zip(inside, p.argmax(1))]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--latency-sentences", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    train, valid, test, OOS = load(args.data, args.limit)
    texts, labels = [r["text"] for r in test], [r["label"] for r in test]
    results: dict[str, dict] = {}

    from core.model_resolver import project_artifact
    from core.text.intent import DEFAULT_ARTIFACT, IntentClassifier

    with PeakRss() as mem:
        clf = IntentClassifier(project_artifact(DEFAULT_ARTIFACT))
        probs = torch.cat([clf.probabilities(texts[i:i + 64]) for i in range(0, len(texts), 64)]).numpy()
        shipped = [r.out_of_scope for r in clf.predict(texts)]
    classes = clf.labels
    inside = [i for i, lab in enumerate(labels) if lab != OOS]
    outside = [i for i, lab in enumerate(labels) if lab == OOS]
    pred = [r.intent for r in clf.predict([texts[i] for i in inside])]
    lat_texts = [texts[i] for i in inside][: args.latency_sentences]
    one = lambda fn: (lambda t: fn([t]))  # noqa: E731 - batch 1
    results["parlance"] = {
        "accuracy": accuracy(probs, labels, classes, OOS),
        **{f"at90_{k}": v for k, v in operating_point(probs, labels, classes, OOS).items()},
        "shipped_threshold": clf.threshold,
        "shipped_in_scope_accuracy": float(np.mean([pred[k] == labels[i] for k, i in enumerate(inside)])),
        "shipped_oos_recall": float(np.mean([shipped[i] for i in outside])) if outside else 0.0,
        "latency": time_calls(one(clf.probabilities), lat_texts),
        "throughput_per_s_b64": throughput(clf.probabilities, _batches([texts[i] for i in inside][:1024], 64),
                                           items=len(inside[:1024]), passes=args.repeats),
        "artifact_mb": project_artifact(DEFAULT_ARTIFACT).stat().st_size / 1e6,
        "peak_rss_mb": mem.peak_mb,
    }
    with PeakRss() as mem:
        fp32 = IntentClassifier(project_artifact(DEFAULT_ARTIFACT), precision="fp32")
        results["parlance"]["latency_fp32"] = time_calls(one(fp32.probabilities), lat_texts)
    results["parlance"]["peak_rss_mb_fp32"] = mem.peak_mb

    # peers, trained here on the same training manifest
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    tr_x, tr_y = [r["text"] for r in train], [r["label"] for r in train]
    with PeakRss() as mem:
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        lr = LogisticRegression(max_iter=2000, C=20.0).fit(vec.fit_transform(tr_x), tr_y)
        p = _reorder(lr.predict_proba(vec.transform(texts)), list(lr.classes_), classes)
        lat = time_calls(lambda t: lr.predict_proba(vec.transform([t])), lat_texts)
    results["tfidf_logreg"] = {"accuracy": accuracy(p, labels, classes, OOS),
                               **{f"at90_{k}": v for k, v in operating_point(p, labels, classes, OOS).items()},
                               "latency": lat, "peak_rss_mb": mem.peak_mb}
    with PeakRss() as mem:
        emb = _frozen_embedder()
        lr2 = LogisticRegression(max_iter=3000, C=10.0).fit(_embed(emb, tr_x), tr_y)
        p2 = _reorder(lr2.predict_proba(_embed(emb, texts)), list(lr2.classes_), classes)
        lat = time_calls(lambda t: lr2.predict_proba(_embed(emb, [t])), lat_texts)
    results["minilm_frozen_logreg"] = {"accuracy": accuracy(p2, labels, classes, OOS),
                                       **{f"at90_{k}": v for k, v in operating_point(p2, labels, classes, OOS).items()},
                                       "latency": lat, "peak_rss_mb": mem.peak_mb}
    pr = results["parlance"]
    peer = results["minilm_frozen_logreg"]["latency"].p50_ms
    print(f"\nBanking77 test: {len(inside)} utterances; CLINC150 oos_test: {len(outside)}; {args.threads} CPU threads; "
          f"latency over {len(lat_texts)} sentences after warm-up\n")
    print(f"{'system':24} {'accuracy':>9} {'OOS recall@90':>14} {'in-scope acc':>13} {'p50 ms':>8} {'p90 ms':>8} "
          f"{'p99 ms':>8} {'p50 vs frozen+LR':>17} {'peak RSS':>9}")
    for name, r in results.items():
        lat = r["latency"]
        print(f"{name:24} {r['accuracy']:9.4f} {r['at90_oos_recall']:14.4f} {r['at90_in_scope_accuracy']:13.4f} "
              f"{lat.p50_ms:8.2f} {lat.p90_ms:8.2f} {lat.p99_ms:8.2f} {ratio(lat.p50_ms, peer):16.2f}x "
              f"{r['peak_rss_mb']:8.0f}M")
    print(f"\nshipped threshold {pr['shipped_threshold']:.3f}: in-scope accuracy {pr['shipped_in_scope_accuracy']:.4f}, "
          f"OOS recall {pr['shipped_oos_recall']:.4f}; same model fp32: p50 {pr['latency_fp32'].p50_ms:.2f} ms "
          f"(int8 is {ratio(pr['latency_fp32'].p50_ms, pr['latency'].p50_ms):.2f}x faster); "
          f"batch-64 throughput {pr['throughput_per_s_b64']:.0f}/s; artifact {pr['artifact_mb']:.2f} MB")
    summary = {"banking77_accuracy": round(pr["accuracy"], 4), "oos_recall_at_90_in_scope": round(pr["at90_oos_recall"], 4),
               "shipped_in_scope_accuracy": round(pr["shipped_in_scope_accuracy"], 4),
               "shipped_oos_recall": round(pr["shipped_oos_recall"], 4),
               "latency_ms_p50_b1_ratio_vs_minilm_frozen_logreg": ratio(pr["latency"].p50_ms, peer),
               "latency_ms_p50_b1_ratio_vs_tfidf_logreg": ratio(pr["latency"].p50_ms,
                                                                results["tfidf_logreg"]["latency"].p50_ms),
               "int8_speedup_vs_fp32_p50": ratio(pr["latency_fp32"].p50_ms, pr["latency"].p50_ms),
               "latency_ms_p50_b1": pr["latency"].p50_ms, "latency_ms_p90_b1": pr["latency"].p90_ms,
               "latency_ms_p99_b1": pr["latency"].p99_ms, "latency_ms_p50_b1_fp32": pr["latency_fp32"].p50_ms,
               "latency_ms_p50_b1_minilm_frozen_logreg": peer,
               "latency_ms_p50_b1_tfidf_logreg": results["tfidf_logreg"]["latency"].p50_ms,
               "throughput_per_s_b64": pr["throughput_per_s_b64"], "artifact_mb": round(pr["artifact_mb"], 2),
               "peak_rss_mb": pr["peak_rss_mb"], "peak_rss_mb_fp32": pr["peak_rss_mb_fp32"],
               "peak_rss_mb_minilm_frozen_logreg": results["minilm_frozen_logreg"]["peak_rss_mb"],
               "peak_rss_mb_tfidf_logreg": results["tfidf_logreg"]["peak_rss_mb"],
               "accuracy_tfidf_logreg": round(results["tfidf_logreg"]["accuracy"], 4),
               "accuracy_minilm_frozen_logreg": round(results["minilm_frozen_logreg"]["accuracy"], 4),
               "oos_recall_at_90_tfidf_logreg": round(results["tfidf_logreg"]["at90_oos_recall"], 4),
               "oos_recall_at_90_minilm_frozen_logreg": round(results["minilm_frozen_logreg"]["at90_oos_recall"], 4),
               "n_test_in_scope": len(inside), "n_test_oos": len(outside), "threads": args.threads}
    finish(summary)


def _batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _reorder(p: np.ndarray, have: list[str], want: list[str]) -> np.ndarray:
    out = np.zeros((len(p), len(want)))
    for j, c in enumerate(have):
        out[:, want.index(c)] = p[:, j]
    return out


def _frozen_embedder():
    from core.text.encoder import EncoderConfig, TextEncoder

    enc = TextEncoder(EncoderConfig(lora_rank=0)).eval()
    return enc


@torch.inference_mode()
def _embed(enc, texts: list[str]) -> np.ndarray:
    from core.text.encoder import mean_pool

    out = []
    for i in range(0, len(texts), 128):
        b = enc.tokenize(texts[i:i + 128])
        e = mean_pool(enc(b["input_ids"], b["attention_mask"]), b["attention_mask"])
        out.append(torch.nn.functional.normalize(e, dim=-1).numpy())
    return np.concatenate(out)


if __name__ == "__main__":
    main()
