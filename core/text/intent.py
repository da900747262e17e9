"""Intent classifier for bank customer utterances: 77 Banking77 intents + out-of-scope.

>>> clf = get_intent_classifier()                              # doctest: +SKIP
>>> clf.predict(["I lost my card"])[0].intent, ...out_of_scope  # ('lost_or_stolen_card', False)

Probabilities are temperature-calibrated on held-out data; ``out_of_scope`` is True when the
out-of-scope class is the most likely, or the best in-scope probability is under the threshold
chosen on validation (CLINC150 out-of-scope examples); see ``core.text.calibration.oos_flags``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from core.text.artifact import encoder_config, read_artifact, restore, set_threads
from core.text.classifier import SentenceClassifier

DEFAULT_ARTIFACT = "intent/banking77-minilm-lora.pt"


@dataclass(frozen=True)
class IntentScore:
    intent: str  # Banking77 intent name, e.g. "card_arrival"
    probability: float  # calibrated probability in [0, 1]


@dataclass(frozen=True)
class IntentResult:
    text: str  # the utterance as given
    intent: str  # best in-scope intent, or "out_of_scope" when flagged
    probability: float  # calibrated probability of ``intent`` (of the best in-scope intent when flagged)
    out_of_scope: bool  # nothing the bank's intents cover (or too unsure to say)
    top: tuple[IntentScore, ...]  # the k best in-scope intents, most likely first


class IntentClassifier:
    def __init__(self, artifact_path: str | Path, *, precision: str = "int8", top_k: int = 3):
        art = read_artifact(artifact_path)
        cfg = art["config"]
        self.labels: list[str] = cfg["labels"]
        self.oos_index = self.labels.index(cfg["oos_label"])
        self.temperature = float(art["calibration"]["temperature"])
        self.threshold = float(art["calibration"]["oos_threshold"])
        self.top_k = top_k
        model = SentenceClassifier(encoder_config(art, lora_dropout=0.0), num_labels=len(self.labels))
        self.tokenizer = model.encoder.tokenizer
        self.max_length = model.encoder.config.max_length
        self.model = restore(model, art, precision=precision)
        self.metrics = art.get("metrics", {})

    @torch.inference_mode()
    def probabilities(self, texts: list[str]) -> torch.Tensor:
        """Calibrated probabilities ``[N, 78]`` (77 intents + out-of-scope)."""
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return (self.model(enc["input_ids"], enc["attention_mask"]) / self.temperature).softmax(-1)

    def predict(self, texts: list[str], *, batch_size: int = 64) -> list[IntentResult]:
        out: list[IntentResult] = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            cleaned = [t.strip() or "." for t in chunk]
            probs = self.probabilities(cleaned)
            for text, p in zip(chunk, probs):
                out.append(self._result(text, p))
        return out

    def _result(self, text: str, p: torch.Tensor) -> IntentResult:
        inside = p.clone()
        inside[self.oos_index] = -1.0
        values, idx = inside.topk(self.top_k)
        top = tuple(IntentScore(self.labels[i], round(float(v), 4)) for v, i in zip(values.tolist(), idx.tolist()))
        flagged = not text.strip() or float(p[self.oos_index]) > top[0].probability or top[0].probability < self.threshold
        return IntentResult(text=text, intent=self.labels[self.oos_index] if flagged else top[0].intent,
                            probability=float(p[self.oos_index]) if flagged else top[0].probability,
                            out_of_scope=flagged, top=top)


@lru_cache(maxsize=2)
def get_intent_classifier(path: str | None = None) -> IntentClassifier:
    """The process-wide classifier (loads once, ~2 s)."""
    from core.model_resolver import project_artifact

    set_threads()
    return IntentClassifier(path or project_artifact(DEFAULT_ARTIFACT))


@lru_cache(maxsize=2)
def intent_labels(path: str | None = None) -> tuple[str, ...]:
    """The in-scope intent names the artifact knows, read from its config without building the
    model (milliseconds; what validating a routing table needs)."""
    from core.model_resolver import project_artifact

    cfg = read_artifact(path or project_artifact(DEFAULT_ARTIFACT))["config"]
    return tuple(label for label in cfg["labels"] if label != cfg["oos_label"])
