"""Fine-tuning Whisper on our users' speech: what a batch is, its loss and its evaluation, for
``core.training.fit``; and LoRA (peft) so that the adapted model ships as a few MB.

- windows sized to the audio, as the engine does (``core.asr.whisper_engine``): the log-mel of the
  longest clip in the batch plus ``context_pad_s`` of zero frames, not 30 s; batches come
  length-bucketed from ``core.data.BucketBatches``;
- speed perturbation (0.9 / 1.0 / 1.1, resampled) and SpecAugment (time and frequency masks) on
  the training side only;
- targets in the engine's style: speechocean762's "WE CALL IT BEAR" becomes "We call it bear."
  (so the adapted model keeps writing sentences, which the dictation's punctuation needs);
- evaluation: greedy transcripts with the engine's suppressions, corpus WER
  (``core.asr.metrics``), and the loss.

>>> task = WhisperTask(tokenizer, prompt)                           # doctest: +SKIP
>>> batch = WhisperCollate(tokenizer, prompt, augment=True)(rows)     # {"mel": [B, 80, W], ...}
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import numpy as np
import torch
from torch.nn import functional as F

from core.asr.log_mel import LogMel
from core.asr.whisper_hf import encode_any_length, greedy_decode

log = logging.getLogger(__name__)
FRAMES_PER_SECOND = 100
MAX_WINDOW = 3000  # Whisper's encoder takes at most 30 s
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")


@dataclass(frozen=True)
class AugmentOptions:
    speeds: tuple[float, ...] = (0.9, 1.0, 1.1)  # speed perturbation factors, one drawn per clip
    time_masks: int = 2  # SpecAugment time masks per clip
    time_mask_share: float = 0.05  # each at most this share of the clip's frames
    freq_masks: int = 2  # frequency masks per clip
    freq_mask_bins: int = 10  # each at most this many mel bins
    narrowband: float = 0.0  # share of clips passed through an 8 kHz telephone band (down and back up)


def narrowband(x: np.ndarray) -> np.ndarray:
    """The clip as a telephone line carries it: resampled to 8 kHz and back (nothing above 4 kHz)."""
    from scipy.signal import resample_poly

    return resample_poly(resample_poly(x, 1, 2), 2, 1).astype(np.float32)[:len(x)]


def target_text(text: str) -> str:
    """A corpus transcript in the engine's own style: all-capitals prompts become a sentence."""
    t = " ".join(text.split())
    if t and t.upper() == t:
        t = t.lower()
        t = t[0].upper() + t[1:]
        t = t.replace(" i ", " I ").replace(" i'", " I'")
        if t[-1] not in ".?!":
            t += "."
    return t


@lru_cache(maxsize=20000)
def _samples(path: str) -> np.ndarray:
    from core.audio import load_audio

    return load_audio(path).samples.astype(np.float16)  # cached in half precision: 2 bytes a sample


def speed_perturb(x: np.ndarray, speed: float) -> np.ndarray:
    """Faster (> 1) or slower (< 1) speech, pitch moving with it (resampling, Kaldi-style)."""
    if speed == 1.0:
        return x
    from fractions import Fraction

    from scipy.signal import resample_poly

    f = Fraction(speed).limit_denominator(20)
    return resample_poly(x, f.denominator, f.numerator).astype(np.float32)


def spec_augment(mel: torch.Tensor, frames: int, opt: AugmentOptions, rng: random.Random) -> torch.Tensor:
    """Time and frequency masks on the first ``frames`` frames of ``[n_mels, W]`` (set to the
    clip's mean: zero would read as the engine's padding)."""
    mel = mel.clone()
    fill = float(mel[:, :frames].mean())
    for _ in range(opt.time_masks):
        width = rng.randint(0, max(1, int(frames * opt.time_mask_share)))
        start = rng.randint(0, max(0, frames - width))
        mel[:, start:start + width] = fill
    for _ in range(opt.freq_masks):
        width = rng.randint(0, opt.freq_mask_bins)
        start = rng.randint(0, max(0, mel.shape[0] - width))
        mel[start:start + width, :frames] = fill
    return mel


class WhisperCollate:
    """Manifest rows (``path``, ``text``) -> ``{"mel": [B, n_mels, W], "decoder_input": [B, L],
    "labels": [B, L] (-100 where nothing is predicted), "texts": [...]}``."""

    def __init__(self, tokenizer, prompt: list[int], *, n_mels: int = 80, augment: bool = False,
                 options: AugmentOptions = AugmentOptions(), context_pad_s: float = 10.0, seed: int = 1234,
                 max_tokens: int = 200):
        self.tokenizer, self.prompt, self.augment, self.options = tokenizer, list(prompt), augment, options
        self.mel = LogMel(n_mels)
        self.pad = int(context_pad_s * FRAMES_PER_SECOND)
        self.rng = random.Random(seed)
        self.eot = tokenizer.get_vocab()["<|endoftext|>"]
        self.max_tokens = max_tokens

    def __call__(self, rows: list[dict]) -> dict:
        mels, tokens = [], []
        for r in rows:
            x = _samples(str(r["path"])).astype(np.float32)
            if self.augment:
                x = speed_perturb(x, self.rng.choice(self.options.speeds))
                if self.rng.random() < self.options.narrowband:
                    x = narrowband(x)
            m = torch.from_numpy(self.mel(x)[:, :MAX_WINDOW - self.pad])
            if self.augment:
                m = spec_augment(m, m.shape[1], self.options, self.rng)
            mels.append(m)
            text = self.tokenizer.encode(" " + target_text(r["text"]), add_special_tokens=False)
            tokens.append((self.prompt + text)[:self.max_tokens - 1] + [self.eot])
        width = min(MAX_WINDOW, max(m.shape[1] for m in mels) + self.pad)
        width += width % 2
        batch = torch.zeros(len(rows), mels[0].shape[0], width)  # zero frames after the speech, as the engine pads
        for i, m in enumerate(mels):
            batch[i, :, :m.shape[1]] = m
        length = max(len(t) for t in tokens) - 1
        dec = torch.full((len(rows), length), self.eot, dtype=torch.long)
        labels = torch.full((len(rows), length), -100, dtype=torch.long)
        for i, t in enumerate(tokens):
            dec[i, :len(t) - 1] = torch.tensor(t[:-1])
            labels[i, len(self.prompt) - 1:len(t) - 1] = torch.tensor(t[len(self.prompt):])
        return {"mel": batch, "decoder_input": dec, "labels": labels, "texts": [r["text"] for r in rows]}


def _whisper(model):
    """The WhisperForConditionalGeneration inside a DDP or peft wrapper (LoRA layers stay in place)."""
    model = getattr(model, "module", model)
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _logits(w, batch: dict) -> torch.Tensor:
    enc = encode_any_length(w, batch["mel"])
    out = w.get_decoder()(input_ids=batch["decoder_input"], encoder_hidden_states=enc)
    return w.proj_out(out.last_hidden_state).float()


class WhisperTask:
    """``core.training.Task`` for Whisper: token cross-entropy; evaluation = greedy WER + loss.

    ``distill`` > 0 adds ``distill`` x KL(original || adapted) over the predicted tokens: the model as
    shipped (``teacher``, or for a LoRA model the same model with its adapters switched off) holds
    the adapted one near what it would have said, so that it learns the new speakers without
    forgetting the rest (learning without forgetting). Evaluation reports the cross-entropy alone.
    """

    def __init__(self, tokenizer, *, digits: str = "sequence", max_eval_tokens: int = 120,
                 distill: float = 0.0, teacher=None):
        self.tokenizer, self.digits, self.max_eval_tokens = tokenizer, digits, max_eval_tokens
        self.distill, self.teacher = float(distill), teacher

    def _cross_entropy(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)

    def _teacher_logits(self, model, batch: dict) -> torch.Tensor:
        with torch.no_grad():
            if self.teacher is not None:
                return _logits(_whisper(self.teacher.to(batch["mel"].device)), batch)
            peft_model = getattr(model, "module", model)
            if not hasattr(peft_model, "disable_adapter"):
                raise ValueError("distillation needs a teacher model, or a LoRA model whose adapters can be switched off")
            with peft_model.disable_adapter():
                return _logits(_whisper(model), batch)

    def loss(self, model, batch: dict) -> torch.Tensor:
        logits = _logits(_whisper(model), batch)
        ce = self._cross_entropy(logits, batch["labels"])
        if self.distill <= 0 or not model.training:
            return ce
        keep = batch["labels"] != -100
        teacher = F.log_softmax(self._teacher_logits(model, batch)[keep], dim=-1)
        student = F.log_softmax(logits[keep], dim=-1)
        kl = F.kl_div(student, teacher, log_target=True, reduction="batchmean")
        return ce + self.distill * kl

    def evaluate(self, model, loader: Iterable) -> dict[str, float]:
        from core.asr.metrics import word_error_rate

        w = _whisper(model)
        refs, hyps, losses = [], [], []
        for batch in loader:
            losses.append(float(self.loss(model, batch)))
            ids = greedy_decode(w, batch["mel"], max_tokens=self.max_eval_tokens)
            hyps += [self.tokenizer.decode(i) for i in ids]
            refs += batch["texts"]
        return {"wer": word_error_rate(refs, hyps, digits=self.digits), "loss": float(np.mean(losses)),
                "utterances": float(len(refs))}


def add_lora(model, *, r: int = 8, alpha: int = 16, dropout: float = 0.05, targets: tuple[str, ...] = LORA_TARGETS,
             parts: tuple[str, ...] = ("encoder", "decoder")):
    """Wrap ``model`` with LoRA adapters on the attention and feed-forward projections (``targets``)
    of the parts named; only the adapters train. Parts: "encoder" (how the model hears), "decoder"
    (all of it: also the language model that writes the words), "cross" (only the decoder's
    attention over the encoder: where it listens, not what it writes).

    ``parts=("encoder", "cross")`` leaves the decoder's language model as shipped: trained on read
    prompts, an adapted decoder drops what prompts never hold (fillers such as "Oh") from conversation.
    """
    from peft import LoraConfig, get_peft_model

    unknown = set(parts) - {"encoder", "decoder", "cross"}
    if unknown or not parts:
        raise ValueError(f"LoRA parts are 'encoder', 'decoder' or 'cross', not {sorted(unknown) or 'none'}")
    # regular expressions over module names (peft matches them whole), e.g. model.encoder.layers.0.fc1
    layer = r"model\.{}\.layers\.\d+\.{}"
    projections = f"({'|'.join(targets)})"
    where = {"encoder": layer.format("encoder", ".*" + projections),
             "decoder": layer.format("decoder", ".*" + projections),
             "cross": layer.format("decoder", r"encoder_attn\." + projections)}
    pattern = "|".join(f"({where[p]})" for p in sorted(set(parts)))
    return get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                                            target_modules=pattern, bias="none"))


def merge_lora(model):
    """The plain Whisper model with the adapters folded into its weights."""
    return model.merge_and_unload()
