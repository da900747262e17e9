"""The bundled CTranslate2 Whisper models as a trainable transformers ``WhisperForConditionalGeneration``,
and back to CTranslate2 with ctranslate2's own converter, so the fast engine serves a fine-tuned
model with everything it already does (VAD, batching, guards).

The weights in ``model.bin`` are fp16, so CT2 -> torch is exact; torch -> CT2 goes through
``ctranslate2.converters.TransformersConverter`` (fp16 kept). CTranslate2's ``config.json``
(alignment heads, suppressed tokens, language ids) travels in the generation config, so the round
trip gives the engine the same settings. ``tests/test_asr_training.py`` checks that the round trip
transcribes a set of clips exactly as the original.

>>> model, tokenizer = load_whisper_hf(resolve_whisper("tiny.en"))   # doctest: +SKIP
>>> save_whisper_hf(model, tokenizer, "runs/asr/hf")       # doctest: +SKIP
>>> to_ctranslate2("runs/asr/hf", "runs/asr/ct2")          # doctest: +SKIP
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from core.asr.whisper_weights import count_layers, encoder_state_dict, layer_state_dict, read_ct2

CT2_CONFIG_KEYS = ("alignment_heads", "lang_ids", "suppress_ids", "suppress_ids_begin")


def decoder_state_dict(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """CTranslate2 decoder variables -> transformers ``WhisperDecoder`` state dict (projection tied)."""
    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(weights[name].astype(np.float32))

    d = weights["decoder/embeddings/weight"].shape[1]
    n_layers = count_layers(weights, "decoder")
    sd = {"embed_tokens.weight": t("decoder/embeddings/weight"),
          "embed_positions.weight": t("decoder/position_encodings/encodings"),
          "layer_norm.weight": t("decoder/layer_norm/gamma"), "layer_norm.bias": t("decoder/layer_norm/beta")}
    for i in range(n_layers):
        src, dst = f"decoder/layer_{i}", f"layers.{i}"
        kv_w, kv_b = t(f"{src}/attention/linear_1/weight"), t(f"{src}/attention/linear_1/bias")
        sd.update(layer_state_dict(weights, src, dst, d))
        sd.update({  # cross-attention: q alone, k and v fused (k without bias), out
            f"{dst}.encoder_attn.q_proj.weight": t(f"{src}/attention/linear_0/weight"),
            f"{dst}.encoder_attn.q_proj.bias": t(f"{src}/attention/linear_0/bias"),
            f"{dst}.encoder_attn.k_proj.weight": kv_w[:d],
            f"{dst}.encoder_attn.v_proj.weight": kv_w[d:], f"{dst}.encoder_attn.v_proj.bias": kv_b[d:],
            f"{dst}.encoder_attn.out_proj.weight": t(f"{src}/attention/linear_2/weight"),
            f"{dst}.encoder_attn.out_proj.bias": t(f"{src}/attention/linear_2/bias"),
            f"{dst}.encoder_attn_layer_norm.weight": t(f"{src}/attention/layer_norm/gamma"),
            f"{dst}.encoder_attn_layer_norm.bias": t(f"{src}/attention/layer_norm/beta"),
        })
    return sd


def _special(tokenizer, token: str) -> int | None:
    i = tokenizer.get_vocab().get(token)
    return None if i is None else int(i)


def load_whisper_hf(folder: str | Path):
    """(``WhisperForConditionalGeneration`` in fp32 eval mode, ``WhisperTokenizerFast``) from a
    CTranslate2 Whisper model folder (``core.model_resolver.resolve_whisper(name)`` gives one)."""
    from transformers import GenerationConfig, WhisperConfig, WhisperForConditionalGeneration, WhisperTokenizerFast

    folder = Path(folder)
    weights = read_ct2(folder)
    ct2_config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else {}
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    enc_sd, values = encoder_state_dict(weights)
    vocab, d = weights["decoder/embeddings/weight"].shape
    eot = _special(tokenizer, "<|endoftext|>")
    sot = _special(tokenizer, "<|startoftranscript|>")
    config = WhisperConfig(
        vocab_size=vocab, num_mel_bins=values["num_mel_bins"], d_model=d,
        encoder_layers=values["encoder_layers"], encoder_attention_heads=values["encoder_attention_heads"],
        encoder_ffn_dim=values["encoder_ffn_dim"], max_source_positions=values["max_source_positions"],
        decoder_layers=count_layers(weights, "decoder"),
        decoder_attention_heads=int(weights.get("decoder/num_heads", values["encoder_attention_heads"])),
        decoder_ffn_dim=weights["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_target_positions=weights["decoder/position_encodings/encodings"].shape[0],
        bos_token_id=eot, eos_token_id=eot, pad_token_id=eot, decoder_start_token_id=sot,
        activation_function="gelu", tie_word_embeddings=True,
        suppress_tokens=ct2_config.get("suppress_ids"), begin_suppress_tokens=ct2_config.get("suppress_ids_begin"))
    model = WhisperForConditionalGeneration(config)
    state = {f"model.encoder.{k}": v for k, v in enc_sd.items()}
    state.update({f"model.decoder.{k}": v for k, v in decoder_state_dict(weights).items()})
    state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if not k.endswith("k_proj.bias")]:
        raise ValueError(f"weights do not fit the model: missing {missing}, unexpected {unexpected}")
    gen = GenerationConfig(decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, bos_token_id=eot,
                           suppress_tokens=ct2_config.get("suppress_ids"),
                           begin_suppress_tokens=ct2_config.get("suppress_ids_begin"),
                           alignment_heads=ct2_config.get("alignment_heads"),
                           no_timestamps_token_id=_special(tokenizer, "<|notimestamps|>"),
                           max_length=config.max_target_positions)
    if ct2_config.get("lang_ids"):  # kept for the way back (CTranslate2 lists them even for .en models)
        gen.lang_to_id = {tokenizer.convert_ids_to_tokens(i): i for i in ct2_config["lang_ids"]}
    gen.is_multilingual = vocab >= 51865  # the English-only models have one token fewer
    if gen.is_multilingual:
        gen.task_to_id = {t: _special(tokenizer, f"<|{t}|>") for t in ("transcribe", "translate")}
    model.generation_config = gen
    return model.eval(), tokenizer


def save_whisper_hf(model, tokenizer, folder: str | Path) -> Path:
    """A transformers model folder (config, generation config, weights, tokenizer)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def to_ctranslate2(hf_folder: str | Path, out_folder: str | Path, *, quantization: str = "float16") -> Path:
    """ctranslate2's own converter: a transformers Whisper folder -> a CTranslate2 model folder the
    engine (faster-whisper) loads, with ``tokenizer.json`` beside it."""
    from ctranslate2.converters import TransformersConverter

    hf_folder, out_folder = Path(hf_folder), Path(out_folder)
    tmp = out_folder.with_name(out_folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    TransformersConverter(str(hf_folder), copy_files=["tokenizer.json"]).convert(
        str(tmp), quantization=quantization, force=True)
    shutil.rmtree(out_folder, ignore_errors=True)
    tmp.rename(out_folder)  # a half-written model is never loaded
    return out_folder


def prompt_ids(model) -> list[int]:
    """The decoder prompt the engine uses for a transcript without timestamps."""
    gen = model.generation_config
    ids = [gen.decoder_start_token_id]
    if gen.is_multilingual:
        ids += [gen.lang_to_id["<|en|>"], gen.task_to_id["transcribe"]]
    return ids + [gen.no_timestamps_token_id]


def encode_any_length(model, mel: torch.Tensor) -> torch.Tensor:
    """The encoder on a log-mel window of any even length ``[B, n_mels, W]`` (W <= 3000) ->
    ``[B, W / 2, D]``. transformers insists on 3000 frames; the engine (core.asr.whisper_engine)
    sizes windows to the speech plus padding, and so does training, which is what makes CPU
    fine-tuning affordable."""
    enc = model.get_encoder() if hasattr(model, "get_encoder") else model.model.encoder
    F = torch.nn.functional
    h = F.gelu(enc.conv1(mel))
    h = F.gelu(enc.conv2(h)).permute(0, 2, 1)
    h = h + enc.embed_positions.weight[:h.shape[1]]
    for layer in enc.layers:
        out = layer(h, attention_mask=None)
        h = out[0] if isinstance(out, tuple) else out
    return enc.layer_norm(h)


@torch.no_grad()
def greedy_decode(model, mel: torch.Tensor, *, max_tokens: int = 120) -> list[list[int]]:
    """Greedy transcripts (token ids, prompt and end token removed) of a batch of log-mel windows
    ``[B, n_mels, W]``, with the suppressions the engine applies (CTranslate2's suppress_ids
    always, suppress_ids_begin on the first token). For evaluation during training."""
    gen = model.generation_config
    enc = encode_any_length(model, mel)
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model.model.decoder
    prompt = prompt_ids(model)
    ids = torch.tensor([prompt] * len(mel), dtype=torch.long, device=mel.device)
    done = torch.zeros(len(mel), dtype=torch.bool, device=mel.device)
    eot = gen.eos_token_id
    always = [t for t in (gen.suppress_tokens or []) if t >= 0]
    past = None
    for step in range(max_tokens):
        out = decoder(input_ids=ids if past is None else ids[:, -1:], encoder_hidden_states=enc,
                      past_key_values=past, use_cache=True)
        past = out.past_key_values
        logits = model.proj_out(out.last_hidden_state[:, -1]).float()
        if always:
            logits[:, always] = -float("inf")
        if step == 0 and gen.begin_suppress_tokens:
            logits[:, list(gen.begin_suppress_tokens)] = -float("inf")
        logits[:, gen.no_timestamps_token_id:] = -float("inf")  # no timestamp tokens in this mode
        nxt = logits.argmax(-1)
        nxt[done] = eot
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        done |= nxt == eot
        if bool(done.all()):
            break
    out_ids = []
    for row in ids[:, len(prompt):].tolist():
        out_ids.append(row[:row.index(eot)] if eot in row else row)
    return out_ids
