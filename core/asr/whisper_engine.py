"""Whisper transcription on CPU through faster-whisper / CTranslate2.

What it does differently from ``faster_whisper.WhisperModel.transcribe`` (measured in
benchmarks/asr.py, explained in docs/asr.md):

1. silero-vad first: only speech is decoded, so silence and noise give no text, and speech is
   cut into chunks of at most 28 s that are decoded in batches (several files share a batch).
2. A right-sized encoder window: Whisper pads every chunk to 30 s, and on CPU the encoder over
   those 1,500 positions dominates the cost for short speech. Here a batch is padded only to its
   longest chunk plus ``context_pad_s`` (10 s) of padding, which keeps Whisper's accuracy (the
   padding is what the model expects to see after speech) at a fraction of the cost.
3. A safety net: any chunk whose decode looks wrong (repetitive, or low log-probability) is
   decoded again with the standard full 30 s window and the temperature fallback of the
   original Whisper, so the fast path never makes a transcript worse than the standard one.
   The fallback's sampling is seeded (``FALLBACK_SEED``): a fresh process decodes alike. Speech
   a prompted decode skipped shows as a word stretched far past its letters; it is decoded
   again without the vocabulary and forced as the text's start (``_skipped_speech_again``).
4. A second pass from the same encoder output. A vocabulary longer than the prompt holds
   (Whisper keeps 223 tokens of context, about 50 drug names): each chunk is decoded once with what
   fits (the list's end), its terms are ranked by how much something in that first transcript
   sounds like them (``core.text.sounds_like``), and the chunk is decoded again with the prompt and
   the closest terms. ``TranscribeOptions.suggest_terms`` adds a caller's own terms the same way.

>>> asr = WhisperTranscriber("tiny.en")                         # doctest: +SKIP
>>> asr.transcribe("visit.wav").text                            # 'The patient is ...'
"""
from __future__ import annotations

import logging
import os
import time
import zlib
from dataclasses import dataclass, field, replace
from typing import Sequence

import ctranslate2
import numpy as np

from core.asr.base import ProgressFn
from core.asr.types import Segment, Timings, TranscribeOptions, Transcript, Word
from core.audio import SAMPLE_RATE, Audio, AudioSource, load_audio
from core.model_resolver import resolve_whisper
from core.vad import SpeechSegment, get_vad, merge_segments

log = logging.getLogger(__name__)

FULL_WINDOW_FRAMES = 3000  # 30 s of 10 ms mel frames: Whisper's native encoder input
FRAMES_PER_SECOND = 100
MAX_CHUNK_S = 28.0  # speech chunks stay under 30 s so some padding always follows them
SENTENCE_END = (".", "?", "!")
SEGMENT_GAP_S = 1.0  # a pause this long between words starts a new segment
MAX_DECODER_TOKENS = 448  # Whisper's text context
MAX_PROMPT_TOKENS = MAX_DECODER_TOKENS // 2 - 1  # previous-text context, as Whisper was trained
# speech gives at least this much text (slow dictation, 100 words a minute: ~9 characters a second);
# far less means the decoder stopped early or wrote the prompt's terms back instead of the speech
# ("plan, colon, start, plan, start" for 7 s of an order, with a vocabulary in the prompt)
MIN_CHARS_PER_VOICED_S = 5.0
MIN_VOICED_S = 3.0  # judged only on chunks with this much speech
MAX_TERM_TRIES = 4  # lists of terms whose tries propose_terms keeps
MAX_PRIORS = 50_000  # texts' and terms' scores on silence kept (a few MB)
# a second pass adds at most this many chosen terms: a long list of names dilutes the prompt
# until the decoder drops words (tuned on the tuned dictation set, benchmarks/dictation.py)
SECOND_PASS_TERMS = 10
SECOND_PASS_MIN_SIMILARITY = 0.6  # a long vocabulary's terms must sound this much like something heard
# the temperature fallback samples; CTranslate2 seeds each worker thread's generator once, from
# this process-wide seed, when it first samples: set when the first transcriber is built, a fresh
# process decodes the same audio the same way (one decode had given an order, the next a list of names)
FALLBACK_SEED = 20261207
# a word far longer than its letters allow is speech the decode skipped and the alignment stretched
# that word over: with a vocabulary in the prompt, Whisper has dropped a whole clause at a chunk's
# start ("10" from 0.0 to 1.7 s, over "plan colon continue metformin ten")
STRETCHED_WORD_S = 1.2
STRETCHED_S_PER_CHAR = 0.15  # per letter said: a digit is said as about 4 ("seven"), a letter of "mg" as 5
# the audio up to that word's end, decoded without the vocabulary, holds this many more letters
# before the word's own sound than the decode had there (and half as many again): a pause
# stretched into a word adds none
SKIPPED_MIN_LETTERS = 8
SAID_S_PER_LETTER = 0.08  # about how long a letter said takes (dictation: 12-15 letters a second)
SKIPPED_SLACK_S = 0.1


@dataclass
class _Chunk:
    audio_index: int  # which input recording
    start: float  # seconds in that recording
    samples: np.ndarray  # [T] float32 16 kHz
    features: np.ndarray | None = None  # [80, F]
    result: Segment | None = None  # decoded segment (before sentence splitting)
    language: str = "en"  # language the chunk was decoded in
    voiced_s: float | None = None  # seconds of speech in it (VAD); None without VAD


@dataclass
class _Decoded:
    tokens: list[int]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    text: str = field(default="")


class WhisperTranscriber:
    """A ``core.asr.base.Transcriber`` for any CTranslate2 Whisper model (default: tiny.en)."""

    def __init__(
        self,
        model: str = "tiny.en",
        *,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        device: str = "cpu",
        allow_download: bool = False,
    ):
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        path = resolve_whisper(model, allow_download=allow_download)
        ctranslate2.set_random_seed(FALLBACK_SEED)
        self.name = model
        self._fw = WhisperModel(
            path, device=device, compute_type=compute_type,
            cpu_threads=cpu_threads or os.cpu_count() or 1, local_files_only=not allow_download,
        )
        self._model: ctranslate2.models.Whisper = self._fw.model
        self._features = self._fw.feature_extractor
        self.multilingual = bool(self._model.is_multilingual)
        self._tokenizers: dict[str, Tokenizer] = {}
        self._silence: dict[tuple[int, int], np.ndarray] = {}  # encoded silence (score_texts priors)
        self._priors: dict[tuple, float] = {}  # texts' and terms' scores on silence
        self._term_search = None  # core.asr.term_search.TermSearch (propose_terms), built on first use
        self._term_tries: dict = {}  # and the tries of the last lists of terms asked about (a new dict each time)
        self._make_tokenizer = lambda lang: Tokenizer(
            self._fw.hf_tokenizer, self.multilingual, task="transcribe", language=lang
        )
        self._suppress = get_suppressed_tokens(self._tokenizer("en"), [-1])

    # -- public API -----------------------------------------------------------------------------
    def transcribe(self, audio: Audio | AudioSource, options: TranscribeOptions | None = None) -> Transcript:
        t0 = time.perf_counter()
        if not isinstance(audio, Audio):
            audio = load_audio(audio)
        load_s = time.perf_counter() - t0
        (out,) = self.transcribe_many([audio], options)
        return _with_timings(out, load_s=load_s, total_s=time.perf_counter() - t0)

    def transcribe_many(
        self,
        audios: Sequence[Audio],
        options: TranscribeOptions | None = None,
        progress: ProgressFn | None = None,
    ) -> list[Transcript]:
        opt = options or TranscribeOptions()
        chunks, vad_s = self._split(audios, opt)
        t1 = time.perf_counter()
        order = sorted(range(len(chunks)), key=lambda k: chunks[k].samples.size)
        for done in range(0, len(order), max(1, opt.batch_size)):
            self._decode_batch([chunks[k] for k in order[done : done + opt.batch_size]], opt)
            if progress:
                progress(min(done + opt.batch_size, len(order)), len(order))
        asr_s = time.perf_counter() - t1
        total_audio = sum(a.duration for a in audios) or 1.0
        out = []
        for i, audio in enumerate(audios):
            mine = [c for c in chunks if c.audio_index == i and c.result is not None]
            segments = tuple(s for c in sorted(mine, key=lambda c: c.start) for s in _split_sentences(c.result))
            share = audio.duration / total_audio
            warnings = list(audio.warnings)
            out.append(Transcript(
                text=" ".join(s.text for s in segments),
                segments=segments,
                language=_majority_language(mine, default=opt.language or "en"),
                duration=audio.duration,
                timings=Timings(vad_s=vad_s[i], asr_s=asr_s * share, total_s=vad_s[i] + asr_s * share),
                model=self.name,
                warnings=tuple(warnings),
            ))
        if progress and not order:
            progress(0, 0)
        return out

    def detect_language(self, audio: Audio, max_speech_s: float = 30.0) -> list[tuple[str, float]]:
        """Spoken language of a recording, ``[(ISO 639-1 code, probability)]`` best first, from up
        to ``max_speech_s`` of its speech (VAD) in one encoder pass. Multilingual models only."""
        if not self.multilingual:
            raise ValueError(f"Whisper '{self.name}' knows one language; use a multilingual model to detect it.")
        spans = get_vad().segments(audio.samples)
        pieces, total = [], 0
        for span in spans or [SpeechSegment(0.0, audio.duration)]:
            a, b = int(span.start * SAMPLE_RATE), int(span.end * SAMPLE_RATE)
            pieces.append(audio.samples[a:b][: int((max_speech_s - total) * SAMPLE_RATE)])
            total += pieces[-1].size / SAMPLE_RATE
            if total >= max_speech_s:
                break
        f = self._features(np.concatenate(pieces))[:, :FULL_WINDOW_FRAMES]
        (found,) = self._model.detect_language(self._encode([f], FULL_WINDOW_FRAMES))
        return [(code.strip("<|>"), float(p)) for code, p in found]

    def score_texts(self, samples: np.ndarray, texts: Sequence[str], language: str = "en",
                    context_pad_s: float = 8.0) -> list[float]:
        """How well each of ``texts`` explains a short piece of audio (< 28 s): the summed log
        probability of its tokens, the model reading the text as it listens (teacher-forced, one
        encoder pass for all). Higher is better; only comparable between texts of the same piece.
        On silence (all zeros) each text's score is kept: it is a prior, asked for again and again.

        CTranslate2's own decoder (int8) reads them, not the faster torch one of the term search
        (``core.asr.term_search``, float): the listening rules were tuned on these scores, and the
        float ones, up to 0.7 nats apart, lost two names and wrote two wrong ones on the dictation
        sets (docs/decisions.md)."""
        if not texts:
            return []
        tok = self._tokenizer(language if self.multilingual else "en")
        once, frames = self._encoded_piece(samples, context_pad_s)

        def score(some: list[str]) -> list[float]:
            token_lists = [tok.encode(" " + t.strip()) for t in some]
            enc = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(once, len(token_lists), axis=0)))
            results = self._model.align(enc, list(tok.sot_sequence) + [tok.no_timestamps], token_lists,
                                        [frames] * len(token_lists), median_filter_width=7)
            return [float(np.sum(np.log(np.maximum(r.text_token_probs, 1e-12)))) for r in results]
        if np.any(samples):
            return score(list(texts))
        return self._prior(("text", len(samples), context_pad_s, language), list(texts), score)

    def propose_terms(self, samples: np.ndarray, before: str, terms: Sequence[str], k: int = 5,
                      language: str = "en", context_pad_s: float = 8.0) -> list[tuple[str, float]]:
        """The ``k`` of ``terms`` the model hears best right after the words ``before`` in a short
        piece of audio (< 28 s), with their log probabilities: its decoder held to the terms
        (``core.asr.term_search``). The search for a list of terms is built once (seconds)."""
        from core.asr.term_search import TermTrie

        search, encoded, prefix, tok = self._term_inputs(samples, before, language, context_pad_s)
        key = tuple(terms)
        trie = self._term_tries.get(key)
        if trie is None:  # a few lists in turn (the lexicon's names, a clinician's): each built once
            trie = TermTrie(tok, terms)
            self._term_tries = {**dict(list(self._term_tries.items())[-(MAX_TERM_TRIES - 1):]), key: trie}
        return search.best(trie, encoded, prefix, k)

    def score_terms(self, samples: np.ndarray, before: str, terms: Sequence[str], language: str = "en",
                    context_pad_s: float = 8.0) -> list[float]:
        """Each of ``terms``' log probability right after the words ``before`` in a short piece of
        audio, as ``propose_terms`` scores it; on silence (all zeros, encoded once per length) it
        is how much the model likes a term before it hears anything (a prior)."""
        search, encoded, prefix, _ = self._term_inputs(samples, before, language, context_pad_s)
        score = lambda some: search.score(encoded, prefix, some)  # noqa: E731
        if np.any(samples):
            return score(list(terms))
        return self._prior(("term", len(samples), context_pad_s, language, before.strip()), list(terms), score)

    def forget_priors(self) -> None:
        """Drop the scores on silence kept so far (a benchmark's cold start: a first dictation)."""
        self._priors = {}

    def _prior(self, where: tuple, items: list[str], score) -> list[float]:
        """``score(items)`` on silence, each item scored once (a dictation asks about the same verbs
        and names again and again); at most ``MAX_PRIORS`` kept."""
        kept = self._priors  # this call's own reference: another thread may start a new store
        missing = [x for x in dict.fromkeys(items) if (where, x) not in kept]
        if missing:
            scores = score(missing)
            if len(kept) + len(missing) > MAX_PRIORS:
                kept = self._priors = {}
            kept.update({(where, x): v for x, v in zip(missing, scores)})
        return [kept[where, x] for x in items]

    def _term_inputs(self, samples: np.ndarray, before: str, language: str, context_pad_s: float) -> tuple:
        """(the term search, the piece's encoder output, the decoder's prefix, the tokenizer)."""
        from core.asr.term_search import TermSearch

        tok = self._tokenizer(language if self.multilingual else "en")
        if self._term_search is None:
            self._term_search = TermSearch(resolve_whisper(self.name), tok)
        encoded, _ = self._encoded_piece(samples, context_pad_s)
        prefix = list(tok.sot_sequence) + [tok.no_timestamps] + (tok.encode(" " + before.strip()) if before.strip() else [])
        return self._term_search, encoded, prefix, tok

    def _encoded_piece(self, samples: np.ndarray, context_pad_s: float) -> tuple[np.ndarray, int]:
        """(encoder output, feature frames) of a short piece, in a window of the piece plus
        ``context_pad_s``; silence (all zeros: a prior) is encoded once per length."""
        samples = np.asarray(samples, dtype=np.float32)
        f = self._features(samples)[:, :FULL_WINDOW_FRAMES]
        window = min(FULL_WINDOW_FRAMES, f.shape[1] + int(context_pad_s * FRAMES_PER_SECOND))
        silent, key = not np.any(samples), (len(samples), window)
        once = self._silence.get(key) if silent else None
        if once is None:
            once = np.asarray(self._encode([f], window, to_cpu=True))
            if silent:
                self._silence[key] = once
        return once, f.shape[1]

    # -- steps ----------------------------------------------------------------------------------
    def _split(self, audios: Sequence[Audio], opt: TranscribeOptions) -> tuple[list[_Chunk], list[float]]:
        """Recordings -> speech chunks of <= 28 s (VAD) or plain 28 s windows (no VAD)."""
        chunks: list[_Chunk] = []
        vad_s: list[float] = []
        for i, audio in enumerate(audios):
            t = time.perf_counter()
            if opt.use_vad:
                speech = get_vad().segments(audio.samples)
                spans = merge_segments(speech, max_chunk_s=MAX_CHUNK_S)
            else:
                speech, spans = None, [SpeechSegment(s, min(s + MAX_CHUNK_S, audio.duration))
                                       for s in np.arange(0.0, audio.duration, MAX_CHUNK_S)]
            vad_s.append(time.perf_counter() - t)
            for span in spans:
                a, b = int(span.start * SAMPLE_RATE), int(span.end * SAMPLE_RATE)
                if b - a >= SAMPLE_RATE // 10:
                    voiced = None if speech is None else sum(
                        max(0.0, min(s.end, span.end) - max(s.start, span.start)) for s in speech)
                    chunks.append(_Chunk(i, a / SAMPLE_RATE, audio.samples[a:b], voiced_s=voiced))
        return chunks, vad_s

    def _decode_batch(self, batch: list[_Chunk], opt: TranscribeOptions) -> None:
        """Encode a batch in a right-sized window, decode greedily/beam, fall back where needed."""
        for c in batch:
            f = self._features(c.samples)  # [80, F]
            c.features = f[:, :FULL_WINDOW_FRAMES]
        pad = int(opt.context_pad_s * FRAMES_PER_SECOND)
        window = min(FULL_WINDOW_FRAMES, max(c.features.shape[1] for c in batch) + pad)
        enc = self._encode([c.features for c in batch], window)
        langs = self._languages(enc, len(batch), opt)
        for c, lang in zip(batch, langs):
            c.language = lang
        prompts = [self._prompt(lang, opt) for lang in langs]
        results = self._model.generate(
            enc, prompts, beam_size=opt.beam_size, patience=1.0, length_penalty=1.0,
            max_length=self._max_length(prompts[0], opt), return_scores=True,
            return_no_speech_prob=True, suppress_blank=True, suppress_tokens=self._suppress,
        )
        decoded = [self._score(r.sequences_ids[0], r.scores[0], r.no_speech_prob, lang)
                   for r, lang in zip(results, langs)]
        options = [opt] * len(batch)
        if opt.suggest_terms is not None or (opt.vocabulary and not self._prompt_holds(langs[0], opt)):
            options, decoded = self._decode_with_closest_terms(enc, langs, decoded, opt)
        keep: list[tuple[int, _Decoded]] = []
        for j, (c, d) in enumerate(zip(batch, decoded)):
            if _is_silence(d, opt):
                continue
            if _needs_fallback(d, opt, c.voiced_s):
                self._decode_full_window(c, langs[j], options[j])
                continue
            keep.append((j, d))
        words: list[tuple] = [()] * len(keep)
        if keep and opt.word_timestamps:
            idx = [j for j, _ in keep]
            sub = enc if len(idx) == len(batch) else ctranslate2.StorageView.from_array(
                np.ascontiguousarray(np.asarray(enc)[idx]))
            words = self._align(sub, [d.tokens for _, d in keep],
                                [batch[j].features.shape[1] for j in idx], [langs[j] for j in idx])
        for (j, d), w in zip(keep, words):
            if _stretched_word(w) is not None:
                row = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.asarray(enc)[j:j + 1]))
                d, w = self._skipped_speech_again(batch[j], row, langs[j], options[j], d, w)
            batch[j].result = _segment(batch[j], d, w)
        for c in batch:
            c.features = None  # ~1 MB per chunk: hours of audio must not keep them all

    def _decode_with_closest_terms(self, enc: ctranslate2.StorageView, langs: list[str], first: list[_Decoded],
                                   opt: TranscribeOptions) -> tuple[list[TranscribeOptions], list[_Decoded]]:
        """Decode chunks again with the terms that fit them best: a vocabulary too long for the
        prompt ranked by how much the chunk's first decode sounds like each term, then what
        ``opt.suggest_terms`` proposes for that decode; as many as the prompt holds. Chunks that
        are silent, or for which nothing changes, keep their first decode."""
        from core.text.sounds_like import rank_terms

        holds = self._prompt_holds(langs[0], opt)
        options, decoded = [opt] * len(first), list(first)
        redo = []
        for j, d in enumerate(first):
            if not d.text or _is_silence(d, opt):
                continue
            vocabulary = list(opt.vocabulary) if holds else [
                t for t, score in rank_terms(d.text, opt.vocabulary) if score >= SECOND_PASS_MIN_SIMILARITY]
            have = {t.lower() for t in vocabulary}
            extra = [t for t in self._suggested(opt, d.text) if t.lower() not in have]
            if holds and not extra:
                continue
            # the clinician's own list stays whole when it fits; chosen terms are capped
            chosen = vocabulary + extra[:SECOND_PASS_TERMS] if holds else (vocabulary + extra)[:SECOND_PASS_TERMS]
            terms = self._terms_that_fit(langs[j], opt, chosen)
            if not terms:
                continue
            options[j] = replace(opt, vocabulary=tuple(reversed(terms)), suggest_terms=None)  # the best last
            redo.append(j)
        if not redo:
            return options, decoded
        prompts = {j: self._prompt(langs[j], options[j]) for j in redo}
        frames = np.asarray(enc)
        for size in sorted({len(p) for p in prompts.values()}):  # one batch per prompt length (CTranslate2 needs that)
            group = [j for j in redo if len(prompts[j]) == size]
            results = self._model.generate(
                ctranslate2.StorageView.from_array(np.ascontiguousarray(frames[group])), [prompts[j] for j in group],
                beam_size=opt.beam_size, patience=1.0, length_penalty=1.0,
                max_length=self._max_length(prompts[group[0]], opt), return_scores=True,
                return_no_speech_prob=True, suppress_blank=True, suppress_tokens=self._suppress,
            )
            for j, r in zip(group, results):
                again = self._score(r.sequences_ids[0], r.scores[0], r.no_speech_prob, langs[j])
                if not _is_silence(again, opt):  # a prompt must not talk a chunk into silence
                    decoded[j] = again
        return options, decoded

    @staticmethod
    def _suggested(opt: TranscribeOptions, text: str) -> list[str]:
        if opt.suggest_terms is None:
            return []
        try:
            return [t for t in opt.suggest_terms(text) if isinstance(t, str) and t.strip()]
        except Exception:  # a caller's helper failing costs its second pass, never the transcript
            log.exception("suggest_terms failed on a chunk; it keeps its first decode")
            return []

    def _decode_full_window(self, chunk: _Chunk, lang: str, opt: TranscribeOptions) -> None:
        """Standard Whisper decoding of one chunk: 30 s window + temperature fallback. With a
        prompt (a vocabulary, an initial prompt), a last try goes without it when every
        temperature failed: a decode that loops or stops early at every temperature under a
        prompt is the prompt's doing (a vocabulary's names written over and over)."""
        enc = self._encode([chunk.features], FULL_WINDOW_FRAMES)
        prompt = self._prompt(lang, opt)
        bare = self._prompt(lang, replace(opt, vocabulary=(), initial_prompt=None))
        tries = [(t, prompt) for t in opt.temperatures] + [(0.0, bare)] * (bare != prompt)
        candidates: list[_Decoded] = []
        for temperature, given in tries:
            if temperature > 0:
                kwargs = dict(beam_size=1, num_hypotheses=5, sampling_topk=0, sampling_temperature=temperature)
            else:
                kwargs = dict(beam_size=opt.beam_size, patience=1.0)
            r = self._model.generate(
                enc, [given], length_penalty=1.0, max_length=self._max_length(given, opt),
                return_scores=True, return_no_speech_prob=True, suppress_blank=True,
                suppress_tokens=self._suppress, **kwargs,
            )[0]
            d = self._score(r.sequences_ids[0], r.scores[0], r.no_speech_prob, lang)
            if _is_silence(d, opt):
                if temperature == opt.temperatures[0] and given is prompt:
                    return  # the chunk is silence
                continue  # a sampled try that wrote nothing is a failed try, not silence
            candidates.append(d)
            if not _needs_fallback(d, opt, chunk.voiced_s):
                break
        if not candidates:
            return
        fine = [d for d in candidates if not _needs_fallback(d, opt, chunk.voiced_s)]
        good = fine or [d for d in candidates if d.compression_ratio <= opt.compression_ratio_threshold]
        best = max(good or candidates, key=lambda d: d.avg_logprob)
        words = self._align(enc, [best.tokens], [chunk.features.shape[1]], [lang])[0] if opt.word_timestamps else ()
        if _stretched_word(words) is not None:
            best, words = self._skipped_speech_again(chunk, enc, lang, opt, best, words)
        chunk.result = _segment(chunk, best, words)

    def _skipped_speech_again(self, chunk: _Chunk, enc: ctranslate2.StorageView, lang: str, opt: TranscribeOptions,
                              d: _Decoded, words: tuple) -> tuple[_Decoded, tuple]:
        """A decode under a prompt whose word times show skipped speech (``_stretched_word``): the
        audio up to that word's end is decoded without the vocabulary; where the words it holds
        before the stretched word's own sound have ``SKIPPED_MIN_LETTERS`` more letters than the
        decode had there, they start the text and the chunk is decoded again under the prompt from
        there (the stretched word is left to the prompt: "Start Search Reline" for "Start
        Sertraline" would undo what the vocabulary heard). (``d``, ``words``) stay when nothing was
        skipped, or when the new decode is no longer or needs the fallback."""
        prompt = self._prompt(lang, opt)
        plain = self._prompt(lang, replace(opt, vocabulary=()))  # the initial prompt, the style, stays
        plain = plain if plain != prompt else self._prompt(lang, replace(opt, vocabulary=(), initial_prompt=None))
        k = _stretched_word(words)
        if k is None or plain == prompt:
            return d, words
        tok = self._tokenizer(lang)
        head = chunk.samples[: int(min(words[k]["end"], chunk.samples.size / SAMPLE_RATE) * SAMPLE_RATE)]
        f = self._features(head)
        head_enc = self._encode([f], min(FULL_WINDOW_FRAMES, f.shape[1] + int(opt.context_pad_s * FRAMES_PER_SECOND)))
        r = self._model.generate(head_enc, [plain], beam_size=opt.beam_size, patience=1.0, length_penalty=1.0,
                                 max_length=self._max_length(plain, opt), suppress_blank=True,
                                 suppress_tokens=self._suppress)[0]
        head_tokens = [t for t in r.sequences_ids[0] if t < tok.eot]
        # the skipped speech is what the head holds before the stretched word's own sound (its end
        # less the time its letters take): the words said there, as the head's alignment times them
        own_start = words[k]["end"] - SAID_S_PER_LETTER * _letters_said(words[k]["word"])
        head_words = self._align(head_enc, [head_tokens], [f.shape[1]], [lang])[0] if head_tokens else ()
        skipped = [w for w in head_words if w["end"] <= own_start + SKIPPED_SLACK_S]
        had = sum(_letters(w["word"]) for w in words[:k])
        heard = sum(_letters(w["word"]) for w in skipped)
        if heard - had < max(SKIPPED_MIN_LETTERS, had / 2):
            return d, words  # the word was only said slowly, or a pause was stretched into it
        prefix = [t for w in skipped for t in w["tokens"]]
        r = self._model.generate(enc, [prompt + prefix], beam_size=opt.beam_size, patience=1.0, length_penalty=1.0,
                                 max_length=self._max_length(prompt + prefix, opt), return_scores=True,
                                 return_no_speech_prob=True, suppress_blank=True, suppress_tokens=self._suppress)[0]
        tokens = list(r.sequences_ids[0])
        tokens = tokens if tokens[: len(prefix)] == prefix else prefix + tokens
        again = self._score(tokens, r.scores[0], r.no_speech_prob, lang)
        if _needs_fallback(again, opt, chunk.voiced_s) or len(again.text) <= len(d.text):
            return d, words
        log.info("a decode under the prompt skipped speech (%r stretched over %.1f s); decoded again from %r",
                 words[k]["word"], words[k]["end"] - words[k]["start"], tok.decode(prefix))
        aligned = self._align(enc, [again.tokens], [chunk.features.shape[1]], [lang])[0]
        return again, aligned

    # -- model helpers --------------------------------------------------------------------------
    def _encode(self, features: list[np.ndarray], window: int, to_cpu: bool = False) -> ctranslate2.StorageView:
        x = np.zeros((len(features), features[0].shape[0], window), dtype=np.float32)
        for j, f in enumerate(features):
            n = min(window, f.shape[1])
            x[j, :, :n] = f[:, :n]
        return self._model.encode(ctranslate2.StorageView.from_array(x), to_cpu=to_cpu)

    def _tokenizer(self, lang: str):
        if lang not in self._tokenizers:
            self._tokenizers[lang] = self._make_tokenizer(lang if self.multilingual else None)
        return self._tokenizers[lang]

    def _languages(self, enc: ctranslate2.StorageView, n: int, opt: TranscribeOptions) -> list[str]:
        if opt.language or not self.multilingual:
            return [opt.language or "en"] * n
        found = self._model.detect_language(enc)
        return [r[0][0].strip("<|>") for r in found]

    def _context(self, lang: str, opt: TranscribeOptions, vocabulary: Sequence[str] | None = None) -> list[int]:
        terms = opt.vocabulary if vocabulary is None else vocabulary
        context = " ".join(p for p in (opt.initial_prompt, ", ".join(terms)) if p).strip()
        return self._tokenizer(lang).encode(" " + context) if context else []

    def _prompt(self, lang: str, opt: TranscribeOptions) -> list[int]:
        tok = self._tokenizer(lang)
        context = self._context(lang, opt)
        prompt = [tok.sot_prev] + context[-MAX_PROMPT_TOKENS:] if context else []
        return prompt + list(tok.sot_sequence) + [tok.no_timestamps]

    def _prompt_holds(self, lang: str, opt: TranscribeOptions) -> bool:
        return len(self._context(lang, opt)) <= MAX_PROMPT_TOKENS

    def _terms_that_fit(self, lang: str, opt: TranscribeOptions, ranked: list[str]) -> list[str]:
        """The longest best-first prefix of ``ranked`` that fits the prompt after ``initial_prompt``."""
        lo, hi = 0, len(ranked)
        while lo < hi:  # the token count grows with the prefix: bisect it
            mid = (lo + hi + 1) // 2
            if len(self._context(lang, opt, ranked[:mid])) <= MAX_PROMPT_TOKENS:
                lo = mid
            else:
                hi = mid - 1
        return ranked[:lo]

    def _max_length(self, prompt: list[int], opt: TranscribeOptions) -> int:
        return min(MAX_DECODER_TOKENS, len(prompt) + opt.max_new_tokens)

    def _score(self, tokens: list[int], score: float, no_speech: float, lang: str) -> _Decoded:
        tokens = [t for t in tokens if t < self._tokenizer(lang).eot]
        cum_logprob = score * len(tokens)  # scores are length-normalised (length_penalty=1)
        text = self._tokenizer(lang).decode(tokens).strip()
        return _Decoded(tokens, cum_logprob / (len(tokens) + 1), float(no_speech), _compression_ratio(text), text)

    def _align(self, enc, token_lists: list[list[int]], frames: list[int], langs: list[str]) -> list[tuple]:
        """Word start/end/probability from cross-attention alignment (DTW over alignment heads)."""
        from faster_whisper.transcribe import merge_punctuations

        tok = self._tokenizer(langs[0])
        results = self._model.align(enc, list(tok.sot_sequence), token_lists, frames, median_filter_width=7)
        out = []
        for res, tokens, lang in zip(results, token_lists, langs):
            tok = self._tokenizer(lang)
            words, word_tokens = tok.split_to_word_tokens(tokens + [tok.eot])
            if len(word_tokens) <= 1:
                out.append(())
                continue
            bounds = np.pad(np.cumsum([len(t) for t in word_tokens[:-1]]), (1, 0))
            text_idx = np.array([p[0] for p in res.alignments])
            time_idx = np.array([p[1] for p in res.alignments])
            jumps = np.pad(np.diff(text_idx), (1, 0), constant_values=1).astype(bool)
            jump_times = time_idx[jumps] / 50.0  # 50 encoder positions per second
            probs = res.text_token_probs
            items = [
                dict(word=w, tokens=t, start=float(jump_times[a]), end=float(jump_times[b]),
                     probability=float(np.mean(probs[a:b])) if b > a else 0.0)
                for w, t, a, b in zip(words, word_tokens, bounds[:-1], bounds[1:])
            ]
            merge_punctuations(items, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
            out.append(tuple(i for i in items if i["word"].strip()))
        return out


def _majority_language(chunks: list[_Chunk], default: str) -> str:
    """The language most of the recording's speech (by duration) was decoded in."""
    seconds: dict[str, float] = {}
    for c in chunks:
        seconds[c.language] = seconds.get(c.language, 0.0) + c.samples.size
    return max(seconds, key=seconds.get) if seconds else default


def _with_timings(t: Transcript, *, load_s: float, total_s: float) -> Transcript:
    from dataclasses import replace

    return replace(t, timings=replace(t.timings, load_s=load_s, total_s=total_s))


def _compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def _is_silence(d: _Decoded, opt: TranscribeOptions) -> bool:
    """Whisper's own no-speech rule, plus: nothing but punctuation is no transcript."""
    if not any(ch.isalnum() for ch in d.text):
        return True
    return d.no_speech_prob > opt.no_speech_threshold and d.avg_logprob < opt.log_prob_threshold


def _needs_fallback(d: _Decoded, opt: TranscribeOptions, voiced_s: float | None = None) -> bool:
    return (d.compression_ratio > opt.compression_ratio_threshold
            or d.avg_logprob < opt.fallback_log_prob_threshold
            or _has_loop(d.text)
            or _too_little_text(d.text, voiced_s))


def _too_little_text(text: str, voiced_s: float | None) -> bool:
    """Far less text than the speech in the chunk holds (``MIN_CHARS_PER_VOICED_S``)."""
    return voiced_s is not None and voiced_s >= MIN_VOICED_S and len(text.strip()) < MIN_CHARS_PER_VOICED_S * voiced_s


def _stretched_word(words: Sequence[dict]) -> int | None:
    """The first aligned word far longer than its letters allow (``STRETCHED_WORD_S``), if any."""
    for k, w in enumerate(words):
        if w["end"] - w["start"] > max(STRETCHED_WORD_S, STRETCHED_S_PER_CHAR * _letters_said(w["word"])):
            return k
    return None


def _letters_said(word: str) -> int:
    """About how many letters saying ``word`` takes: "10" is "ten", ".5mg" "point five milligrams"."""
    if not any(ch.isdigit() for ch in word):
        return _letters(word)
    return sum(4 if ch.isdigit() else 5 for ch in word if ch.isalnum() or ch in ".,")


def _letters(word: str) -> int:
    return sum(ch.isalnum() for ch in word)


def _has_loop(text: str, times: int = 3, max_n: int = 4) -> bool:
    """True when a 1-4 word phrase repeats ``times`` times in a row ("2648 2648 2648"), or the whole
    text is one phrase repeated ("7342 7342"): the short decoding loops that the compression-ratio
    test is too coarse to see. A false alarm ("bye bye") only costs a standard re-decode."""
    words = [w.strip(".,!?;:").lower() for w in text.split()]
    for n in range(1, len(words) // 2 + 1):  # the whole text is one phrase said k >= 2 times
        if len(words) % n == 0 and words == words[:n] * (len(words) // n):
            return True
    for n in range(1, max_n + 1):
        for i in range(len(words) - n * times + 1):
            phrase = words[i : i + n]
            if all(words[i + k * n : i + (k + 1) * n] == phrase for k in range(1, times)):
                return True
    return False


def _segment(chunk: _Chunk, d: _Decoded, aligned: tuple) -> Segment:
    duration = chunk.samples.size / SAMPLE_RATE
    words = tuple(
        Word(
            text=a["word"].strip(),
            start=round(chunk.start + min(a["start"], duration), 3),
            end=round(chunk.start + min(max(a["end"], a["start"]), duration), 3),
            confidence=round(a["probability"], 4),
        )
        for a in aligned
    )
    return Segment(
        start=round(chunk.start, 3), end=round(chunk.start + duration, 3), text=d.text, words=words,
        avg_logprob=round(d.avg_logprob, 4), no_speech_prob=round(d.no_speech_prob, 4),
    )


def _split_sentences(seg: Segment) -> list[Segment]:
    """One decoded chunk -> segments at sentence ends and long pauses (subtitle-sized)."""
    if not seg.words:
        return [seg]
    groups: list[list[Word]] = [[]]
    for k, w in enumerate(seg.words):
        groups[-1].append(w)
        nxt = seg.words[k + 1] if k + 1 < len(seg.words) else None
        if nxt is not None and (w.text.endswith(SENTENCE_END) or nxt.start - w.end >= SEGMENT_GAP_S):
            groups.append([])
    return [
        Segment(start=g[0].start, end=g[-1].end, text=" ".join(w.text for w in g), words=tuple(g),
                avg_logprob=seg.avg_logprob, no_speech_prob=seg.no_speech_prob)
        for g in groups if g
    ]
