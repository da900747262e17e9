"""Load, validate, resample and normalise any audio a person uploads.

Everything downstream sees one thing: mono float32 samples at ``SAMPLE_RATE`` in [-1, 1].
Bad input raises a typed ``AudioError`` whose ``message`` is written for the person, not for a
developer; recoverable oddities (clipping) become ``Audio.warnings``.

>>> audio = load_audio("clip.flac")            # doctest: +SKIP
>>> audio.samples.shape, audio.sample_rate     # ([T], 16000)
"""
from __future__ import annotations

import io
import math
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SAMPLE_RATE = 16_000  # every model in core/ works at 16 kHz mono
MIN_SOURCE_RATE = 8_000  # telephone audio; below this speech is not intelligible enough
MAX_SOURCE_RATE = 192_000
MAX_CHANNELS = 8
DEFAULT_MIN_SECONDS = 0.1
DEFAULT_MAX_SECONDS = 3 * 3600.0
SILENCE_PEAK = 10 ** (-60 / 20)  # peak below -60 dBFS: nothing audible was recorded
CLIP_LEVEL = 0.999  # |x| at or above this counts as a clipped sample
CLIP_WARN_FRACTION = 0.001  # warn when more than 0.1 % of samples are clipped
DECODE_BLOCK_FRAMES = 1 << 20  # decode long files in blocks so stereo 48 kHz never sits in memory
WAV_HEADER_BYTES = 1 << 16  # read to sniff the format and find a WAV file's "data" chunk

AudioSource = Union[str, Path, bytes, tuple, np.ndarray]

# first bytes of containers we recognise, to tell "corrupt audio" from "not audio at all"
_MAGIC = (
    (b"RIFF", "wav"), (b"RIFX", "wav"), (b"fLaC", "flac"), (b"OggS", "ogg"), (b"ID3", "mp3"),
    (b"\xff\xfb", "mp3"), (b"\xff\xf3", "mp3"), (b"\xff\xf2", "mp3"), (b"FORM", "aiff"),
    (b"\x1a\x45\xdf\xa3", "webm"), (b"caff", "caf"),
)
_FFMPEG_ONLY = {"mp4", "webm"}  # containers libsndfile cannot read; decoded with ffmpeg if present


class AudioError(ValueError):
    """Base class: the audio cannot be used. ``message`` is plain language for the person."""

    code = "audio_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AudioFileNotFoundError(AudioError):
    code = "not_found"


class EmptyAudioError(AudioError):
    code = "empty"


class NotAudioError(AudioError):
    code = "not_audio"


class CorruptAudioError(AudioError):
    code = "corrupt"


class UnsupportedFormatError(AudioError):
    code = "unsupported_format"


class TooShortError(AudioError):
    code = "too_short"


class TooLongError(AudioError):
    code = "too_long"


class SilentAudioError(AudioError):
    code = "silent"


class InvalidSamplesError(AudioError):
    code = "invalid_samples"


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # [T] float32, mono, SAMPLE_RATE
    source_sample_rate: int  # rate of the file as uploaded
    source_channels: int  # channels of the file as uploaded
    source_format: str  # "wav", "flac", "ogg", "mp3", "numpy", ...
    warnings: tuple[str, ...] = field(default=())  # plain-language notes (e.g. clipping)
    sample_rate: int = SAMPLE_RATE  # always SAMPLE_RATE

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


def sniff_format(head: bytes) -> str | None:
    """Container name from the first bytes, or None when they look like no audio we know."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    return None


def load_audio(
    source: AudioSource,
    *,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    allow_silent: bool = False,
) -> Audio:
    """Decode ``source`` and return validated mono 16 kHz audio.

    source: a path, raw file bytes, Gradio's ``(sample_rate, ndarray)`` tuple, or an ndarray that
    is already 16 kHz. Channels are averaged; ``load_channels`` keeps them apart (stereo calls).
    """
    data, rate, fmt = _decode(source, max_seconds=max_seconds)
    n_channels = data.shape[0]
    mono = _channel_mean(data) if n_channels > 1 else data[0]
    del data
    return _finish(mono, rate, n_channels, fmt, min_seconds, max_seconds, allow_silent)


def load_channels(
    source: AudioSource,
    *,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> list[Audio]:
    """Each channel as its own validated Audio (silent channels allowed), e.g. agent/customer."""
    data, rate, fmt = _decode(source, max_seconds=max_seconds)
    return [_finish(data[c], rate, data.shape[0], fmt, min_seconds, max_seconds, True) for c in range(data.shape[0])]


def _channel_mean(data: np.ndarray) -> np.ndarray:
    """[C, T] -> [T] average, a block at a time (no float64 copy of the whole recording)."""
    out = np.empty(data.shape[1], np.float32)
    for a in range(0, data.shape[1], DECODE_BLOCK_FRAMES):
        out[a:a + DECODE_BLOCK_FRAMES] = data[:, a:a + DECODE_BLOCK_FRAMES].mean(axis=0, dtype=np.float64)
    return out


def _finish(
    mono: np.ndarray, rate: int, n_channels: int, fmt: str,
    min_seconds: float, max_seconds: float, allow_silent: bool,
) -> Audio:
    if mono.size == 0:
        raise EmptyAudioError("The recording is empty: it contains no sound at all.")
    blocks = [mono[a:a + DECODE_BLOCK_FRAMES] for a in range(0, mono.size, DECODE_BLOCK_FRAMES)]
    if not all(np.isfinite(b).all() for b in blocks):  # block by block: no temporaries as long as the recording
        raise InvalidSamplesError(
            "The recording contains invalid samples (NaN or infinity); it may be damaged. "
            "Please export it again or record a new one."
        )
    duration = mono.size / rate
    if duration < min_seconds:
        raise TooShortError(
            f"The recording is too short ({duration:.2f} s); at least {min_seconds:g} s is needed."
        )
    if duration > max_seconds:
        raise TooLongError(_too_long_message(duration, max_seconds))
    warnings: list[str] = []
    peak = max(float(np.abs(b).max()) for b in blocks)
    if peak > 1.0:  # float files may exceed full scale; bring them back without changing shape
        mono = mono / peak
        warnings.append("The recording was louder than full scale and has been scaled down.")
        peak = 1.0
        blocks = [mono[a:a + DECODE_BLOCK_FRAMES] for a in range(0, mono.size, DECODE_BLOCK_FRAMES)]
    clipped = (sum(int(np.count_nonzero(np.abs(b) >= CLIP_LEVEL)) for b in blocks) / mono.size
               if peak >= CLIP_LEVEL else 0.0)
    if clipped > CLIP_WARN_FRACTION:
        warnings.append(
            f"The recording is clipped ({clipped:.1%} of samples at full scale): it was recorded "
            "too loud, which can cause recognition errors. Move the microphone further away."
        )
    if peak < SILENCE_PEAK and not allow_silent:
        raise SilentAudioError(
            "The recording is silent: no sound above -60 dBFS. Check that the microphone is on."
        )
    samples = resample(mono, rate, SAMPLE_RATE)
    return Audio(
        samples=samples, source_sample_rate=rate, source_channels=n_channels,
        source_format=fmt, warnings=tuple(warnings),
    )


def _too_long_message(duration: float, max_seconds: float) -> str:
    return (
        f"The recording is too long ({_hms(duration)}); the limit is {_hms(max_seconds)}. "
        "Please split it into shorter parts."
    )


def _hms(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """[T] float32 at ``rate`` -> [T'] float32 at ``target`` (polyphase, anti-aliased). Works on the
    samples as they are (no float32 copy of a float32 recording) and clips in place."""
    if rate == target:
        return np.ascontiguousarray(samples, dtype=np.float32)
    g = math.gcd(rate, target)
    out = resample_poly(samples.astype(np.float32, copy=False), target // g, rate // g)
    if out.dtype != np.float32:
        out = out.astype(np.float32)
    return np.clip(out, -1.0, 1.0, out=out)


def _decode(source: AudioSource, *, max_seconds: float) -> tuple[np.ndarray, int, str]:
    """-> (samples [C, T] float32, one contiguous row per channel, sample rate, format name). A file is decoded from disk in
    blocks into one preallocated array: neither its bytes nor a second copy of its samples are
    ever held (a 2-hour upload used to cost the whole file in memory on top of its samples)."""
    if isinstance(source, tuple):
        return _from_array_tuple(source)
    if isinstance(source, np.ndarray):
        return _from_array_tuple((SAMPLE_RATE, source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        name, size, head, opened = "upload", len(raw), raw[:WAV_HEADER_BYTES], io.BytesIO(raw)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise AudioFileNotFoundError(f"The file '{path.name}' could not be found.")
        if path.is_dir():
            raise NotAudioError(f"'{path.name}' is a folder, not an audio file.")
        name, size = path.name, path.stat().st_size
        with path.open("rb") as f:
            head = f.read(WAV_HEADER_BYTES)
        opened = path
    else:
        raise NotAudioError(f"Cannot read audio from a {type(source).__name__}.")
    if size == 0:
        raise EmptyAudioError(f"The file '{name}' is empty (0 bytes).")
    fmt = sniff_format(head[:16])
    if fmt in _FFMPEG_ONLY:
        data = opened.getvalue() if isinstance(opened, io.BytesIO) else Path(opened).read_bytes()
        return _decode_with_ffmpeg(data, name, fmt, max_seconds)
    try:
        return _decode_with_soundfile(opened, name, max_seconds, head=head, size=size)
    except (sf.LibsndfileError, RuntimeError, EOFError) as exc:
        if fmt is None:
            raise NotAudioError(
                f"'{name}' is not an audio file we can read. Supported: WAV, FLAC, OGG/Opus, MP3."
            ) from exc
        raise CorruptAudioError(
            f"'{name}' looks like {fmt.upper()} audio but could not be decoded: the file is "
            "damaged or incomplete. Please export or record it again."
        ) from exc


def _decode_with_soundfile(source: Path | io.BytesIO, name: str, max_seconds: float, *, head: bytes,
                           size: int) -> tuple[np.ndarray, int, str]:
    with sf.SoundFile(source) as f:
        rate, channels, fmt = int(f.samplerate), int(f.channels), f.format.lower()
        _check_stream(rate, channels, name)
        if f.frames > 0 and f.frames / rate > max_seconds:  # refuse before decoding hours of audio
            raise TooLongError(_too_long_message(f.frames / rate, max_seconds))
        if f.frames > 0:  # the length is known: decode straight into one [C, T] array, block by block
            data = np.empty((channels, f.frames), np.float32)
            pos = 0
            while pos < f.frames:
                block = f.read(min(DECODE_BLOCK_FRAMES, f.frames - pos), dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                data[:, pos:pos + block.shape[0]] = block.T
                pos += block.shape[0]
            data = data[:, :pos]
        else:  # a stream of unknown length (some OGG/MP3): gather blocks, checking the limit as it grows
            blocks, total = [], 0
            while True:
                block = f.read(DECODE_BLOCK_FRAMES, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                blocks.append(block)
                total += block.shape[0]
                if total / rate > max_seconds:
                    raise TooLongError(_too_long_message(total / rate, max_seconds))
            data = np.concatenate(blocks).T.copy() if blocks else np.zeros((channels, 0), np.float32)
    if fmt == "wav" and _wav_declares_more(head, size):
        raise CorruptAudioError(
            f"'{name}' is truncated: the file ends before the audio it declares. "
            "The upload or recording may have been cut off; please try again."
        )
    return data, rate, {"vorbis": "ogg"}.get(fmt, fmt)


def _wav_declares_more(head: bytes, size: int) -> bool:
    """True when a RIFF/WAVE header (in the file's first bytes) promises noticeably more data than
    the file's ``size`` holds."""
    pos = head.find(b"data", 12)
    if pos < 0 or pos + 8 > len(head):
        return False
    declared = int.from_bytes(head[pos + 4 : pos + 8], "little")
    if declared in (0, 0xFFFFFFFF):  # streaming writers leave these; not a truncation sign
        return False
    available = size - (pos + 8)
    return available + 1 < declared


def is_silent(samples: np.ndarray) -> bool:
    """Nothing above -60 dBFS: no need to look for speech in it."""
    return samples.size == 0 or float(np.abs(samples).max()) < SILENCE_PEAK


def _check_stream(rate: int, channels: int, name: str) -> None:
    if rate < MIN_SOURCE_RATE:
        raise UnsupportedFormatError(
            f"'{name}' is sampled at {rate} Hz; at least {MIN_SOURCE_RATE} Hz is needed for speech."
        )
    if rate > MAX_SOURCE_RATE:
        raise UnsupportedFormatError(f"'{name}' has an unsupported sample rate of {rate} Hz.")
    if channels > MAX_CHANNELS:
        raise UnsupportedFormatError(f"'{name}' has {channels} channels; at most {MAX_CHANNELS} are supported.")


def _decode_with_ffmpeg(raw: bytes, name: str, fmt: str, max_seconds: float) -> tuple[np.ndarray, int, str]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise UnsupportedFormatError(
            f"'{name}' is {fmt.upper()} audio, which needs ffmpeg (not installed). "
            "Please upload WAV, FLAC, OGG/Opus or MP3."
        )
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-i", "pipe:0", "-t", str(max_seconds + 1),
           "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"]
    proc = subprocess.run(cmd, input=raw, capture_output=True, timeout=600)
    if proc.returncode != 0 or not proc.stdout:
        raise CorruptAudioError(f"'{name}' looks like {fmt.upper()} audio but could not be decoded.")
    data = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)
    return data[None, :], SAMPLE_RATE, fmt


def _from_array_tuple(value: tuple) -> tuple[np.ndarray, int, str]:
    """Gradio's (sample_rate, samples) with samples [T] or [T, C] of int or float dtype."""
    if len(value) != 2:
        raise NotAudioError("Expected audio as (sample_rate, samples).")
    rate, data = value
    if isinstance(rate, np.ndarray) and not isinstance(data, np.ndarray):
        rate, data = data, rate  # tolerate (samples, rate)
    try:
        rate = int(rate)
    except (TypeError, ValueError) as exc:
        raise NotAudioError("The audio's sample rate is not a number.") from exc
    data = np.asarray(data)
    if data.dtype.kind not in "iuf" or data.ndim not in (1, 2):
        raise NotAudioError("The audio data is not a 1-D or 2-D array of numbers.")
    if data.ndim == 2 and data.shape[0] <= MAX_CHANNELS < data.shape[1]:
        data = data.T  # [C, T] -> [T, C]
    if data.ndim == 1:
        data = data[:, None]
    _check_stream(rate, data.shape[1], "the recording")
    return np.ascontiguousarray(_to_float(data).T), rate, "numpy"


def _to_float(data: np.ndarray) -> np.ndarray:
    """Integer PCM of any width (8-bit unsigned, 16/24/32-bit signed) or float -> float32 [-1, 1]."""
    if data.dtype.kind == "f":
        return data.astype(np.float32, copy=False)
    if data.dtype.kind == "u":
        half = 2 ** (8 * data.dtype.itemsize - 1)
        return ((data.astype(np.float64) - half) / half).astype(np.float32)
    full = 2 ** (8 * data.dtype.itemsize - 1)
    return (data.astype(np.float64) / full).astype(np.float32)
