"""espeak-ng through ctypes, from the ``espeakng-loader`` wheel (library and voice data inside it,
no system package): a reference voice for prompts, and IPA phonemes for words no dictionary has.

espeak-ng is GPL-3; it is called as a separate shared library, its code is not copied here.
The library is not thread-safe, so every call holds one lock.

>>> audio = synthesize("Think about it.")      # doctest: +SKIP  float32 [T] at 16 kHz
>>> phonemize("blorft")                         # doctest: +SKIP  'b_l_ˈɔːɹ_f_t'
"""
from __future__ import annotations

import ctypes
import math
import threading
from functools import lru_cache

import numpy as np
from scipy.signal import resample_poly

from core.audio import SAMPLE_RATE

VOICE = b"en-us"  # the reference accent; the corpus and CMUdict are American English
RATE_WPM = 150  # a teacher's careful reading speed
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_PHONEME_IPA = 0x02
_SEPARATOR = ord("_") << 8
_CHARS_UTF8 = 1
_SSML = 0x10
_lock = threading.Lock()
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakError(RuntimeError):
    """espeak-ng could not be loaded or refused the text."""


@lru_cache(maxsize=1)
def _library() -> tuple[ctypes.CDLL, int]:
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EspeakError("The reference voice needs the 'espeakng-loader' package.") from exc
    lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
    if rate <= 0:
        raise EspeakError("espeak-ng did not start (its voice data was not found).")
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
    if lib.espeak_SetVoiceByName(VOICE) != 0:
        raise EspeakError(f"espeak-ng has no voice {VOICE.decode()}.")
    return lib, rate


def phonemize(text: str) -> str:
    """IPA phonemes of ``text``, phones separated by ``_`` and words by spaces."""
    lib, _ = _library()
    out: list[str] = []
    with _lock:
        lib.espeak_SetVoiceByName(VOICE)
        buf = ctypes.c_char_p(text.encode("utf-8"))
        ptr = ctypes.pointer(buf)
        while buf.value:
            chunk = lib.espeak_TextToPhonemes(ptr, _CHARS_UTF8, _PHONEME_IPA | _SEPARATOR)
            if chunk is None:
                break
            out.append(chunk.decode("utf-8", "replace"))
    return " ".join(p.strip() for p in out if p.strip())


def synthesize(text: str, *, rate_wpm: int = RATE_WPM, voice: str = VOICE.decode()) -> np.ndarray:
    """``text`` read aloud by espeak-ng: float32 mono samples at ``SAMPLE_RATE`` (synthetic voice)."""
    lib, rate = _library()
    pieces: list[np.ndarray] = []

    def collect(wav, n, _events):
        if n > 0 and wav:
            pieces.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    callback = _SYNTH_CALLBACK(collect)
    data = text.encode("utf-8")
    with _lock:
        lib.espeak_SetSynthCallback(callback)
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise EspeakError(f"espeak-ng has no voice {voice}.")
        lib.espeak_SetParameter(1, int(rate_wpm), 0)  # espeakRATE
        status = lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        lib.espeak_SetVoiceByName(VOICE)
    if status != 0:
        raise EspeakError("espeak-ng could not read this text aloud.")
    samples = (np.concatenate(pieces) if pieces else np.zeros(0, np.int16)).astype(np.float32) / 32768.0
    g = math.gcd(SAMPLE_RATE, rate)
    return resample_poly(samples, SAMPLE_RATE // g, rate // g).astype(np.float32)
