"""Emotion corpora -> one JSONL manifest, and cached front-end features for each clip and its
telephone versions.

Manifest lines: ``{"id", "audio", "label", "speaker", "arousal", "valence"}``. Readers:
- RAVDESS (``ravdess/ravdess.jsonl``: 24 actors, 8 emotions, normal and strong intensity);
- any CREMA-D / IEMOCAP-style list a bank makes of its own labelled calls: a CSV or JSONL file
  with ``path`` (or ``audio``), ``label`` (or ``emotion``) and ``speaker`` columns, paths relative
  to the file. Labels are mapped onto the model's eight (``LABELS``; CREMA-D's and IEMOCAP's
  short codes are understood); arousal and valence come from the label when not given.

Features (``<cache>/features/<frontend>/<copy>/<id>.npy``, float16 ``[T, D]``) are cached per copy:
``clean``; ``phone`` (a fixed telephone path per clip: what the robustness figures are measured
on); ``aug0``, ``aug1``... (random telephone paths for training).

    python -m core.recipes.speech_emotion.ravdess.prepare --data ../shared/data --cache runs/emotion \
        --frontend tiny.en --augment 2
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.emotion.labels import LABELS, affect_of, normalise_label

EXPECTED_RAVDESS = 1440


def read_ravdess(root: Path) -> list[dict]:
    rows = []
    for line in (root / "ravdess.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        label = normalise_label(r["emotion"])
        arousal, valence = affect_of(label, strong=r.get("intensity") == "strong")
        rows.append({"id": r["id"], "audio": str(root / r["audio"]), "label": label, "speaker": r["speaker"],
                     "arousal": arousal, "valence": valence, "text": r.get("text", "")})
    assert len(rows) == EXPECTED_RAVDESS, len(rows)
    return rows


def read_plain_speech(root: Path, n: int, seed: int = 1234) -> list[dict]:
    """``n`` speechocean762 train utterances (non-native adults and children reading English
    prompts, no emotion acted) labelled neutral, at most 3 per speaker: everyday speech from many
    voices, so the model learns that an unfamiliar voice is not an emotion. Training only."""
    import random

    by: dict[str, list[dict]] = {}
    for line in (root / "train.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            by.setdefault(r["speaker"], []).append(r)
    rng = random.Random(seed)
    picked = [r for spk in sorted(by) for r in rng.sample(by[spk], min(3, len(by[spk])))]
    rng.shuffle(picked)
    return [{"id": f"so762-{r['id']}", "audio": str(root / r["audio"]), "label": "neutral",
             "speaker": f"so762-{r['speaker']}", "arousal": 0.0, "valence": 0.0, "text": r.get("text", "")}
            for r in picked[:n]]


def read_list(path: Path) -> list[dict]:
    """A CSV or JSONL list of labelled clips (CREMA-D / IEMOCAP style)."""
    path = Path(path)
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            raw = list(csv.DictReader(f))
    else:
        raw = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = []
    for i, r in enumerate(raw):
        audio = r.get("path") or r.get("audio")
        label = normalise_label(r.get("label") or r.get("emotion") or "")
        if not audio or label is None:
            raise ValueError(f"{path}: line {i + 1} needs a path and one of the labels {LABELS}")
        arousal, valence = affect_of(label)
        audio_path = Path(audio) if Path(audio).is_absolute() else path.parent / audio
        rows.append({"id": r.get("id") or hashlib.sha1(str(audio_path).encode()).hexdigest()[:16],
                     "audio": str(audio_path), "label": label, "speaker": str(r.get("speaker") or "unknown"),
                     "arousal": float(r.get("arousal") or arousal), "valence": float(r.get("valence") or valence)})
    return rows


def write_manifest(rows: list[dict], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "clips.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "counts.json").write_text(json.dumps({"clips": len(rows), "speakers": len({r["speaker"] for r in rows})}))
    return path


def read_manifest(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def feature_path(cache: Path, frontend: str, copy: str, clip_id: str) -> Path:
    return Path(cache) / "features" / frontend / copy / f"{clip_id}.npy"


def copy_audio(samples: np.ndarray, copy: str, clip_id: str) -> np.ndarray:
    """The clip as heard in ``copy``: clean, the fixed telephone path, or a random one (seeded by id)."""
    from core.augment import phone_call

    if copy == "clean":
        return samples
    seed = int(hashlib.sha1(f"{copy}/{clip_id}".encode()).hexdigest()[:8], 16)
    return phone_call(samples, np.random.default_rng(seed))


def cache_features(rows: list[dict], cache: Path, frontend: str, copies: list[str]) -> None:
    from core.audio import load_audio
    from core.emotion.frontends import make_frontend

    todo = [(r, c) for r in rows for c in copies if not feature_path(cache, frontend, c, r["id"]).exists()]
    if not todo:
        return
    fe = make_frontend(frontend)
    audio_cache: dict[str, np.ndarray] = {}
    for r, c in tqdm(todo, desc=f"{frontend} features", mininterval=10):
        if r["id"] not in audio_cache:
            audio_cache.clear()
            audio_cache[r["id"]] = load_audio(r["audio"]).samples
        x = copy_audio(audio_cache[r["id"]], c, r["id"])
        out = feature_path(cache, frontend, c, r["id"])
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, fe(x).astype(np.float16))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder holding ravdess/")
    ap.add_argument("--list", type=Path, help="a CSV/JSONL list of your own labelled clips instead of RAVDESS")
    ap.add_argument("--cache", type=Path, default=Path("runs/emotion"))
    ap.add_argument("--frontend", default="tiny.en")
    ap.add_argument("--augment", type=int, default=2, help="random telephone copies per clip for training")
    args = ap.parse_args(argv)
    rows = read_list(args.list) if args.list else read_ravdess(args.data / "ravdess")
    write_manifest(rows, args.cache / "manifests")
    cache_features(rows, args.cache, args.frontend, ["clean", "phone"] + [f"aug{i}" for i in range(args.augment)])


if __name__ == "__main__":
    main()
