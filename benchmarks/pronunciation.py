"""Pronunciation assessment against human experts, with peers in the same run.

Sections (each prints a table; the last line is one JSON object of every figure):
- g2p: phone error rate of the G2P (espeak-ng rules -> ARPAbet) on held-out CMUdict words;
- recogniser: phone error rate on speechocean762 TRAIN (unseen by the recogniser, which learnt
  from the test split) against canonical phones, beside pocketsphinx's phone decoder;
- agreement: Pearson r with the experts, 5-fold cross-validation by speaker on train (LightGBM and
  ridge over our features; the naive peer: Whisper tiny.en's word match rate with the prompt);
- planted miscues: each utterance scored against its own prompt and a prompt with one word
  replaced / deleted / inserted, or one phone changed; precision and recall of the planted error;
  AUC of telling the own prompt from another of similar length;
- latency: end of a 5 s recording to the full result, on this CPU; artifact sizes.

    python benchmarks/pronunciation.py [--limit 300] [--data ../shared/data] [--skip-asr-peer]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import finish, machine_facts, ratio, time_calls  # noqa: E402
from core.asr.ctc import edit_distance  # noqa: E402
from core.pronunciation.phones import stress_free  # noqa: E402

HUMAN_CEILING = {"accuracy": 0.80, "fluency": 0.81, "prosodic": 0.79, "total": 0.82, "word_accuracy": 0.76}
GOPT_TEST = {"accuracy": 0.714, "fluency": 0.753, "prosodic": 0.760, "total": 0.742, "word_accuracy": 0.533}
CONFUSIONS = {"TH": "S", "DH": "Z", "L": "R", "R": "L", "V": "W", "W": "V", "IY": "IH", "IH": "IY", "S": "TH",
              "Z": "DH", "N": "NG", "UW": "UH", "AE": "EH", "EH": "AE", "SH": "S", "B": "P", "D": "T", "G": "K"}


def g2p_section(n: int, seed: int) -> dict:
    from core.pronunciation.g2p import g2p
    from core.pronunciation.lexicon import cmu

    words = sorted(w for w in cmu() if w.isalpha() and len(w) >= 3)
    sample = random.Random(seed).sample(words, n)
    errors = total = exact = 0
    for w in sample:
        ref = [stress_free(p) for p in cmu()[w][0]]
        best = min(edit_distance([stress_free(p) for p in v], list(map(stress_free, g2p(w)))) for v in cmu()[w])
        errors += best
        total += len(ref)
        exact += best == 0
    per = errors / total
    print(f"\n== G2P on {n} random CMUdict words (espeak-ng rules, best of the word's CMU variants)")
    print(f"  phone error rate {per:.3f}   words exactly right {exact / n:.3f}")
    return {"g2p_per": round(per, 4), "g2p_word_exact": round(exact / n, 4), "g2p_words": n}


def pocketsphinx_phones():
    import os

    from pocketsphinx import Decoder, get_model_path

    mp = get_model_path()
    # its default settings: the best of four tried on 60 utterances (lw 2 + wide beams: PER 0.85; defaults 0.70)
    dec = Decoder(hmm=os.path.join(mp, "en-us", "en-us"), allphone=os.path.join(mp, "en-us", "en-us-phone.lm.bin"),
                  loglevel="FATAL")

    def run(samples: np.ndarray) -> list[str]:
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes()
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        return [s.word for s in dec.seg() if s.word.isalpha() and s.word.isupper() and s.word != "SIL"]

    return run


def recogniser_section(rows: list[dict], recognisers: dict, audio_of) -> dict:
    """``recognisers``: name -> (PhoneRecognizer, feats_of); the first is the shipped one."""
    ps = pocketsphinx_phones()
    errors = {name: 0 for name in recognisers} | {"pocketsphinx": 0}
    total = 0
    for r in rows:
        ref = [stress_free(p) for _, ph in r["words"] for p in ph]
        for name, (rec, feats_of) in recognisers.items():
            errors[name] += edit_distance(ref, rec.phones(rec.from_features(feats_of(r))))
        errors["pocketsphinx"] += edit_distance(ref, ps(audio_of(r)))
        total += len(ref)
    per = {k: v / total for k, v in errors.items()}
    print(f"\n== Phone recognisers on {len(rows)} train utterances (unseen), canonical phones as reference")
    print(f"  {'system':40} {'PER':>6}")
    for name, value in per.items():
        print(f"  {name:40} {value:6.3f}")
    shipped = next(iter(recognisers))
    out = {"phone_per": round(per[shipped], 4), "phone_per_pocketsphinx": round(per["pocketsphinx"], 4),
           "phone_per_ratio_vs_pocketsphinx": ratio(per[shipped], per["pocketsphinx"]), "phone_per_utterances": len(rows)}
    for name in list(recognisers)[1:]:
        out[f"phone_per_{name.split()[0]}"] = round(per[name], 4)
    return out


def asr_match_rates(rows: list[dict], cache: Path, audio_of) -> dict[str, float]:
    """Whisper tiny.en word match rate with the prompt (1 - WER, floored at 0), cached."""
    from core.asr.whisper_engine import WhisperTranscriber

    path = cache / "asr_tiny_train.json"
    done = json.loads(path.read_text()) if path.exists() else {}
    todo = [r for r in rows if r["id"] not in done]
    if todo:
        asr = WhisperTranscriber("tiny.en")
        for i, r in enumerate(todo):
            done[r["id"]] = asr.transcribe(audio_of(r)).text
            if i % 200 == 199:
                path.write_text(json.dumps(done))
        path.write_text(json.dumps(done))
    out = {}
    for r in rows:
        ref = r["text"].lower().split()
        hyp = "".join(c for c in done[r["id"]].lower() if c.isalpha() or c in " '").split()
        out[r["id"]] = max(0.0, 1 - edit_distance(ref, hyp) / len(ref))
    return out


def agreement_section(data: Path, cache: Path, hp: dict, limit: int, match: dict | None) -> dict:
    from core.recipes.pronunciation.speechocean762.scorer_data import collect
    from core.recipes.pronunciation.speechocean762.train_scorer import agreement, matrices

    rows = collect(data, cache, hp["frontend"], hp["recogniser"], limit=limit)
    m = matrices(rows)
    figures = {}
    table = {}
    for kind in ("lightgbm", "ridge"):
        r = agreement(m, kind, hp["lightgbm"], hp["lightgbm_word"])
        table[kind] = r
        figures.update({f"r_{k}" if kind == "lightgbm" else f"r_{k}_ridge": round(v, 4) for k, v in r.items()})
    if match is not None:
        x = np.array([match[r["id"]] for r in rows])
        table["naive"] = {t: float(np.corrcoef(x, m["Yu"][t])[0, 1]) for t in ("accuracy", "fluency", "prosodic", "total")}
        figures.update({f"r_{k}_naive_asr": round(v, 4) for k, v in table["naive"].items()})
    # Pearson over all readings is helped by the clearly poor ones (about 14% score 5 or less):
    # the same predictions restricted to readings the experts scored 6 or more, for transparency
    from core.recipes.pronunciation.speechocean762.train_scorer import cross_validate, speaker_folds

    keep = m["Yu"]["accuracy"] >= 6
    folds = speaker_folds(m["gu"])
    sub = {}
    for t in ("accuracy", "fluency", "prosodic", "total"):
        _, pred = cross_validate(m["Xu"], m["Yu"][t], folds, "lightgbm", hp["lightgbm"])
        sub[t] = float(np.corrcoef(pred[keep], m["Yu"][t][keep])[0, 1])
        figures[f"r_{t}_readings_scored_6_plus"] = round(sub[t], 4)
    table["readings scored 6+ only"] = sub
    targets = ("accuracy", "fluency", "prosodic", "total", "word_accuracy")
    print(f"\n== Agreement with the experts (Pearson r), {len(rows)} train utterances, 5-fold by speaker")
    print(f"  {'system':34}" + "".join(f"{t:>15}" for t in targets))
    for name, r in [("parlance (LightGBM)", table["lightgbm"]),
                    (f"  same, {int(keep.sum())} readings scored 6+", table["readings scored 6+ only"]),
                    ("ridge, same features", table["ridge"]),
                    *([("naive: ASR word match rate", table["naive"])] if "naive" in table else []),
                    ("GOPT (published, test split)", GOPT_TEST), ("human ceiling (scores README)", HUMAN_CEILING)]:
        print(f"  {name:34}" + "".join(f"{r[t]:15.3f}" if t in r else f"{'-':>15}" for t in targets))
    return figures


def _auc(pos: list[float], neg: list[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([1] * len(pos) + [0] * len(neg), pos + neg))


def miscue_section(rows: list[dict], rec, feats_of, lexicon_words: list[tuple[str, list[str]]], seed: int) -> dict:
    """Planted word and phone errors. Precision is given twice: over every flag of the changed
    prompt's scoring (strict), and over the flags the change added (the reader's own miscues,
    flagged on their own prompt as well, are not counted against it)."""
    from core.pronunciation.gop import evaluate_pronunciation
    from core.pronunciation.miscues import MISPRONOUNCED_LPR, find_miscues

    rng = random.Random(seed)
    counts = {k: [0, 0, 0, 0] for k in ("replaced", "deleted", "inserted")}  # [tp, planted, flags, new flags]
    phone_tp = phone_n = extra_flags = own_flags = own_word_flags = 0
    own_fit, other_fit = [], []

    def flags(post, words, first=None) -> set:
        m = find_miscues(post, words, first)
        return ({(e, i) for i, e in enumerate(m.errors) if e in ("omitted", "substituted")}
                | {("inserted", x.after) for x in m.insertions})

    def moved(base: set, k: int, shift: int) -> set:
        """The own prompt's flags in the changed prompt's word numbering (word k removed: shift -1;
        a word added at k: shift +1)."""
        out = set()
        for kind, i in base:
            if shift < 0 and kind != "inserted" and i == k:
                continue
            out.add((kind, i + shift if (i > k if shift < 0 else i >= k) else i))
        return out

    def phone_flags(ev):
        return {(i, k) for i, w in enumerate(ev.words) for k, p in enumerate(w.phones)
                if p.heard != p.phone and p.lpr < MISPRONOUNCED_LPR}

    by_len: dict[int, list[dict]] = {}
    for r in rows:
        by_len.setdefault(sum(len(p) for _, p in r["words"]), []).append(r)
    for r in rows:
        post = rec.from_features(feats_of(r))
        words = [(w, list(p)) for w, p in r["words"]]
        base = evaluate_pronunciation(post, words)
        own_fit.append(base.fit)
        n_phones = sum(len(p) for _, p in words)
        others = [o for k in range(int(n_phones * 0.8), int(n_phones * 1.2) + 1) for o in by_len.get(k, [])
                  if o["text"] != r["text"]]
        if others:
            o = rng.choice(others)
            other_fit.append(evaluate_pronunciation(post, [(w, list(p)) for w, p in o["words"]]).fit)
        base_phone = phone_flags(base)
        own_flags += len(base_phone)
        if len(words) < 2:
            continue
        own = flags(post, words, base)
        own_word_flags += len(own)
        k = rng.randrange(len(words))
        cand = [w for w in lexicon_words if edit_distance(list(map(stress_free, w[1])), list(map(stress_free, words[k][1])))
                >= max(2, len(words[k][1]) * 2 // 3)]
        cases = {
            # the prompt names another word in slot k: substituted (or omitted) expected at k
            "replaced": (words[:k] + [rng.choice(cand)] + words[k + 1:], {("substituted", k), ("omitted", k)}, own),
            # the prompt lacks word k, which the reader said: an insertion after word k-1
            "deleted": (words[:k] + words[k + 1:], {("inserted", k - 1)}, moved(own, k, -1)),
            # the prompt has an extra word at k, which the reader did not say: omitted at k
            "inserted": (words[:k] + [rng.choice(lexicon_words)] + words[k:], {("omitted", k)}, moved(own, k, +1)),
        }
        for kind, (changed, planted, before) in cases.items():
            f = flags(post, changed)
            hit = bool(f & planted)
            c = counts[kind]
            c[0] += hit
            c[1] += 1
            c[2] += len(f)
            c[3] += len((f - before) | (f & planted))
        slots = [(i, j) for i, (_, ph) in enumerate(words) for j, p in enumerate(ph) if stress_free(p) in CONFUSIONS]
        if slots:
            i, j = rng.choice(slots)
            changed = [list(p) for _, p in words]
            changed[i][j] = CONFUSIONS[stress_free(changed[i][j])]
            ev = evaluate_pronunciation(post, [(w, p) for (w, _), p in zip(words, changed)])
            pf = phone_flags(ev)
            phone_tp += (i, j) in pf
            phone_n += 1
            extra_flags += len(pf - base_phone - {(i, j)})
    out = {}
    print(f"\n== Planted miscues on {len(rows)} train utterances (each against its own prompt, changed once;"
          " thresholds set on 300 other speakers' utterances)")
    print(f"  {'planted in the prompt':38} {'recall':>7} {'precision (new flags)':>22} {'(all flags)':>12}")
    tot = [0, 0, 0, 0]
    for kind, c in counts.items():
        label = {"replaced": "word replaced (-> substituted)", "deleted": "word deleted (-> inserted)",
                 "inserted": "word inserted (-> omitted)"}[kind]
        print(f"  {label:38} {c[0] / max(c[1], 1):7.3f} {c[0] / max(c[3], 1):22.3f} {c[0] / max(c[2], 1):12.3f}")
        out[f"miscue_{kind}_recall"] = round(c[0] / max(c[1], 1), 4)
        out[f"miscue_{kind}_precision"] = round(c[0] / max(c[3], 1), 4)
        out[f"miscue_{kind}_precision_all_flags"] = round(c[0] / max(c[2], 1), 4)
        tot = [a + b for a, b in zip(tot, c)]
    out["miscue_recall"] = round(tot[0] / max(tot[1], 1), 4)
    out["miscue_precision"] = round(tot[0] / max(tot[3], 1), 4)
    out["miscue_precision_all_flags"] = round(tot[0] / max(tot[2], 1), 4)
    out["word_miscue_flags_per_utt_own_prompt"] = round(own_word_flags / max(len(rows), 1), 4)
    out["phone_plant_recall"] = round(phone_tp / max(phone_n, 1), 4)
    out["phone_plant_extra_flags_per_utt"] = round(extra_flags / max(phone_n, 1), 4)
    out["phone_flags_per_utt_own_prompt"] = round(own_flags / max(len(rows), 1), 4)
    out["own_vs_other_prompt_auc"] = round(_auc([-x for x in own_fit], [-x for x in other_fit]), 4)
    print(f"  {'all word miscues':38} {out['miscue_recall']:7.3f} {out['miscue_precision']:22.3f} "
          f"{out['miscue_precision_all_flags']:12.3f}")
    print(f"  word miscues flagged on the readers' own prompts: {out['word_miscue_flags_per_utt_own_prompt']:.2f}/utt")
    print(f"  one phone changed: recall {out['phone_plant_recall']:.3f}, new flags elsewhere "
          f"{out['phone_plant_extra_flags_per_utt']:.3f}/utt (flags on the own prompt: "
          f"{out['phone_flags_per_utt_own_prompt']:.2f}/utt)")
    print(f"  own prompt vs another of similar length: AUC {out['own_vs_other_prompt_auc']:.4f}")
    return out


def latency_section(rows: list[dict], audio_of, repeats: int) -> dict:
    from core.pronunciation.assess import assess
    from core.pronunciation.recognizer import DEFAULT_ARTIFACT as REC
    from core.pronunciation.scorer import DEFAULT_ARTIFACT as SCO

    longest = sorted(rows, key=lambda r: abs(r["duration"] - 5.0))[:repeats]
    clips = []
    for r in longest:
        s = audio_of(r)
        clips.append((np.pad(s, (0, max(0, 80000 - len(s))))[:80000], r["text"]))
    t = time_calls(lambda c: assess(c[0], c[1]), clips, warmup=2)
    size = sum((ROOT / "models" / a).stat().st_size for a in (REC, SCO))
    print(f"\n== Latency, end of a 5 s recording to the full result ({len(clips)} clips)")
    print(f"  p50 {t.p50_ms:.0f} ms   p90 {t.p90_ms:.0f} ms   artifacts {size / 1e6:.1f} MB")
    return {"latency_5s_p50_ms": round(t.p50_ms, 1), "latency_5s_p90_ms": round(t.p90_ms, 1),
            "artifact_mb": round(size / 1e6, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "pron")
    ap.add_argument("--limit", type=int, default=0, help="first N train utterances (0: all 2,500)")
    ap.add_argument("--miscue-limit", type=int, default=600, help="utterances for the planted-miscue section")
    ap.add_argument("--phone-limit", type=int, default=1000,
                    help="utterances for the phone recognisers (pocketsphinx takes ~0.5 s each; 0: all)")
    ap.add_argument("--g2p-words", type=int, default=2000)
    ap.add_argument("--skip-asr-peer", action="store_true", help="leave out the naive Whisper peer (slow: ~10 min)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--sections", default="g2p,recogniser,agreement,miscues,latency",
                    help="comma-separated subset of the sections to run")
    args = ap.parse_args()
    if not (args.data / "speechocean762" / "scores").exists():
        sys.exit(f"speechocean762 with its scores is needed under {args.data}")
    from core.audio import load_audio
    from core.pronunciation.lexicon import read_lexicon
    from core.pronunciation.recognizer import PhoneRecognizer
    from core.recipes.pronunciation.speechocean762.prepare import (cache_features, feature_path, read_manifest,
                                                                   write_manifests)
    from core.training import load_hparams

    hp = load_hparams(ROOT / "core/recipes/pronunciation/speechocean762/hparams/scorer_tiny.yaml",
                      [f"data_dir={args.data}", f"cache_dir={args.cache}",
                       f"recogniser={ROOT / 'models/pronunciation/phone-ctc-tiny.pt'}"])
    if not (args.cache / "manifests" / "counts.json").exists():
        write_manifests(args.data / "speechocean762", args.cache / "manifests")
    all_rows = read_manifest(args.cache / "manifests" / "train.jsonl")
    rows = all_rows[:args.limit] if args.limit else all_rows
    cache_features(args.cache / "manifests" / "train.jsonl", args.cache / "features", hp["frontend"])
    cache_features(args.cache / "manifests" / "test.jsonl", args.cache / "features", hp["frontend"])
    rec = PhoneRecognizer.load(hp["recogniser"])

    def features(frontend):
        return lambda r: np.load(feature_path(args.cache / "features", frontend, r["id"])).astype(np.float32)

    feats_of = features(hp["frontend"])
    recognisers = {"tiny.en encoder + CTC (shipped)": (rec, feats_of)}
    base_artifact = ROOT / "models" / "pronunciation" / "phone-ctc-base.pt"
    if base_artifact.exists():  # the other front end compared in the recipe
        cache_features(args.cache / "manifests" / "train.jsonl", args.cache / "features", "base")
        recognisers["base encoder + CTC"] = (PhoneRecognizer.load(base_artifact), features("base"))

    def audio_of(r):
        return load_audio(r["audio"]).samples

    figures: dict = {"utterances": len(rows)}
    sections = set(args.sections.split(","))
    if "g2p" in sections:
        figures.update(g2p_section(args.g2p_words, args.seed))
    if "recogniser" in sections:
        figures.update(recogniser_section(rows[:args.phone_limit] if args.phone_limit else rows, recognisers, audio_of))
    if "agreement" in sections:
        match = None if args.skip_asr_peer else asr_match_rates(rows, args.cache, audio_of)
        figures.update(agreement_section(args.data, args.cache, hp, args.limit, match))
    lex = read_lexicon(args.data / "speechocean762" / "resource" / "lexicon.txt")
    lexicon_words = [(w, list(v[0])) for w, v in sorted(lex.items()) if len(v[0]) >= 2]
    # the miscue thresholds were set on the first 300 train utterances: measured on later speakers
    if "miscues" in sections:
        figures.update(miscue_section(all_rows[300:300 + args.miscue_limit], rec, feats_of, lexicon_words, args.seed))
    if "latency" in sections:
        figures.update(latency_section(rows, audio_of, repeats=10))
    for k, target in {"r_accuracy": 0.74, "r_fluency": 0.78, "r_prosodic": 0.77, "r_total": 0.78,
                      "r_word_accuracy": 0.58}.items():
        figures[f"{k}_target"] = target
    finish(figures, machine=machine_facts())


if __name__ == "__main__":
    main()
