"""Command line: ``python -m core.asr transcribe FILES... [--model M] [--format txt|json|srt|vtt]``.

Each file's transcript goes to stdout (or to --output-dir/<name>.<format>). A file that cannot be
used gets one plain-language line on stderr; the others are still transcribed, and the exit status
is 1 when any file failed.
"""
from __future__ import annotations

import logging

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from core.asr.formats import FORMATS, render
from core.asr.types import TranscribeOptions
from core.audio import AudioError, load_audio
from core.config import get_settings
from core.model_resolver import ModelNotFoundError

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m core.asr", description="Parlance speech recognition")
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("transcribe", help="transcribe audio files")
    t.add_argument("files", nargs="+", type=Path)
    t.add_argument("--model", default=None, help="tiny.en (bundled), a CTranslate2 folder, or a hub id")
    t.add_argument("--format", choices=FORMATS, default="txt")
    t.add_argument("--output-dir", type=Path, default=None, help="write <name>.<format> files here")
    t.add_argument("--vocabulary", default="", help="comma-separated words to bias towards")
    t.add_argument("--prompt", default=None, help="text to prime the decoder with")
    t.add_argument("--beam-size", type=int, default=5)
    t.add_argument("--no-word-timestamps", action="store_true")
    t.add_argument("--no-vad", action="store_true", help="decode the whole audio, speech or not")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    from core.asr.whisper_engine import WhisperTranscriber

    try:
        asr = WhisperTranscriber(args.model or settings.asr_model, compute_type=settings.asr_compute_type,
                                 cpu_threads=settings.cpu_threads, allow_download=settings.allow_model_download)
    except ModelNotFoundError as exc:
        log.debug("model not found", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = TranscribeOptions(
        beam_size=args.beam_size, word_timestamps=not args.no_word_timestamps, use_vad=not args.no_vad,
        vocabulary=tuple(v.strip() for v in args.vocabulary.split(",") if v.strip()),
        initial_prompt=args.prompt,
    )
    if args.output_dir:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    bar = tqdm(args.files, unit="file", disable=len(args.files) < 2 and not sys.stderr.isatty(), file=sys.stderr)
    for path in bar:
        bar.set_postfix_str(path.name)
        try:
            audio = load_audio(path, max_seconds=settings.max_audio_seconds, min_seconds=settings.min_audio_seconds)
            transcript = asr.transcribe(audio, options)
        except AudioError as exc:
            log.debug("%s refused", path, exc_info=True)
            failed += 1
            tqdm.write(f"{path}: {exc.message}", file=sys.stderr)
            continue
        for note in transcript.warnings:
            tqdm.write(f"{path}: warning: {note}", file=sys.stderr)
        text = render(transcript, args.format)
        if args.output_dir:
            (args.output_dir / f"{path.stem}.{args.format}").write_text(text, encoding="utf-8")
        else:
            if len(args.files) > 1 and args.format in ("txt", "srt", "vtt"):
                sys.stdout.write(f"==> {path} <==\n")
            sys.stdout.write(text)
            sys.stdout.flush()
    if failed:
        print(f"{failed} of {len(args.files)} file(s) could not be transcribed.", file=sys.stderr)
    return 1 if failed else 0
