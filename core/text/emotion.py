"""Text emotion per utterance: GoEmotions Ekman labels (anger, disgust, fear, joy, neutral, sadness,
surprise), multi-label sigmoid scores with per-label thresholds tuned on the dev split.

>>> get_text_emotion().predict(["this is ridiculous, I want my money back"])[0].labels  # doctest: +SKIP
('anger',)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from core.text.artifact import encoder_config, read_artifact, restore, set_threads
from core.text.classifier import SentenceClassifier

DEFAULT_ARTIFACT = "text_emotion/goemotions-ekman-minilm-lora.pt"
EKMAN = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")


@dataclass(frozen=True)
class TextEmotion:
    text: str
    scores: dict[str, float]  # label -> independent probability (sigmoid), not summing to 1
    labels: tuple[str, ...]  # labels over their tuned thresholds ("neutral" when none is)


class TextEmotionClassifier:
    def __init__(self, artifact_path: str | Path, *, precision: str = "int8"):
        art = read_artifact(artifact_path)
        self.labels: list[str] = art["config"]["labels"]
        self.thresholds = torch.tensor(art["calibration"]["thresholds"])
        model = SentenceClassifier(encoder_config(art, lora_dropout=0.0), num_labels=len(self.labels))
        self.tokenizer = model.encoder.tokenizer
        self.max_length = model.encoder.config.max_length
        self.model = restore(model, art, precision=precision)

    @torch.inference_mode()
    def predict(self, texts: list[str], *, batch_size: int = 64) -> list[TextEmotion]:
        out: list[TextEmotion] = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            enc = self.tokenizer([t.strip() or "." for t in chunk], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
            probs = self.model(enc["input_ids"], enc["attention_mask"]).sigmoid()
            for text, p in zip(chunk, probs):
                on = tuple(self.labels[i] for i in range(len(self.labels)) if p[i] >= self.thresholds[i])
                if not text.strip():
                    on = ("neutral",)
                out.append(TextEmotion(text=text, scores={lab: round(float(v), 4) for lab, v in zip(self.labels, p)},
                                       labels=on or ("neutral",)))
        return out


@lru_cache(maxsize=2)
def get_text_emotion(path: str | None = None) -> TextEmotionClassifier:
    from core.model_resolver import project_artifact

    set_threads()
    return TextEmotionClassifier(path or project_artifact(DEFAULT_ARTIFACT))
