"""Speech-emotion benchmark on RAVDESS, speaker-independent (k-fold by actor, no actor in both
training and test), clean and through a telephone path (8 kHz band, mu-law, line noise, gain,
reverberation: core/augment.py).

Systems in one table, the same folds:
- each trained front end of the recipe (core/recipes/speech_emotion/ravdess): its cross-validation
  results are read from ``runs/emotion/<name>/cv.json`` and produced first when missing
  (``--retrain`` forces it);
- the classic peer: eGeMAPS functionals (openSMILE, 88 features) + logistic regression, trained
  on clean and telephone copies like the networks.

Then for the shipped front end (the fold models on their own test actors): gain +-12 dB and how
often it changes the predicted class; CPU time per 3 s turn (the head on frames the ASR already
has, and the whole turn with its own encoder pass); the artifact size; and a bad-input table
(silence, music, a hold tone, noise, clipping, 100 ms, one hour).

    python benchmarks/emotion_speech.py                      # everything (~15 min when cached)
    python benchmarks/emotion_speech.py --sections peer,gain,speed,bad

The last line printed is one JSON object with the figures and the machine's facts.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.harness import finish, machine_facts, time_calls  # noqa: E402

RECIPE = ROOT / "core" / "recipes" / "speech_emotion" / "ravdess"
SHIPPED_YAML = "whisper_tiny_layers.yaml"
FRONT_ENDS = {  # table name -> hparams file
    "Whisper tiny.en, last layer (CT2, frozen) + ASP": "whisper_tiny.yaml",
    "Whisper tiny.en, all layers mixed (frozen) + ASP": "whisper_tiny_layers.yaml",
    "Whisper base, all layers mixed (frozen) + ASP": "whisper_base_layers.yaml",
    "log-mel + ECAPA-TDNN from scratch": "logmel_ecapa.yaml",
}


def cv_results(args, yaml_name: str) -> dict | None:
    from core.recipes.speech_emotion.ravdess import train
    from core.training import load_hparams

    path = RECIPE / "hparams" / yaml_name
    if not path.exists():
        return None
    overrides = [f"data_dir={args.data}", f"cache_dir={args.cache}", "export=null"]
    hp = load_hparams(path, overrides)
    cv_file = Path(hp["run_dir"]) / "cv.json"
    if cv_file.exists() and not args.retrain:
        return json.loads(cv_file.read_text())
    if not args.train_missing:
        return None
    return train.main([str(path), *overrides])


def egemaps_peer(args, rows: list[dict], folds: int) -> dict:
    """eGeMAPS functionals + standardised logistic regression on the recipe's folds."""
    import opensmile
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from core.audio import load_audio
    from core.emotion.labels import LABELS
    from core.recipes.speech_emotion.ravdess.prepare import copy_audio
    from core.recipes.speech_emotion.ravdess.train import figures, speaker_folds

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    copies = ["clean", "phone", "aug0", "aug1"]
    feats = {}
    for c in copies:
        cache = args.cache / f"egemaps_{c}.npy"
        if not cache.exists():
            out = []
            for r in rows:
                x = copy_audio(load_audio(r["audio"]).samples, c, r["id"])
                out.append(smile.process_signal(x, 16000).to_numpy()[0])
            np.save(cache, np.array(out, dtype=np.float32))
        feats[c] = np.nan_to_num(np.load(cache))
    y = np.array([LABELS.index(r["label"]) for r in rows])
    speakers = np.array([r["speaker"] for r in rows])
    logits = {c: np.zeros((len(rows), len(LABELS))) for c in ("clean", "phone")}
    t0 = time.perf_counter()
    for test_speakers in speaker_folds(rows, folds):
        test = np.isin(speakers, test_speakers)
        X = np.concatenate([feats[c][~test] for c in ("clean", "aug0", "aug1")])
        Y = np.concatenate([y[~test]] * 3)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000)).fit(X, Y)
        for c in logits:
            logits[c][test] = model.predict_log_proba(feats[c][test])
    print(f"  (eGeMAPS peer trained on {folds} folds in {time.perf_counter() - t0:.0f} s)")
    return {"frontend": "egemaps", "clean": figures(y, logits["clean"]), "phone": figures(y, logits["phone"])}


def table(results: dict[str, dict]) -> dict:
    out = {}
    print("\n== RAVDESS, speaker-independent (folds by actor): 8-class accuracy / UA, 4-class UA; clean -> telephone")
    print(f"  {'system':48} {'acc':>6} {'UA':>6} {'UA4':>6} | {'acc':>6} {'UA':>6} {'UA4':>6} | UA drop")
    for name, cv in results.items():
        c, p = cv["clean"], cv["phone"]
        drop = 100 * (c["ua"] - p["ua"])
        print(f"  {name:48} {c['accuracy']:6.3f} {c['ua']:6.3f} {c['ua_4class']:6.3f} | {p['accuracy']:6.3f} "
              f"{p['ua']:6.3f} {p['ua_4class']:6.3f} | {drop:5.1f} pts")
        key = cv["frontend"]
        out.update({f"{key}_ua": c["ua"], f"{key}_accuracy": c["accuracy"], f"{key}_ua_4class": c["ua_4class"],
                    f"{key}_phone_ua": p["ua"], f"{key}_phone_accuracy": p["accuracy"],
                    f"{key}_phone_ua_4class": p["ua_4class"], f"{key}_phone_ua_drop_pts": round(drop, 1)})
    return out


def fold_models(run_dir: Path):
    """The cross-validation's fold models (best checkpoints) with their test speakers."""
    from core.recipes.speech_emotion.ravdess.train import load_fold

    cv = json.loads((run_dir / "cv.json").read_text())
    return [(load_fold(run_dir / f"fold{f}"), set(fold["test_speakers"])) for f, fold in enumerate(cv["folds"])]


def gain_section(args, rows: list[dict], run_dir: Path, frontend_name: str) -> dict:
    import torch

    from core.audio import load_audio
    from core.augment import gain
    from core.emotion.frontends import make_frontend

    fe = make_frontend(frontend_name)
    changed = total = 0
    for net, speakers in fold_models(run_dir):
        for r in rows[::args.gain_every]:
            if r["speaker"] not in speakers:
                continue
            x = load_audio(r["audio"]).samples
            preds = []
            for db in (0, -12, 12):
                with torch.no_grad():
                    f = torch.from_numpy(fe(gain(x, db)))[None]
                    preds.append(int(net(f, torch.tensor([f.shape[1]]))[0].argmax()))
            changed += (preds[1] != preds[0]) + (preds[2] != preds[0])
            total += 2
    share = changed / max(total, 1)
    print(f"\n== Gain +-12 dB (fold models on their own test actors, {total // 2} clips): the predicted class "
          f"changes on {100 * share:.1f}% of the changed copies (target <= 5%)")
    return {"gain_12db_class_change": round(share, 4), "gain_clips": total // 2}


def speed_section(rows: list[dict], artifact: Path) -> dict:
    from core.audio import load_audio
    from core.emotion.speech_model import SpeechEmotionRecognizer

    ser = SpeechEmotionRecognizer.load(artifact)
    clips = []
    for r in rows[:40]:
        x = load_audio(r["audio"]).samples
        clips.append(np.resize(x, 3 * 16000))  # 3 s turns
    frames = [ser.frontend(x) for x in clips]
    head = time_calls(lambda f: ser.from_frames(f), frames, warmup=5)
    encoder = time_calls(lambda x: ser.frontend(x), clips, warmup=5)
    whole = time_calls(lambda x: ser.analyse(x), clips, warmup=5)
    size = artifact.stat().st_size / 1e6
    print(f"\n== CPU time per 3 s turn ({len(clips)} turns, 2 cores): head on the ASR's frames p50 {head.p50_ms:.1f} ms "
          f"(target <= 30 ms beyond the encoder); encoder pass p50 {encoder.p50_ms:.1f} ms; whole turn with VAD "
          f"and its own encoder pass p50 {whole.p50_ms:.1f} ms; artifact {size:.2f} MB")
    return {"head_ms_p50": head.p50_ms, "head_ms_p90": head.p90_ms, "encoder_ms_p50": encoder.p50_ms,
            "turn_ms_p50": whole.p50_ms, "artifact_mb": round(size, 2)}


def bad_input_section(rows: list[dict], artifact: Path) -> dict:
    from core.audio import load_audio
    from core.emotion.speech_model import SpeechEmotionRecognizer

    ser = SpeechEmotionRecognizer.load(artifact)
    sr = 16000
    t = np.arange(10 * sr) / sr
    rng = np.random.default_rng(0)
    speech = load_audio(rows[0]["audio"]).samples
    chords = sum(0.15 * np.sin(2 * np.pi * f * t) * (np.sin(2 * np.pi * 2 * t) > 0) for f in (261.6, 329.6, 392.0, 523.2))
    cases = {
        "silence (10 s)": np.zeros(10 * sr, np.float32),
        "music (synthetic chords, 10 s)": chords.astype(np.float32),
        "hold tone (425 Hz beeps, 10 s)": (0.3 * np.sin(2 * np.pi * 425 * t) * ((t % 1.0) < 0.4)).astype(np.float32),
        "white noise (10 s)": (0.1 * rng.standard_normal(10 * sr)).astype(np.float32),
        "speech clipped (x20)": np.clip(speech * 20, -1, 1).astype(np.float32),
        "100 ms of speech": speech[sr: sr + sr // 10],
        "one-hour turn (speech repeated)": np.resize(speech, 3600 * sr).astype(np.float32),
        "speech (reference)": speech,
    }
    print("\n== Bad input: label, confidence, time")
    out = {}
    for name, x in cases.items():
        t0 = time.perf_counter()
        try:
            r = ser.analyse(x)
            line = f"{r.label:10} confidence {r.confidence:.2f}  speech share {r.speech_share:.2f}  {'; '.join(r.notes)}"
            out[name] = {"label": r.label, "confidence": r.confidence}
        except Exception as e:  # noqa: BLE001 - the table reports any crash
            line = f"CRASH {type(e).__name__}: {e}"
            out[name] = {"crash": str(e)}
        print(f"  {name:34} {line}  ({time.perf_counter() - t0:.1f} s)")
    return {"bad_input": out}


def plain_speech_section(args, artifacts: dict[str, Path]) -> dict:
    """Everyday speech nobody acted: speechocean762 *test* readings (never used in training), which a
    listener would call neutral or calm. Figure: the share read as another emotion, and as another
    emotion with confidence >= 0.5 (what would move the fused reading)."""
    import json as _json
    import random

    from core.audio import load_audio
    from core.emotion.speech_model import SpeechEmotionRecognizer

    rows = [_json.loads(line) for line in (args.data / "speechocean762" / "test.jsonl").read_text().splitlines()
            if line.strip()]
    rows = random.Random(0).sample(rows, min(args.plain_clips, len(rows)))
    clips = [load_audio(args.data / "speechocean762" / r["audio"]).samples for r in rows]
    out = {}
    print(f"\n== Everyday speech ({len(clips)} speechocean762 test readings, unseen): read as an emotion other "
          "than neutral or calm")
    for name, path in artifacts.items():
        ser = SpeechEmotionRecognizer.load(path)
        readings = [ser.analyse(x) for x in clips]
        other = [r for r in readings if r.label not in ("neutral", "calm")]
        sure = [r for r in other if r.confidence >= 0.5]
        print(f"  {name:44} {len(other) / len(readings):6.1%} (confidence >= 0.5: {len(sure) / len(readings):6.1%})")
        out[f"plain_speech_other_{name}"] = round(len(other) / len(readings), 4)
        out[f"plain_speech_other_confident_{name}"] = round(len(sure) / len(readings), 4)
    return out


def fusion_section(args, rows: list[dict], run_dir: Path, artifact: Path) -> dict:
    """Text/speech fusion weight, chosen on turns where one source knows the answer and the other
    does not: (a) RAVDESS clips (the emotion is in the voice; the words, "Kids are talking by the
    door", are neutral), read by the cross-validation's fold models on their own test actors;
    (b) single-label GoEmotions test comments (the emotion is in the words) read aloud by espeak-ng's
    flat synthetic voice. Figure: macro-F1 over Ekman labels of the fused label, per speech weight
    (text weight 1; the speech weight is scaled by the model's confidence per turn, as in the app)."""
    import random

    import torch

    from core.emotion.fusion import EKMAN, fuse, to_ekman
    from core.emotion.labels import LABELS
    from core.emotion.speech_model import SpeechEmotionRecognizer
    from core.pronunciation.espeak import synthesize
    from core.recipes.text_emotion.goemotions.prepare import read_split
    from core.text.emotion import get_text_emotion
    from sklearn.metrics import f1_score

    text_model = get_text_emotion()
    cv = np.load(run_dir / "cv_predictions.npz")
    order = [r for f in json.loads((run_dir / "cv.json").read_text())["folds"] for r in rows
             if r["speaker"] in set(f["test_speakers"])]
    rng = random.Random(0)
    pick = rng.sample(range(len(order)), min(args.fusion_turns, len(order)))
    cases = []  # (truth, text scores, speech probabilities, confidence)
    ravdess_text = {t: s.scores for t, s in zip(
        sorted({r.get("text", "") for r in rows}), text_model.predict(sorted({r.get("text", "") for r in rows})))}
    for i in pick:
        r = order[i]
        probs = torch.softmax(torch.from_numpy(cv["phone"][i]), -1).numpy()
        speech = dict(zip(LABELS, probs.tolist()))
        truth = max(to_ekman({r["label"]: 1.0}).items(), key=lambda kv: kv[1])[0]
        cases.append((truth, ravdess_text.get(r.get("text", ""), {}), speech, float(probs.max())))
    ser = SpeechEmotionRecognizer.load(artifact)
    comments = [c for c in read_split(args.data / "goemotions" / "data" / "ekman" / "test.tsv",
                                      (args.data / "goemotions" / "data" / "ekman" / "labels.txt").read_text().split())
                if len(c["labels"]) == 1 and 4 <= len(c["text"].split()) <= 25]
    by_label: dict[str, list[dict]] = {}
    for c in comments:
        by_label.setdefault(c["labels"][0], []).append(c)
    chosen = [c for lab in EKMAN for c in rng.sample(by_label.get(lab, []), min(len(by_label.get(lab, [])),
                                                                                args.fusion_turns // 14))]
    for c, t in zip(chosen, text_model.predict([c["text"] for c in chosen])):
        heard = ser.analyse(synthesize(c["text"], voice="en-us", rate_wpm=165))
        cases.append((c["labels"][0], t.scores, heard.probabilities, heard.confidence))
    print(f"\n== Fusion weight ({len(pick)} RAVDESS turns: emotion in the voice; {len(chosen)} GoEmotions comments "
          "read by espeak-ng: emotion in the words); fused macro-F1 over Ekman labels")
    out, best = {}, (-1.0, 0.0)
    n_voice = len(pick)
    for w in (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0):
        fused = [fuse(text=t, speech=sp, speech_confidence=conf, weights={"text": 1.0, "speech": w}).label
                 for _, t, sp, conf in cases]
        truth = [c[0] for c in cases]
        f1 = f1_score(truth, fused, labels=list(EKMAN), average="macro", zero_division=0)
        f1_voice = f1_score(truth[:n_voice], fused[:n_voice], labels=list(EKMAN), average="macro", zero_division=0)
        f1_words = f1_score(truth[n_voice:], fused[n_voice:], labels=list(EKMAN), average="macro", zero_division=0)
        balanced = (f1_voice + f1_words) / 2  # both kinds of turn count the same
        print(f"  speech weight {w:4.2f}: macro-F1 voice turns {f1_voice:.3f}, word turns {f1_words:.3f}, "
              f"mean of the two {balanced:.3f} (all turns pooled {f1:.3f})")
        out[f"fusion_f1_speech_weight_{w}"] = round(balanced, 4)
        best = max(best, (balanced, w))
    print(f"  best speech weight (mean of the two kinds): {best[1]} (text 1.0)")
    out["fusion_best_speech_weight"] = best[1]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "emotion")
    ap.add_argument("--retrain", action="store_true", help="run every front end's cross-validation again")
    ap.add_argument("--train-missing", action="store_true", help="run the cross-validations that have no cv.json yet")
    ap.add_argument("--gain-every", type=int, default=3, help="every Nth clip for the gain check")
    ap.add_argument("--shipped", default=SHIPPED_YAML, help="hparams of the shipped model (gain, speed, bad input, fusion)")
    ap.add_argument("--plain-clips", type=int, default=200, help="everyday readings for the false-emotion check")
    ap.add_argument("--compare-artifact", type=Path, action="append", default=[],
                    help="another speech-emotion artifact for the everyday-speech check (repeatable)")
    ap.add_argument("--fusion-turns", type=int, default=280, help="turns of each kind for the fusion weight")
    ap.add_argument("--sections", default="cv,peer,gain,speed,bad,plain,fusion")
    args = ap.parse_args()
    if not (args.data / "ravdess" / "ravdess.jsonl").exists():
        sys.exit(f"RAVDESS is needed under {args.data}")
    from core.recipes.speech_emotion.ravdess.prepare import read_ravdess
    from core.training import load_hparams

    sections = set(args.sections.split(","))
    rows = read_ravdess(args.data / "ravdess")
    shipped = load_hparams(RECIPE / "hparams" / args.shipped, [f"data_dir={args.data}", f"cache_dir={args.cache}"])
    figures: dict = {"clips": len(rows), "folds": shipped["folds"]}
    results = {}
    if "cv" in sections:
        for name, yaml_name in FRONT_ENDS.items():
            cv = cv_results(args, yaml_name)
            if cv is None:
                print(f"  ({name}: no cross-validation results; run with --train-missing)")
                continue
            results[name] = cv
    if "peer" in sections:
        results["eGeMAPS (openSMILE) + logistic regression (peer)"] = egemaps_peer(args, rows, shipped["folds"])
    if results:
        figures.update(table(results))
    artifact = ROOT / (shipped["export"] or "models/speech_emotion/none.pt")
    if "gain" in sections:
        figures.update(gain_section(args, rows, Path(shipped["run_dir"]), shipped["frontend"]))
    if "speed" in sections and artifact.exists():
        figures.update(speed_section(rows, artifact))
    if "bad" in sections and artifact.exists():
        figures.update(bad_input_section(rows, artifact))
    if "plain" in sections and artifact.exists():
        compare = {"shipped": artifact, **{p.parent.name: p for p in args.compare_artifact}}
        figures.update(plain_speech_section(args, compare))
    if "fusion" in sections and artifact.exists():
        figures.update(fusion_section(args, rows, Path(shipped["run_dir"]), artifact))
    finish(figures, machine=machine_facts())


if __name__ == "__main__":
    main()
