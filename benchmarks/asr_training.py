"""ASR training: zero-shot vs adapted Whisper, through the fast engine, on the same audio.

For each model (--models; names the resolver knows: "tiny.en", "base", a LoRA adapter folder under
models/asr/, a CTranslate2 folder from the recipe's full fine-tuning):

- speechocean762 test WER (2,500 utterances of non-native English, many children; speakers and,
  but for ~2%, prompts unseen in training), digits read one by one as in the prompts;
- no regression elsewhere: FSDD test (300 spoken digits), the committed real clips
  (tests/fixtures/audio), and the real two-party telephone call;
- inference speed through the engine: decode seconds / audio seconds over the speechocean762 part
  (median of --repeats passes after a warm-up), and its ratio to the first model's;
- training throughput on this CPU (utterances per second, forward + backward + step) for full and
  LoRA fine-tuning of tiny.en, measured here on --throughput-steps batches of the train split.

    python benchmarks/asr_training.py --limit 200                  # quick
    python benchmarks/asr_training.py --models tiny.en models/asr/tiny-en-speechocean762-lora base

The last line printed is one JSON object with the figures and the machine's facts.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import finish, ratio  # noqa: E402

DEFAULT_MODELS = ["tiny.en", "models/asr/tiny-en-speechocean762-lora", "runs/asr/tiny_full/ct2", "base"]


def _rows(path: Path, limit: int | None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def _decode(transcriber, audios: list, batch: int = 16) -> tuple[list[str], float]:
    from core.asr import TranscribeOptions

    texts, started = [], time.perf_counter()
    for i in range(0, len(audios), batch):
        texts += [t.text for t in transcriber.transcribe_many(audios[i:i + batch], TranscribeOptions(language="en"))]
    return texts, time.perf_counter() - started


def evaluate_model(name: str, sets: dict[str, tuple[list, list[str], str]], repeats: int) -> dict:
    from core.asr.metrics import word_error_rate
    from core.asr.whisper_engine import WhisperTranscriber

    tr = WhisperTranscriber(name)
    out = {}
    for set_name, (audios, refs, digits) in sets.items():
        hyps, seconds = _decode(tr, audios)
        out[f"{set_name}_wer"] = word_error_rate(refs, hyps, digits=digits)
        if set_name == "speechocean762":
            audio_s = sum(a.duration for a in audios)
            times = [seconds] + [_decode(tr, audios)[1] for _ in range(max(0, repeats - 1))]
            out["rtf"] = statistics.median(times) / audio_s
    return out


def training_throughput(data: Path, steps: int) -> dict:
    """Utterances per second of tiny.en training (full and LoRA) on this machine."""
    import torch

    from core.asr.finetune import WhisperCollate, WhisperTask, add_lora
    from core.asr.whisper_hf import load_whisper_hf, prompt_ids
    from core.model_resolver import resolve_whisper

    rows = _rows(data / "speechocean762" / "train.jsonl", 8 * (steps + 1))
    for r in rows:
        r["path"] = str(data / "speechocean762" / r["audio"])
    out = {}
    for kind in ("full", "lora"):
        model, tok = load_whisper_hf(resolve_whisper("tiny.en"))
        if kind == "lora":
            model = add_lora(model, r=16, alpha=32)
        collate = WhisperCollate(tok, prompt_ids(model if kind == "full" else model.get_base_model()), augment=True)
        task = WhisperTask(tok)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
        model.train()
        batches = [collate(rows[i:i + 8]) for i in range(0, len(rows), 8)]
        task.loss(model, batches[0]).backward()  # warm-up
        opt.zero_grad()
        started = time.perf_counter()
        for b in batches[1:]:
            task.loss(model, b).backward()
            opt.step()
            opt.zero_grad()
        out[f"train_{kind}_utterances_per_s"] = 8 * (len(batches) - 1) / (time.perf_counter() - started)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None, help="first N speechocean762 test utterances")
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    ap.add_argument("--repeats", type=int, default=1, help="timed passes over the speechocean762 part")
    ap.add_argument("--throughput-steps", type=int, default=5, help="0: skip the training throughput")
    args = ap.parse_args()
    from core.audio import load_audio

    so = _rows(args.data / "speechocean762" / "test.jsonl", args.limit)
    fsdd = _rows(args.data / "fsdd" / "test.jsonl", None) if (args.data / "fsdd" / "test.jsonl").exists() else []
    fixtures = json.loads((ROOT / "tests" / "fixtures" / "audio" / "transcripts.json").read_text())
    call = ROOT / "tests" / "fixtures" / "audio" / "two_speaker_call.flac"
    call_ref = " ".join(line.split(maxsplit=5)[5] for line in call.with_suffix(".stm").read_text().splitlines())
    sets = {
        "speechocean762": ([load_audio(args.data / "speechocean762" / r["audio"]) for r in so],
                           [r["text"] for r in so], "sequence"),
        "fsdd": ([load_audio(args.data / "fsdd" / r["audio"]) for r in fsdd], [r["text"] for r in fsdd], "sequence"),
        "fixture_clips": ([load_audio(ROOT / "tests" / "fixtures" / "audio" / n) for n in fixtures],
                          list(fixtures.values()), "sequence"),
        "real_call": ([load_audio(call)], [call_ref], "number"),
    }
    sets = {k: v for k, v in sets.items() if v[0]}
    models = [m for m in args.models if m in ("tiny.en", "base") or (ROOT / m).exists() or Path(m).exists()]
    results = {m: evaluate_model(m, sets, args.repeats) for m in models}
    first = models[0]
    print(f"\nspeechocean762 test: {len(so)} utterances; FSDD test: {len(fsdd)}; committed clips: {len(fixtures)}; "
          f"real two-party call: 1 (30 s)\n")
    cols = [k for k in ("speechocean762", "fsdd", "fixture_clips", "real_call") if k in sets]
    print(f"{'model':44} " + " ".join(f"{c[:14] + ' WER':>19}" for c in cols) + f" {'RTF':>7} {'RTF ratio':>9}")
    for m, r in results.items():
        print(f"{m[-44:]:44} " + " ".join(f"{r[c + '_wer']:19.3f}" for c in cols)
              + f" {r['rtf']:7.4f} {ratio(r['rtf'], results[first]['rtf']):9.2f}")
    figures = {f"{Path(m).name.replace('.', '_').replace('-', '_')}_{k}": round(v, 4)
               for m, r in results.items() for k, v in r.items()}
    if args.throughput_steps:
        tp = training_throughput(args.data, args.throughput_steps)
        print(f"\ntraining throughput (tiny.en, batch 8, engine-sized windows, augmentation on): full "
              f"{tp['train_full_utterances_per_s']:.2f} utt/s, LoRA {tp['train_lora_utterances_per_s']:.2f} utt/s")
        figures.update({k: round(v, 3) for k, v in tp.items()})
    finish({**figures, "speechocean762_utterances": len(so)})


if __name__ == "__main__":
    main()
