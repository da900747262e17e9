"""speechocean762 -> JSONL manifests with canonical phones per word, and cached front-end features.

Re-runnable; asserts the expected counts (2,500 utterances per split). Each manifest line:
``{"id", "audio", "text", "speaker", "duration", "words": [[word, [phones...]], ...]}`` with the
corpus's own canonical phones (``resource/text-phone``, stress-marked ARPAbet).

    python -m core.recipes.pronunciation.speechocean762.prepare --data ../shared/data --out runs/pron \
        --frontend tiny.en
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.pronunciation.phones import stress_free

EXPECTED = {"train": 2500, "test": 2500}


def corpus_phones(root: Path) -> dict[str, list[list[str]]]:
    """utt id -> canonical phones of each word, from ``resource/text-phone`` (``W_B IY0_E`` lines)."""
    words: dict[str, dict[int, list[str]]] = {}
    for line in (root / "resource" / "text-phone").read_text().splitlines():
        key, _, phones = line.partition("\t")
        utt, _, idx = key.rpartition(".")
        seq = [p.rsplit("_", 1)[0] for p in phones.split()]
        for p in seq:
            stress_free(p)
        words.setdefault(utt, {})[int(idx)] = seq
    return {u: [w[i] for i in sorted(w)] for u, w in words.items()}


def write_manifests(root: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    phones = corpus_phones(root)
    counts = {}
    for split in ("train", "test"):
        rows = [json.loads(line) for line in (root / f"{split}.jsonl").read_text().splitlines() if line.strip()]
        with (out / f"{split}.jsonl").open("w") as f:
            for r in rows:
                words = r["text"].split()
                canon = phones[r["id"]]
                assert len(canon) == len(words), r["id"]
                f.write(json.dumps({"id": r["id"], "audio": str(root / r["audio"]), "text": r["text"],
                                    "speaker": r["speaker"], "age": r.get("age"), "duration": r["duration"],
                                    "words": [[w, p] for w, p in zip(words, canon)]}) + "\n")
        counts[split] = len(rows)
        assert counts[split] == EXPECTED[split], (split, counts[split])
    (out / "counts.json").write_text(json.dumps(counts))
    return counts


def read_manifest(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def feature_path(cache: Path, frontend: str, utt: str) -> Path:
    return cache / frontend / f"{utt}.npy"


def cache_features(manifest: Path, cache: Path, frontend: str) -> int:
    """Encode every utterance once (float16 ``[T, D]`` .npy per utterance); returns how many were new."""
    from core.audio import load_audio
    from core.pronunciation.frontend import WhisperFrontEnd

    fe = None
    new = 0
    rows = read_manifest(manifest)
    for r in tqdm(rows, desc=f"{frontend} {manifest.stem}", mininterval=10):
        path = feature_path(cache, frontend, r["id"])
        if path.exists():
            continue
        fe = fe or WhisperFrontEnd(frontend)
        path.parent.mkdir(parents=True, exist_ok=True)
        feats = fe(load_audio(r["audio"]).samples).astype(np.float16)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, feats)
        tmp.replace(path)
        new += 1
    return new


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[4].parent / "shared" / "data"))
    ap.add_argument("--out", default="runs/pron")
    ap.add_argument("--frontend", action="append", default=[], help="tiny.en, base (repeatable)")
    ap.add_argument("--splits", default="test,train")
    args = ap.parse_args(argv)
    out = Path(args.out)
    print(write_manifests(Path(args.data) / "speechocean762", out / "manifests"), flush=True)
    for frontend in args.frontend:
        for split in args.splits.split(","):
            print(frontend, split, cache_features(out / "manifests" / f"{split}.jsonl", out / "features", frontend),
                  flush=True)


if __name__ == "__main__":
    main()
