"""Biomedical NER benchmark: entity-level exact-match micro F1 on the BC5CDR test split (Chemical,
Disease) and NCBI-disease test (Disease) for Parlance's tagger (MiniLM + LoRA, bf16 on CPU), next
to a dictionary peer run in the same process: longest-match lookup of every entity string seen in
the training split (the classic gazetteer baseline) or, when the tagger was trained with dictionary
features, of that same dictionary (so the peer knows exactly the names the tagger was given).

    python benchmarks/ner.py --limit 300     # quick
    python benchmarks/ner.py                 # full test splits (4,797 + 940 sentences)
    python benchmarks/ner.py --precision int8   # the same tagger int8-quantised (faster, lower NCBI F1)
    python benchmarks/ner.py --split holdout    # the dev sentences kept out of training (choices are made here)

Also: CPU latency per sentence at batch 1 for the tagger and the dictionary peer (benchmarks/harness.py:
warm-up, then p50/p90/p99 of one timed loop over --latency-sentences BC5CDR test sentences; the
tagger's p50 as a ratio to the peer's), peak RSS of each, and the artifact size. The last line
printed is one JSON object with the figures and the machine's facts.
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

from benchmarks.harness import PeakRss, finish, ratio, time_calls  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--latency-sentences", type=int, default=300)
    ap.add_argument("--artifact", type=Path, default=None, help="default: the committed NER artifact")
    ap.add_argument("--split", choices=("test", "holdout"), default="test",
                    help="holdout: the last dev sentences the second training stage kept out (its hparams' holdout)")
    ap.add_argument("--precision", choices=("bf16", "int8", "fp32"), default="bf16",
                    help="inference precision (default: the app's, bf16; fp32 where the CPU lacks bf16)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from core.model_resolver import project_artifact
    from core.text.artifact import read_artifact
    from core.recipes.ner.bc5cdr_ncbi.prepare import prepare
    from core.text.gazetteer import Gazetteer, corpus_table
    from core.text.metrics import entity_prf
    from core.text.ner import DEFAULT_ARTIFACT, BiomedicalNER
    from core.text.tagger import bio_spans

    out = ROOT / "runs" / "bench_ner_manifests"
    prepare(args.data, out)
    rows = lambda n: [json.loads(x) for x in (out / n).read_text().splitlines()]  # noqa: E731
    artifact = args.artifact or project_artifact(DEFAULT_ARTIFACT)
    mem = PeakRss().start()  # the tagger's memory: loading, tagging the test sets, the timing loop
    ner = BiomedicalNER(artifact, precision=args.precision)
    dtype = next(ner.model.parameters(), torch.zeros(0)).dtype if args.precision != "int8" else "int8"
    print(f"precision: {args.precision} (runs as {dtype})")
    peer_name = "shipped gazetteer" if ner.gazetteer is not None else "training-set strings"
    print(f"dictionary peer: {peer_name}")
    holdout = read_artifact(artifact)["trained"]["hparams"].get("holdout") if args.split == "holdout" else None
    if args.split == "holdout" and not holdout:
        raise SystemExit("this artifact was trained without a holdout; use --split test")

    def evaluated(name: str) -> list[dict]:
        if holdout:
            return rows(f"{name}_valid.jsonl")[-int(holdout[name]):]
        return rows(f"{name}_test.jsonl")

    figures: dict[str, float] = {}
    print(f"\n{args.split + ' set':16} {'type':10} {'Parlance P/R/F1':>22} {'dictionary P/R/F1':>22}")
    for name in ("bc5cdr", "ncbi"):
        test = evaluated(name)[: args.limit] if args.limit else evaluated(name)
        lookup = ner.gazetteer
        if lookup is None:
            lookup = Gazetteer(corpus_table(rows(f"{name}_train.jsonl"), min_ratio=0.0))
        gold = [bio_spans(r["tags"]) for r in test]
        pred = []
        for i in range(0, len(test), 32):
            pred += [bio_spans(t) for t in ner.tag_words([r["tokens"] for r in test[i:i + 32]], name)]
        types = {t[2:] for t in ner.tags[name] if t != "O"}
        dict_pred = [{m for m in lookup.matches(r["tokens"]) if m[2] in types} for r in test]
        kinds = sorted({k for s in gold for *_, k in s})
        for kind in kinds + ["all"]:
            sel = (lambda s: s) if kind == "all" else (lambda s, k=kind: {x for x in s if x[2] == k})
            ours = entity_prf([sel(g) for g in gold], [sel(p) for p in pred])
            peer = entity_prf([sel(g) for g in gold], [sel(p) for p in dict_pred])
            print(f"{name + ' (' + str(len(test)) + ')':16} {kind:10} "
                  f"{ours['precision']:6.3f}/{ours['recall']:6.3f}/{ours['f1']:6.3f}  "
                  f"{peer['precision']:6.3f}/{peer['recall']:6.3f}/{peer['f1']:6.3f}")
            figures[f"{name}_{kind.lower()}_f1"] = round(ours["f1"], 4)
            figures[f"{name}_{kind.lower()}_f1_dictionary"] = round(peer["f1"], 4)
    sentences = [r["tokens"] for r in rows("bc5cdr_test.jsonl")][: args.latency_sentences]
    lat = time_calls(lambda s: ner.tag_words([s], "bc5cdr"), sentences)
    mem.stop()
    lookup = ner.gazetteer or Gazetteer(corpus_table(rows("bc5cdr_train.jsonl"), min_ratio=0.0))
    peer = time_calls(lookup.matches, sentences)
    figures.update({"latency_ms_p50_b1": lat.p50_ms, "latency_ms_p90_b1": lat.p90_ms, "latency_ms_p99_b1": lat.p99_ms,
                    "latency_ms_p50_b1_dictionary": peer.p50_ms,
                    "latency_ms_p50_b1_ratio_vs_dictionary": ratio(lat.p50_ms, peer.p50_ms),
                    "peak_rss_mb": mem.peak_mb})
    size = Path(artifact).stat().st_size
    if ner.gazetteer is not None:
        size += ner.gazetteer_path.stat().st_size
    figures["artifact_mb"] = round(size / 1e6, 2)
    figures["precision"] = args.precision
    figures["split"] = args.split
    figures["threads"] = args.threads
    print(f"\nlatency per sentence, batch 1, {args.threads} threads, {args.precision}, {lat.n} BC5CDR test sentences "
          f"(mean {sum(len(s) for s in sentences) / len(sentences):.0f} words) after {lat.warmup} warm-up calls: "
          f"p50 {lat.p50_ms:.2f} / p90 {lat.p90_ms:.2f} / p99 {lat.p99_ms:.2f} ms; dictionary peer p50 "
          f"{peer.p50_ms:.3f} ms ({figures['latency_ms_p50_b1_ratio_vs_dictionary']:.0f}x); peak RSS "
          f"{figures['peak_rss_mb']:.0f} MB; artifact {figures['artifact_mb']:.2f} MB (adapter + heads + dictionary; "
          f"+ the 22.7M-parameter encoder from its wheel)")
    finish(figures)

if __name__ == "__main__":
    main()
