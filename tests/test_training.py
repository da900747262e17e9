"""core.training: the one loop overfits a tiny problem, keeps the best, resumes, accumulates."""
from __future__ import annotations

import pytest

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from core.training import TrainConfig, fit, load_hparams, save_hparams


class Classify:
    def loss(self, model, batch):
        x, y = batch
        return nn.functional.cross_entropy(model(x), y)

    def evaluate(self, model, loader):
        correct = total = 0
        loss = 0.0
        for x, y in loader:
            logits = model(x)
            loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(-1) == y).sum())
            total += len(y)
        return {"loss": loss / total, "accuracy": correct / total}


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=False)


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))


def test_tiny_overfit_loss_falls_and_best_is_kept(tmp_path):
    loader = data()
    cfg = TrainConfig(run_dir=str(tmp_path), epochs=30, lr=1e-2, warmup_ratio=0.0, metric="accuracy",
                      higher_is_better=True, log_every=0)
    m = model()
    before = Classify().evaluate(m, loader)["loss"]
    result = fit(m, Classify(), loader, loader, cfg)
    assert result.history[-1]["loss"] < before * 0.3
    assert result.best_metric >= 0.95 and result.best_path.exists() and result.last_path.exists()
    ckpt = torch.load(result.best_path, weights_only=False)
    assert set(ckpt) >= {"config", "state_dict", "metrics"} and ckpt["config"]["lr"] == 1e-2
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") == 30


class CrashAfter(Classify):
    def __init__(self, batches: int):
        self.left = batches

    def loss(self, model, batch):
        self.left -= 1
        if self.left < 0:
            raise KeyboardInterrupt("power cut")
        return super().loss(model, batch)


def test_resume_continues_where_it_stopped(tmp_path):
    loader = data()
    base = dict(epochs=4, lr=5e-3, eval_every=4, log_every=0)
    straight = fit(model(), Classify(), loader, loader, TrainConfig(run_dir=str(tmp_path / "a"), **base))
    with pytest.raises(KeyboardInterrupt, match="power cut"):  # the crash does happen, mid-run
        fit(model(), CrashAfter(14), loader, loader, TrainConfig(run_dir=str(tmp_path / "b"), **base))
    assert (tmp_path / "b" / "last.pt").exists()  # what resume starts from
    # a new process builds a fresh model; the loop restores weights, optimiser and schedule (step 12)
    resumed = fit(model(), Classify(), loader, loader, TrainConfig(run_dir=str(tmp_path / "b"), **base))
    assert resumed.steps == straight.steps == 32
    assert abs(resumed.history[-1]["loss"] - straight.history[-1]["loss"]) < 1e-5


class NanOnce(Classify):
    """The third batch's loss is NaN (a corrupt clip, a blow-up)."""

    def __init__(self):
        self.calls = 0

    def loss(self, model, batch):
        self.calls += 1
        return super().loss(model, batch) * (float("nan") if self.calls == 3 else 1.0)


def test_a_nan_loss_skips_its_batch_says_so_and_training_goes_on(tmp_path, capsys):
    m = model()
    result = fit(m, NanOnce(), data(), data(), TrainConfig(run_dir=str(tmp_path), epochs=2, log_every=0))
    assert result.steps == 15  # 16 batches, one skipped
    assert all(torch.isfinite(p).all() for p in m.parameters())
    assert "the loss is nan; batch skipped" in capsys.readouterr().out
    assert result.history[-1]["accuracy"] > 0.5


def test_gradient_accumulation_counts_optimizer_steps(tmp_path):
    result = fit(model(), Classify(), data(), data(), TrainConfig(run_dir=str(tmp_path), epochs=2, grad_accum=4,
                                                                   log_every=0))
    assert result.steps == 4  # 8 batches per epoch / 4 per step * 2 epochs


def test_patience_stops_early(tmp_path):
    result = fit(model(), Classify(), data(), data(), TrainConfig(run_dir=str(tmp_path), epochs=50, lr=0.0,
                                                                   patience=2, log_every=0))
    assert len(result.history) == 3


def test_hparams_overrides_and_required_values(tmp_path):
    path = tmp_path / "h.yaml"
    path.write_text("seed: 1\ndata:\n  train: ???\nmodel:\n  lr: 0.001\n")
    try:
        load_hparams(path)
        raise AssertionError("missing value not detected")
    except ValueError as exc:
        assert "data.train" in str(exc)
    h = load_hparams(path, ["data.train=/x.jsonl", "model.lr=0.01"])
    assert h["data"]["train"] == "/x.jsonl" and h["model"]["lr"] == 0.01
    assert "lr: 0.01" in save_hparams(h, tmp_path / "run").read_text()
