"""Call-center end-to-end benchmark.

1. A real two-party telephone call (tests/fixtures/audio/two_speaker_call.flac, pyannote.audio's MIT
   sample with its RTTM speaker turns and STM timed transcript): diarization error rate (collar
   0.25 s), WER of the call's turn texts, processing speed (x real time).
2. Synthetic banking calls (clearly synthetic: espeak-ng voices), built from Banking77 test
   sentences: agent greeting, customer request, agent reply, customer follow-up of the same
   intent; rendered wideband (16 kHz) and telephone band (8 kHz, 300-3,400 Hz), each as stereo
   (agent left, customer right) and as a mono mix. Reports
   turn-level intent accuracy after ASR vs on the gold sentence text (same classifier), customer
   turns found, routing-queue accuracy, and processing speed (audio seconds / wall seconds).
Peer, same audio, same run: faster-whisper's own ``WhisperModel.transcribe`` (tiny.en, int8, its
README usage) over the whole mono call, which gives only text, for the speed ratio.

    python benchmarks/callcenter.py --calls 10      # quick
    python benchmarks/callcenter.py                 # 40 synthetic calls per band
    python benchmarks/callcenter.py --voices-only   # section 3 alone (no ASR; ~5 min)

3. Voices (``--voices-only`` runs this alone): who-spoke-when on mono audio, MFCC voice prints vs
   the neural GE2E encoder (core/voice_prints.py), same audio: DER on the real call and on the
   synthetic mono calls (reference turns from how each call was built), the share of synthetic
   calls with DER over 10% (misplaced turn boundaries), and one-voice detection: precision and
   recall of "one voice" over recordings of one person (a synthetic customer alone; six
   utterances of one speechocean762 speaker; six calm or neutral RAVDESS clips of one actor; each
   real one clean and through a telephone path) and of two people (the same material alternating
   two speakers). Precision and recall are over the real speakers (the espeak voices of one
   synthesiser are far more alike than people; their rows are printed apart). Three set-ups: MFCC
   prints assuming two voices unless their clusters overlap (before), the default (MFCC turns +
   the GE2E one-voice test of core/diarization.py), and GE2E for both.

Speed: each call is processed once after a warm-up call (benchmarks/harness.py); the median over
calls, and its ratio to the peer on the same calls; peak RSS of the whole run.
Needs espeak-ng (apt-get install espeak-ng). The last line printed is one JSON object with the
figures and the machine's facts.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SR = 16000

from benchmarks.harness import PeakRss, finish, ratio  # noqa: E402
AGENT_LINES = ["Thank you for calling City Bank, my name is Sam, how can I help you today?",
               "Good afternoon, you are through to customer services, what can I do for you?",
               "Hello, thanks for holding, how can I help?"]
AGENT_REPLIES = ["I see, let me look into that for you.", "Okay, I understand. Could you tell me a bit more?",
                 "Thanks, one moment while I check your account."]
AGENT_VOICES = ["en-us+m3", "en-gb+m1"]
CUSTOMER_VOICES = ["en-us+f2", "en-gb+f3", "en-us+m7", "en+f4"]


def speak(text: str, voice: str, speed: int, workdir: Path, band: str = "phone") -> np.ndarray:
    from core.audio import load_audio
    from core.augment import telephone

    path = workdir / f"tts_{abs(hash((text, voice, speed)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True,
                   capture_output=True)
    x = load_audio(path).samples
    return telephone(x) if band == "phone" else x


def make_calls(n: int, data: Path, workdir: Path, seed: int = 0, band: str = "phone") -> list[dict]:
    rng = random.Random(seed)
    by_intent: dict[str, list[str]] = {}
    with (data / "banking77" / "test.csv").open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            by_intent.setdefault(r["category"], []).append(r["text"])
    intents = sorted(by_intent)
    calls = []
    for i in range(n):
        intent = intents[i % len(intents)] if n <= len(intents) else rng.choice(intents)
        s1, s2 = rng.sample(by_intent[intent], 2)
        av, cv = rng.choice(AGENT_VOICES), rng.choice(CUSTOMER_VOICES)
        speed = rng.choice([140, 160, 175])
        parts = [("agent", rng.choice(AGENT_LINES), av), ("customer", s1, cv),
                 ("agent", rng.choice(AGENT_REPLIES), av), ("customer", s2, cv)]
        left, right, turns = [], [], []
        gap = np.zeros(int(0.6 * SR), np.float32)
        at = 0
        for role, text, voice in parts:
            x = speak(text, voice, speed if role == "customer" else 165, workdir, band)
            silence = np.zeros_like(x)
            left += [x if role == "agent" else silence, gap]
            right += [x if role == "customer" else silence, gap]
            turns.append({"speaker": role, "text": text, "start": at / SR, "end": (at + len(x)) / SR})
            at += len(x) + len(gap)
        lch, rch = np.concatenate(left), np.concatenate(right)
        calls.append({"id": i, "intent": intent, "turns": turns, "stereo": np.stack([lch, rch], 1),
                      "mono": (lch + rch).astype(np.float32), "seconds": len(lch) / SR})
    return calls


def run_real_call(transcriber) -> dict:
    from core.asr.metrics import word_error_rate
    from core.audio import load_audio
    from apps.finance_callcenter.pipeline import call_options
    from core.conversation import segment_conversation
    from core.diarization import diarization_error_rate, diarize, read_rttm

    call = ROOT / "tests" / "fixtures" / "audio" / "two_speaker_call.flac"
    audio = load_audio(call)
    der = diarization_error_rate(read_rttm(call.with_suffix(".rttm")), diarize(audio.samples))
    ref = " ".join(line.split(maxsplit=5)[5] for line in call.with_suffix(".stm").read_text().splitlines())
    runs, seg = [], None
    for _ in range(3):
        t = time.perf_counter()
        seg = segment_conversation(call, transcriber=transcriber, options=call_options())
        runs.append(time.perf_counter() - t)
    hyp = " ".join(t.text for t in seg.turns)
    return {"der": der, "wer": word_error_rate([ref], [hyp]), "x_real_time": audio.duration / statistics.median(runs),
            "turns": len(seg.turns), "seconds": audio.duration}


def _voice_sets(data: Path, calls: list[dict], n: int, seed: int = 1) -> list[tuple[str, np.ndarray, int]]:
    """(kind, mono samples, number of voices) recordings for the one-voice check: real speakers
    (speechocean762, RAVDESS neutral/calm), clean and through a telephone path (suffix ``-phone``),
    and the synthetic calls. The one-voice threshold was chosen on seed 0's real speakers, so the
    figures use seed 1 (other speakers and pairs)."""
    import json

    from core.audio import load_audio
    from core.augment import mu_law, telephone

    rng = random.Random(seed)
    gap = np.zeros(SR // 2, np.float32)
    out = []
    for c in calls[:n]:  # the customer's side alone (one synthetic voice), and the whole mono call
        out.append(("synthetic", c["stereo"][:, 1].copy(), 1))
        out.append(("synthetic", c["mono"], 2))
    for corpus, listing, keep in (("speechocean762", data / "speechocean762" / "train.jsonl", lambda r: True),
                                  ("ravdess", data / "ravdess" / "ravdess.jsonl",
                                   lambda r: r["emotion"] in ("neutral", "calm"))):
        if not listing.exists():
            continue
        by: dict[str, list[dict]] = {}
        for line in listing.read_text().splitlines():
            r = json.loads(line)
            if keep(r):
                by.setdefault(r["speaker"], []).append(r)
        speakers = sorted(s for s in by if len(by[s]) >= 6)
        for _ in range(n):
            a, b = rng.sample(speakers, 2)
            clips_a = [load_audio(listing.parent / r["audio"]).samples for r in rng.sample(by[a], 6)]
            clips_b = [load_audio(listing.parent / r["audio"]).samples for r in rng.sample(by[b], 3)]
            out.append((corpus, np.concatenate([x for c in clips_a for x in (c, gap)]), 1))
            mixed = [x for pair in zip(clips_a[:3], clips_b) for c in pair for x in (c, gap)]
            out.append((corpus, np.concatenate(mixed), 2))
    return out + [(f"{k}-phone", mu_law(telephone(x)), v) for k, x, v in out if k != "synthetic"]


def _precision_recall(said_one: list[tuple[bool, bool, str]]) -> tuple[float, float]:
    """One-voice detection over (said one voice, is one voice, kind) rows."""
    tp = sum(p and t for p, t, _ in said_one)
    return tp / max(1, sum(p for p, _, _ in said_one)), tp / max(1, sum(t for _, t, _ in said_one))


def voices_section(args) -> dict:
    from core.audio import load_audio
    from core.diarization import DiarizationOptions, SpeakerTurn, diarization_error_rate, diarize, read_rttm

    methods = {"mfcc, two assumed": DiarizationOptions(voice_prints="mfcc", one_voice_similarity=None),
               "mfcc + one-voice": DiarizationOptions(voice_prints="mfcc"),  # the default
               "ge2e + one-voice": DiarizationOptions(voice_prints="ge2e")}
    call = ROOT / "tests" / "fixtures" / "audio" / "two_speaker_call.flac"
    real = load_audio(call).samples
    real_ref = read_rttm(call.with_suffix(".rttm"))
    work = Path(tempfile.mkdtemp(prefix="parlance-bench-voices-"))
    calls = [c for band in args.bands for c in make_calls(args.calls, args.data, work, band=band)]
    sets = _voice_sets(args.data, calls, args.voice_sets, seed=args.voice_seed)
    out = {}
    print(f"\n== Voices on mono audio: MFCC prints vs neural GE2E prints ({len(calls)} synthetic calls, "
          f"{len(sets)} one-/two-voice recordings)")
    print(f"  {'prints':18} {'real call DER':>14} {'synthetic DER':>14} {'calls DER>10%':>14} "
          f"{'one-voice P':>12} {'one-voice R':>12} {'x real time':>12}   (P/R over real speakers)")
    for name, opt in methods.items():
        t0 = time.perf_counter()
        ders = []
        for c in calls:
            ref = [SpeakerTurn(t["start"], t["end"], t["speaker"]) for t in c["turns"]]
            ders.append(diarization_error_rate(ref, diarize(c["mono"], opt)))
        seconds = sum(c["seconds"] for c in calls)
        speed = seconds / (time.perf_counter() - t0)
        said_one = [(len({t.speaker for t in diarize(x, opt)}) == 1, voices == 1, kind) for kind, x, voices in sets]
        people = [(p, t, k) for p, t, k in said_one if k != "synthetic"]  # people, not one synthesiser's voices
        precision, recall = _precision_recall(people)
        real_der = diarization_error_rate(real_ref, diarize(real, opt))
        bad = float(np.mean([d > 0.1 for d in ders]))
        print(f"  {name:18} {real_der:14.3f} {statistics.mean(ders):14.3f} {bad:14.2f} {precision:12.2f} "
              f"{recall:12.2f} {speed:12.1f}")
        for kind in sorted({k for _, _, k in said_one}):
            sub = [(p, t) for p, t, k in said_one if k == kind]
            print(f"       {kind:22} one voice said for {sum(p and t for p, t in sub)}/{sum(t for _, t in sub)} "
                  f"one-voice and {sum(p and not t for p, t in sub)}/{sum(not t for _, t in sub)} two-voice recordings")
        name = name.replace(", two assumed", "_two_assumed").replace(" + one-voice", "")
        out.update({f"{name}_real_call_der": round(real_der, 4), f"{name}_synthetic_der": round(statistics.mean(ders), 4),
                    f"{name}_synthetic_calls_der_over_10pct": round(bad, 3),
                    f"{name}_one_voice_precision": round(precision, 3), f"{name}_one_voice_recall": round(recall, 3),
                    f"{name}_diarization_x_real_time": round(speed, 1)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bands", nargs="+", default=["wide", "phone"], choices=["wide", "phone"])
    ap.add_argument("--voices-only", action="store_true", help="only the voices section (no ASR)")
    ap.add_argument("--voice-sets", type=int, default=20, help="one-voice and two-voice recordings per source")
    ap.add_argument("--voice-seed", type=int, default=1, help="speakers drawn for them (0 chose the threshold)")
    args = ap.parse_args()
    if not shutil.which("espeak-ng"):
        sys.exit("espeak-ng is needed for the synthetic calls: apt-get install espeak-ng")
    if args.voices_only:
        finish(voices_section(args))
        return
    import torch

    torch.set_num_threads(args.threads)
    from apps.finance_callcenter.pipeline import analyse_call
    from apps.finance_callcenter.routing import default_table_text, parse_table
    from core.asr import get_transcriber
    from core.text.intent import get_intent_classifier

    mem = PeakRss().start()
    table = parse_table(default_table_text())
    transcriber = get_transcriber()
    clf = get_intent_classifier()
    get_intent_classifier().predict(["warm up"])
    real = run_real_call(transcriber)
    work = Path(tempfile.mkdtemp(prefix="parlance-bench-cc-"))
    from benchmarks.peers import faster_whisper

    fw = faster_whisper(args.threads)
    print(f"\nReal telephone call ({real['seconds']:.0f} s): DER {real['der']:.3f}, WER {real['wer']:.3f}, "
          f"{real['turns']} turns, {real['x_real_time']:.1f}x real time", flush=True)
    summary = {"real_call_der": round(real["der"], 4), "real_call_wer": round(real["wer"], 4),
               "real_call_x_real_time": round(real["x_real_time"], 1)}
    fw_speed: list[float] = []
    for band in args.bands:
        calls = make_calls(args.calls, args.data, work, band=band)
        out = run_synthetic(calls, band, table, clf, analyse_call, fw, fw_speed, work)
        summary.update({f"{band}_{layout}_{m}": v for layout, d in out.items() for m, v in d.items()})
    fws = statistics.median(fw_speed)
    mono = statistics.median([summary[f"{b}_mono_x_real_time"] for b in args.bands])
    print(f"\npeer: faster-whisper transcription only (mono mix, same calls): {fws:.1f}x real time; "
          f"Parlance's full pipeline (mono) is {mono / fws:.2f}x its speed")
    stereo = statistics.median([summary[f"{b}_stereo_x_real_time"] for b in args.bands])
    mem.stop()
    summary.update(faster_whisper_x_real_time=round(fws, 1), speed_ratio_vs_faster_whisper_mono=ratio(mono, fws),
                   speed_ratio_vs_faster_whisper_stereo=ratio(stereo, fws), peak_rss_mb=mem.peak_mb,
                   calls_per_band=args.calls, threads=args.threads)
    summary.update(voices_section(args))
    finish(summary)


def run_synthetic(calls, band, table, clf, analyse_call, fw, fw_speed, work) -> dict:
    import soundfile as sf

    stats = {layout: {"asr_correct": 0, "gold_correct": 0, "customer_turns": 0, "found": 0, "queue_ok": 0,
                      "speed": [], "speaker_ok": 0} for layout in ("stereo", "mono")}
    warm = work / "warmup.wav"  # one untimed call first: model loads and first-call allocations
    sf.write(warm, calls[0]["mono"], SR)
    analyse_call(str(warm), table)
    for c in calls:
        gold_customer = [t["text"] for t in c["turns"] if t["speaker"] == "customer"]
        gold = clf.predict(gold_customer)
        expected_queue = table.escalation.queue if c["intent"] in table.escalation.intents else table.queue_for(c["intent"])
        for layout in ("stereo", "mono"):
            path = work / f"call{c['id']}_{band}_{layout}.wav"
            sf.write(path, c[layout], SR)
            t = time.perf_counter()
            res = analyse_call(str(path), table)
            stats[layout]["speed"].append(c["seconds"] / (time.perf_counter() - t))
            got = [a for a in res.turns if a.turn.speaker == "customer"]
            s = stats[layout]
            s["customer_turns"] += len(gold_customer)
            s["gold_correct"] += sum(g.intent == c["intent"] for g in gold)
            s["found"] += min(len(got), len(gold_customer))
            s["speaker_ok"] += int([a.turn.speaker for a in res.turns] == ["agent", "customer", "agent", "customer"])
            # customer turns matched in order; a missing turn counts as wrong
            s["asr_correct"] += sum(a.intent == c["intent"] for a in got[: len(gold_customer)])
            s["queue_ok"] += int(res.decision.queue == expected_queue)
        t = time.perf_counter()
        segs, _ = fw.transcribe(str(work / f"call{c['id']}_{band}_mono.wav"), beam_size=5)
        list(segs)
        fw_speed.append(c["seconds"] / (time.perf_counter() - t))
    n = len(calls)
    label = "wideband 16 kHz" if band == "wide" else "telephone band 8 kHz"
    print(f"\nSynthetic banking calls (espeak-ng, {label}): {n} calls, "
          f"{statistics.mean(c['seconds'] for c in calls):.1f} s mean length")
    print(f"{'layout':8} {'intent acc (ASR)':>17} {'intent acc (gold)':>18} {'cust. turns found':>18} "
          f"{'turn order ok':>14} {'queue ok':>9} {'x real time':>12}")
    out = {}
    for layout, s in stats.items():
        acc, gacc = s["asr_correct"] / s["customer_turns"], s["gold_correct"] / s["customer_turns"]
        speed = statistics.median(s["speed"])
        print(f"{layout:8} {acc:17.3f} {gacc:18.3f} {s['found'] / s['customer_turns']:18.3f} "
              f"{s['speaker_ok'] / n:14.3f} {s['queue_ok'] / n:9.3f} {speed:12.1f}", flush=True)
        out[layout] = {"intent_accuracy_asr": round(acc, 4), "intent_accuracy_gold": round(gacc, 4),
                       "customer_turns_found": round(s["found"] / s["customer_turns"], 4),
                       "turn_order_ok": round(s["speaker_ok"] / n, 4), "queue_accuracy": round(s["queue_ok"] / n, 4),
                       "x_real_time": round(speed, 1)}
    return out


if __name__ == "__main__":
    main()
