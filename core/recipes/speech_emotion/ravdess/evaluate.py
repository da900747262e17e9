"""Score a speech-emotion artifact on a labelled list of clips (a bank's own calls, or a corpus):
8-class accuracy and unweighted average recall, 4-class UA, clean and through the telephone path.

    python -m core.recipes.speech_emotion.ravdess.evaluate --list /data/our_calls.csv \
        --artifact models/speech_emotion/ravdess-whisper-tiny-layers.pt

The list is a CSV or JSONL file with ``path``, ``label`` and ``speaker`` (see prepare.py). The last
line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.emotion.labels import LABELS
from core.emotion.speech_model import SpeechEmotionRecognizer
from core.recipes.speech_emotion.ravdess.prepare import copy_audio, read_list
from core.recipes.speech_emotion.ravdess.train import figures


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", type=Path, required=True)
    ap.add_argument("--artifact", type=Path, default=None, help="default: the shipped model")
    args = ap.parse_args(argv)
    from core.audio import load_audio

    ser = SpeechEmotionRecognizer.load(args.artifact)
    rows = read_list(args.list)
    labels = np.array([LABELS.index(r["label"]) for r in rows])
    out = {}
    for copy in ("clean", "phone"):
        logits = []
        for r in tqdm(rows, desc=copy, mininterval=10):
            x = copy_audio(load_audio(r["audio"]).samples, copy, r["id"])
            probs, _ = ser.from_frames(ser.frontend(x))
            logits.append(np.log(np.maximum(probs, 1e-9)))
        out[copy] = figures(labels, np.stack(logits))
        print(f"{copy:6} {json.dumps(out[copy])}")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
