"""Who spoke when in a mono recording with one or two speakers, such as a phone call.

silero-vad speech regions are cut into short overlapping windows; each window gets a voice print,
the prints are clustered into two groups, and frame-level votes are smoothed so no turn is
shorter than ``min_turn_s``. Two kinds of voice print place the turns:

- ``mfcc`` (default): the mean and spread of MFCCs per window, Ward clustering on standardised
  features;
- ``ge2e``: the neural GE2E speaker encoder from the Resemblyzer wheel (``core.voice_prints``),
  1.6 s windows, spectral clustering.

One voice or two. Before any turn is placed, the speech is cut into pieces of at most 3 s, each
gets a GE2E print, the pieces are split into the two most different groups (average linkage on
cosine distance), and when the two groups are still as alike as ``one_voice_similarity`` (a
speaker-verification threshold), the recording is one voice. The threshold 0.70 was chosen on
real voices (speechocean762 and RAVDESS speakers, clean and through a telephone path, one seed)
for a precision of 0.9: a two-party call taken for one voice loses its agent/customer split, which
costs more than the reverse. ``benchmarks/callcenter.py --voices-only`` measures it on other
speakers; see docs/callcenter.md for the figures.

Measured (2026-12-01): on the real two-party telephone call (tests/fixtures) both prints give DER
0.029; on the synthetic mono calls GE2E turns do better (0.156 vs 0.210) but GE2E costs 1.5x the
time, so MFCC places the turns by default (README, issue 13). Centroids of
window prints were a poor one-voice test (the real call's two speakers: 0.88; one RAVDESS actor's
calm and angry clips: 0.59-0.83); the piece-level split above tells them apart (0.55 for the call).

>>> turns = diarize(samples)                     # doctest: +SKIP
>>> turns[0]                                     # SpeakerTurn(start=6.6, end=7.2, speaker='S1')
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from core.audio import SAMPLE_RATE
from core.vad import SpeechSegment, VadOptions, get_vad

FRAME_S = 0.01  # MFCC hop
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiarizationOptions:
    window_s: float = 1.5  # length of a voice-print window
    hop_s: float = 0.5  # step between windows
    min_turn_s: float = 0.4  # shorter speaker switches are smoothed away
    min_separation: float = 0.08  # silhouette under this: a single speaker
    min_share: float = 0.1  # a second group with fewer windows than this share is absorbed
    max_cluster_windows: int = 2000  # longer calls: cluster an even sample, give the rest the nearest centre
    max_speakers: int = 2  # a call: agent and customer
    voice_prints: str = "mfcc"  # "mfcc" or "ge2e" (neural, Resemblyzer's encoder; see the module notes)
    ge2e_window_s: float = 1.6  # ge2e: the encoder's training window
    one_voice_similarity: float | None = 0.70  # GE2E pieces this alike are one voice (None: assume two)
    one_voice_piece_s: float = 3.0  # longest piece of speech behind one GE2E print for that test
    max_one_voice_pieces: int = 400  # a long call: that many pieces, evenly spread, decide it


@dataclass(frozen=True)
class SpeakerTurn:
    start: float  # seconds
    end: float  # seconds
    speaker: str  # "S1", "S2" in order of first appearance


def mfcc_frames(samples: np.ndarray, block_s: float = 60.0) -> np.ndarray:
    """Mono float32 16 kHz ``[T]`` -> MFCCs ``[frames, 20]`` (25 ms windows, 10 ms hop), computed a
    minute at a time so that a 3-hour call needs megabytes, not gigabytes."""
    import torch
    from torchaudio.compliance.kaldi import mfcc

    hop, win = int(FRAME_S * SAMPLE_RATE), 400
    if len(samples) < win:
        return np.zeros((0, 20), dtype=np.float32)
    block = int(block_s * SAMPLE_RATE) // hop * hop
    out = []
    for start in range(0, len(samples) - win + 1, block):
        piece = np.ascontiguousarray(samples[start:start + block + win - hop], dtype=np.float32)
        if len(piece) < win:
            break
        wav = torch.from_numpy(piece).unsqueeze(0) * 32768.0
        out.append(mfcc(wav, num_ceps=20, num_mel_bins=40, sample_frequency=SAMPLE_RATE, dither=0.0,
                        energy_floor=1.0).numpy())
    return np.concatenate(out)


def _windows(segments: list[SpeechSegment], opt: DiarizationOptions) -> list[tuple[float, float]]:
    out = []
    for seg in segments:
        if seg.duration <= opt.window_s:
            out.append((seg.start, seg.end))
            continue
        t = seg.start
        while t + opt.window_s < seg.end:
            out.append((t, t + opt.window_s))
            t += opt.hop_s
        out.append((max(seg.start, seg.end - opt.window_s), seg.end))
    return out


def diarize(samples: np.ndarray, options: DiarizationOptions | None = None,
            segments: list[SpeechSegment] | None = None) -> list[SpeakerTurn]:
    opt = options or DiarizationOptions()
    if segments is None:
        segments = get_vad().segments(samples, VadOptions(min_silence_ms=150, speech_pad_ms=30, max_segment_s=600.0))
    if not segments:
        return []
    encoder = _neural_encoder() if opt.voice_prints == "ge2e" or opt.one_voice_similarity is not None else None
    if encoder is not None and opt.one_voice_similarity is not None and opt.max_speakers >= 2:
        pieces = _pieces(segments, opt.one_voice_piece_s)
        sample = np.linspace(0, len(pieces) - 1, min(len(pieces), opt.max_one_voice_pieces)).astype(int)
        if one_voice(encoder.embed_windows(samples, [pieces[i] for i in sample]), opt.one_voice_similarity):
            return _turns(segments, pieces, np.zeros(len(pieces), dtype=int), opt)
    if opt.voice_prints == "ge2e" and encoder is not None:
        wins = _windows(segments, replace(opt, window_s=opt.ge2e_window_s))
        labels = _cluster_cosine(encoder.embed_windows(samples, wins), opt)
        return _turns(segments, wins, labels, opt)
    feats = mfcc_frames(samples)
    feats = feats - feats.mean(0, keepdims=True)  # cepstral mean normalisation over the call
    wins = _windows(segments, opt)
    prints = []
    for a, b in wins:
        f = feats[int(a / FRAME_S):max(int(b / FRAME_S), int(a / FRAME_S) + 1)]
        prints.append(np.concatenate([f.mean(0), f.std(0)]) if len(f) else np.zeros(40))
    x = np.asarray(prints, dtype=np.float64)
    labels = _cluster(x, opt)
    return _turns(segments, wins, labels, opt)


def _neural_encoder():
    try:
        from core.voice_prints import default_encoder

        return default_encoder()
    except (FileNotFoundError, ImportError):
        log.warning("the neural speaker encoder is not installed: MFCC voice prints, two voices assumed",
                    exc_info=True)
        return None


def _pieces(segments: list[SpeechSegment], longest_s: float) -> list[tuple[float, float]]:
    """Speech segments cut into equal pieces of at most ``longest_s`` seconds."""
    out = []
    for seg in segments:
        k = max(1, int(np.ceil(seg.duration / longest_s)))
        step = seg.duration / k
        out += [(seg.start + i * step, seg.start + (i + 1) * step) for i in range(k)]
    return out


def one_voice_similarity(prints: np.ndarray) -> float:
    """How alike the two most different groups of L2-normalised prints ``[N, D]`` are: the mean
    cosine between the groups of an average-linkage split (1.0 for fewer than two prints)."""
    if len(prints) < 2:
        return 1.0
    sim = prints @ prints.T
    if len(prints) == 2:
        return float(sim[0, 1])
    from sklearn.cluster import AgglomerativeClustering

    groups = AgglomerativeClustering(2, metric="cosine", linkage="average").fit_predict(prints)
    return float(sim[np.ix_(groups == 0, groups == 1)].mean())


def one_voice(prints: np.ndarray, threshold: float) -> bool:
    return one_voice_similarity(prints) >= threshold


def _cluster_cosine(x: np.ndarray, opt: DiarizationOptions) -> np.ndarray:
    """Two groups of L2-normalised prints (spectral clustering on a nearest-neighbour graph:
    average-linkage clustering split off a few outlier windows instead)."""
    if len(x) < 4 or opt.max_speakers < 2:
        return np.zeros(len(x), dtype=int)
    from sklearn.cluster import SpectralClustering

    sample = np.linspace(0, len(x) - 1, min(len(x), opt.max_cluster_windows)).astype(int)
    sub = SpectralClustering(2, affinity="nearest_neighbors", n_neighbors=min(10, len(sample) - 1),
                             random_state=0).fit_predict(x[sample])
    if min(np.mean(sub == 0), np.mean(sub == 1)) < opt.min_share:
        return np.zeros(len(x), dtype=int)
    centres = np.stack([x[sample][sub == k].mean(0) for k in (0, 1)])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True) + 1e-9
    return np.argmax(x @ centres.T, axis=1)  # every window (sampled or not) to its nearest centroid


def _cluster(x: np.ndarray, opt: DiarizationOptions) -> np.ndarray:
    if len(x) < 4 or opt.max_speakers < 2:
        return np.zeros(len(x), dtype=int)
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    z = (x - x.mean(0)) / (x.std(0) + 1e-8)
    # Ward clustering needs memory quadratic in the windows (a 3-hour call has ~20,000)
    sample = np.linspace(0, len(z) - 1, min(len(z), opt.max_cluster_windows)).astype(int)
    sub = AgglomerativeClustering(n_clusters=2, linkage="ward").fit_predict(z[sample])
    share = min(np.mean(sub == 0), np.mean(sub == 1))
    if share < opt.min_share or silhouette_score(z[sample], sub) < opt.min_separation:
        return np.zeros(len(x), dtype=int)
    if len(sample) == len(z):
        return sub
    centres = np.stack([z[sample][sub == k].mean(0) for k in (0, 1)])
    return np.argmin(((z[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)


def _turns(segments: list[SpeechSegment], wins: list[tuple[float, float]], labels: np.ndarray,
           opt: DiarizationOptions) -> list[SpeakerTurn]:
    end = max(s.end for s in segments)
    n = int(end / FRAME_S) + 1
    votes = np.zeros((n, int(labels.max()) + 1))
    for (a, b), lab in zip(wins, labels):
        votes[int(a / FRAME_S):int(b / FRAME_S), lab] += 1
    speech = np.zeros(n, dtype=bool)
    for s in segments:
        speech[int(s.start / FRAME_S):int(s.end / FRAME_S)] = True
    frame_label = np.where(speech & (votes.sum(1) > 0), votes.argmax(1), -1)
    runs = _runs(frame_label)
    runs = _smooth(runs, int(opt.min_turn_s / FRAME_S))
    names: dict[int, str] = {}
    turns = []
    for lab, a, b in runs:
        if lab < 0:
            continue
        names.setdefault(lab, f"S{len(names) + 1}")
        turns.append(SpeakerTurn(round(a * FRAME_S, 2), round(b * FRAME_S, 2), names[lab]))
    return turns


def _runs(labels: np.ndarray) -> list[list[int]]:
    runs: list[list[int]] = []
    for i, lab in enumerate(labels.tolist()):
        if runs and runs[-1][0] == lab:
            runs[-1][2] = i + 1
        else:
            runs.append([lab, i, i + 1])
    return runs


def _smooth(runs: list[list[int]], min_frames: int) -> list[list[int]]:
    """Give speech runs shorter than ``min_frames`` to the speaker of a neighbouring run, then merge."""
    changed = True
    while changed:
        changed = False
        for i, (lab, a, b) in enumerate(runs):
            if lab < 0 or b - a >= min_frames:
                continue
            neighbours = [runs[j] for j in (i - 1, i + 1) if 0 <= j < len(runs) and runs[j][0] >= 0
                          and runs[j][0] != lab]
            if neighbours:
                runs[i][0] = max(neighbours, key=lambda r: r[2] - r[1])[0]
                changed = True
        merged: list[list[int]] = []
        for r in runs:
            if merged and merged[-1][0] == r[0] and merged[-1][2] == r[1]:
                merged[-1][2] = r[2]
            else:
                merged.append(list(r))
        runs = merged
    return runs


def diarization_error_rate(reference: list[SpeakerTurn], hypothesis: list[SpeakerTurn], *,
                           collar_s: float = 0.25) -> float:
    """Frame-level DER (missed + false alarm + confusion over reference speech) with the best
    one-to-one speaker mapping; ``collar_s`` around reference boundaries is not scored."""
    import itertools

    end = max([t.end for t in reference + hypothesis] + [0.0])
    n = int(end / FRAME_S) + 1
    ref_names = sorted({t.speaker for t in reference})
    hyp_names = sorted({t.speaker for t in hypothesis})
    ref = np.zeros((n, len(ref_names)), dtype=bool)
    hyp = np.zeros((n, max(1, len(hyp_names))), dtype=bool)
    for t in reference:
        ref[int(t.start / FRAME_S):int(t.end / FRAME_S), ref_names.index(t.speaker)] = True
    for t in hypothesis:
        hyp[int(t.start / FRAME_S):int(t.end / FRAME_S), hyp_names.index(t.speaker)] = True
    scored = np.ones(n, dtype=bool)
    c = int(collar_s / FRAME_S)
    for t in reference:
        for edge in (int(t.start / FRAME_S), int(t.end / FRAME_S)):
            scored[max(0, edge - c):edge + c] = False
    ref, hyp = ref[scored], hyp[scored]
    total = ref.sum()
    if total == 0:
        return 0.0
    best = None
    cols = list(range(hyp.shape[1]))
    for perm in itertools.permutations(cols, min(len(cols), len(ref_names))):
        mapped = np.zeros_like(ref)
        for r, h in enumerate(perm):
            mapped[:, r] = hyp[:, h]
        n_ref, n_hyp = ref.sum(1), hyp.sum(1)
        correct = (ref & mapped).sum(1)
        err = (np.maximum(n_ref, n_hyp) - correct).sum()
        best = err if best is None else min(best, err)
    return float(best / total)


def read_rttm(path) -> list[SpeakerTurn]:
    turns = []
    for line in open(path, encoding="utf-8"):
        p = line.split()
        if p and p[0] == "SPEAKER":
            start, dur = float(p[3]), float(p[4])
            turns.append(SpeakerTurn(start, start + dur, p[7]))
    return turns
