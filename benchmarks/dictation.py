"""Dictation end to end on two synthetic sets (espeak-ng voices, clearly synthetic speech; see
benchmarks/dictation_sets.py): recogniser -> dictation normalisation -> drug-name repair -> drug
slots -> entities, for each recogniser named (--models; the app's default is chosen from this).

Sets: "tuned" = PriMock57 notes read aloud + one dictated order per drug in them (the rules were
tuned here); "untuned" = orders and short notes with drugs drawn at random from the lexicon, other
voices, never used for tuning; "untuned2" = another such set (other drugs, the next seed), added
once the untuned set's misses had been read to find the spotting's blind spots: only measured;
"talk" = 24 sentences after the verbs the spotting searches after with no drug in them ("Start
physiotherapy twice a week", "She takes the bus to work"): every name written there is a false
insertion (only measured). Set-ups, each adding one step, so each step's gain shows:

- plain: the recogniser's text, normalised;
- +spelling: drug names repaired by spelling (near misses, split names) against the lexicon;
- +slots: words in a drug's slot (before a dose) matched by sound against the whole lexicon;
- +spotting: where an order names a drug ("start ... 250 milligrams"), the phones heard in the
  audio scored against every generic name (``core.clinical.drug_spotting``);
- +recogniser listens: where no name stood out by its phones, the recogniser scores the order read
  with each of the phones' 15 best names (against silence) and picks with the phones;
- +recogniser proposes: and the recogniser, its decoder held to the lexicon's names, proposes the
  ten it hears after the verb; they are read to it too, and its first is taken where it stands out
  among all names and the phones do not contradict it (the app's default);
- +recogniser picks: and what is still open is decoded again with the phones' five best names in
  the prompt (a setting of the app, off by default);
- +second pass: speech chunks whose first transcript holds words that sound like drug names are
  decoded again with the lexicon's closest names in the prompt (the recogniser decides; a setting
  of the app, off by default);
- +vocabulary (after +recogniser proposes, no second pass: the app's default; "+vocabulary, no
  spotting" is the same without the audio steps, "phones only" without the recogniser listening,
  "no proposals" without its proposals): the clinician's list (tuned: the
  40 drugs most common in the notes; untuned: the set's own drugs, a formulary that holds what
  they dictate) biases the recogniser and the repair;
- long vocabulary: the same list padded with random lexicon names to 300 (a learnt list longer
  than the recogniser's prompt holds; the engine picks per speech chunk the names that sound like
  what it heard).
Every decode uses the app's options (``apps.medical_dictation.config.asr_options``: English, the
clinical prompt).

Figures: medication-name recall; dose / route / frequency / duration accuracy over all gold orders
(a missed drug counts as wrong) and dose accuracy over the drugs found. False insertions: drug
names the text steps put into the PriMock57 consultation transcripts (doctor-patient talk), per
1,000 words; names the spotting wrote that the dictation did not say (every set, per 1,000
words of what was said); and per set-up, the drug names in the draft note that the dictation did
not say, from any step ("not said"). Latency: a 60 s dictation to a draft note (the app's path), median of --repeats after a
warm-up, next to faster-whisper only transcribing the same 60 s (same weights), and peak RSS; on two
60 s recordings: a PriMock57 note (the tuned list) and the untuned set's orders (no list: most names
misheard, the spotting's slow end).

    python benchmarks/dictation.py --limit 10                       # quick
    python benchmarks/dictation.py --transcripts runs/dictation_asr.json   # all; decoding cached

Needs espeak-ng. The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import PeakRss, finish, ratio, time_calls  # noqa: E402
from benchmarks.peers import faster_whisper  # noqa: E402
os.environ.setdefault("HF_HUB_OFFLINE", "1")
def norm(value: str) -> str:
    v = value.lower().replace("milligrams", "mg").replace("milligram", "mg")
    return re.sub(r"\s+", "", v)


ATTRIBUTES = ("dosage", "route", "frequency", "duration")
# set-up -> (which decode, text-step options, which vocabulary, drug names spotted in the audio)
# spotting: False (none), "phones" (the phones alone decide), "listens" (and the recogniser, reading the order
# with each candidate, decides with them), "asked" (and it is asked, with candidates in its prompt, about what is still open)
SETUPS = {"plain": ("plain", {"repair": False}, None, False), "+spelling": ("plain", {"slots": False}, None, False),
          "+slots": ("plain", {}, None, False), "+spotting": ("plain", {}, None, "phones"),
          "+recogniser listens": ("plain", {}, None, "listens"), "+recogniser proposes": ("plain", {}, None, "proposes"),
          "+recogniser picks": ("plain", {}, None, "asked"),
          "+second pass": ("second", {}, None, False), "+vocabulary, no spotting": ("biased", {}, "set", False),
          "+vocabulary, phones only": ("biased", {}, "set", "phones"),
          "+vocabulary, no proposals": ("biased", {}, "set", "listens"),
          "+vocabulary": ("biased", {}, "set", "proposes"), "long vocabulary": ("long", {}, "long", "proposes")}
LONG_VOCABULARY = 300  # a learnt list grows past what a prompt holds (about 50 names)


def long_list(vocab: list[str]) -> list[str]:
    """The set's vocabulary padded with random generic names of the lexicon (seed 0) to 300 names,
    sorted: a clinician's learnt list, longer than the recogniser's prompt holds."""
    import random

    from core.clinical.drug_slots import lexicon_sound_index
    from core.clinical.medications import british_names

    uk = british_names()  # added 2026-12-07: they stay out, so the draw is the one every earlier run made
    names = sorted(n for bucket in lexicon_sound_index().names.values() for n in bucket
                   if n not in vocab and n.lower() not in uk)
    return sorted(set(vocab) | set(random.Random(0).sample(names, LONG_VOCABULARY - len(set(vocab)))))


def score(gold: list[dict[str, dict]], texts: list[str], vocab: list[str], tagger, options: dict,
          errors: list | None = None) -> dict:
    """Medication-name recall and exact attribute accuracy (over gold medications that state it);
    ``errors`` collects (gold medication, its attributes, what the pipeline found, the text)."""
    from core.clinical.draft import draft_note

    found = total = found_with_dose = dose_ok_found = not_said = 0
    ok, n = Counter(), Counter()
    for g, raw in zip(gold, texts):
        draft = draft_note(raw, vocabulary=vocab, tagger=tagger, **options)  # the app's path
        got = {e.text.lower(): e.attributes for e in draft.entities if e.label == "MEDICATION"}
        not_said += len(set(got) - set(g))
        if errors is not None:
            errors += [(med, "not said", None, got[med], draft.text) for med in sorted(set(got) - set(g))]
        for med, attrs in g.items():
            total += 1
            found += med in got
            if med in got and attrs.get("dosage"):
                found_with_dose += 1
                dose_ok_found += norm(got[med].get("dosage", "")) == norm(attrs["dosage"])
            for key in ATTRIBUTES:
                if attrs.get(key):
                    n[key] += 1
                    right = med in got and norm(got[med].get(key, "")) == norm(attrs[key])
                    ok[key] += right
                    if errors is not None and not right and med in got:
                        errors.append((med, key, attrs[key], got.get(med), draft.text))
            if errors is not None and med not in got:
                errors.append((med, "name", med, None, draft.text))
    out = {"medication_recall": found / max(total, 1), "medications": total, "names_not_said": not_said,
           "dosage_accuracy_found": dose_ok_found / max(found_with_dose, 1)}
    for key in ATTRIBUTES:
        if n[key]:
            out[f"{key}_accuracy"] = ok[key] / n[key]
    return out


def spot_set(texts: list[str], words: list[list], audios: list, vocab: list[str], gold: list[dict],
             said: list[str], redecode=None, listen=None, propose=None) -> tuple[list[str], dict]:
    """The drug-name spotting (the app's step) on each decode, from its cached words and the audio;
    with counts: stretches searched, names written, names written that the dictation did not say."""
    import time

    from core.asr.types import Segment, Transcript, Word
    from core.clinical.drug_spotting import spot_drug_names
    from core.clinical.repair import repair_kind

    out, regions, replaced, wrong, examples, doses, asked, instructions = [], 0, 0, 0, [], 0, 0, 0
    started = time.perf_counter()
    for text, ws, audio, g in zip(texts, words, audios, gold):
        seg = Segment(0.0, audio.duration, text, tuple(Word(w[0], w[1], w[2], w[3]) for w in ws))
        r = spot_drug_names(Transcript(text=text, segments=(seg,), language="en", duration=audio.duration),
                            audio.samples, vocab, redecode, listen, propose)
        out.append(r.text)
        regions += r.regions
        asked += r.asked
        kinds = Counter(repair_kind(x.replacement) for x in r.repairs)
        names = [x for x in r.repairs if repair_kind(x.replacement) == "name"]
        replaced, doses, instructions = replaced + kinds["name"], doses + kinds["dose"], instructions + kinds["instruction"]
        bad = [f"{x.original!r} -> {x.replacement}" for x in names if x.replacement.lower() not in g]
        wrong += len(bad)
        examples += bad
    n_words = sum(len(s.split()) for s in said)
    return out, {"regions": regions, "asked": asked, "replaced": replaced, "wrong": wrong, "doses_rewritten": doses,
                 "instructions_rewritten": instructions, "words_said": n_words,
                 "wrong_per_1000_words": round(1000 * wrong / max(n_words, 1), 3),
                 "seconds": round(time.perf_counter() - started, 1), "wrong_examples": examples}


def dialogue_words(data: Path) -> list[str]:
    """The PriMock57 consultation transcripts (doctor and patient TextGrids), one text per file,
    tags such as <UNSURE> removed."""
    texts = []
    for path in sorted((data / "primock57" / "transcripts").glob("*.TextGrid")):
        said = re.findall(r'text = "(.*)"', path.read_text(encoding="utf-8", errors="replace"))
        text = " ".join(re.sub(r"</?[A-Z_]+/?>", " ", t) for t in said)
        texts.append(re.sub(r"\s+", " ", text).strip())
    return [t for t in texts if t]


def false_insertions(texts: list[str]) -> dict:
    """Drug names the text steps (spelling repair + slots, no vocabulary) put into ordinary talk."""
    from core.clinical.draft import draft_note

    words = spelling = slots = 0
    examples = []
    for t in texts:
        words += len(t.split())
        without = draft_note(t, slots=False)
        full = draft_note(t)
        spelling += len(without.repairs)
        new = full.repairs[len(without.repairs):]
        slots += len(new)
        examples += [f"{r.original!r} -> {r.replacement}" for r in new]
    return {"words": words, "spelling_per_1000_words": 1000 * spelling / max(words, 1),
            "slots_per_1000_words": 1000 * slots / max(words, 1),
            "all_per_1000_words": 1000 * (spelling + slots) / max(words, 1), "slot_examples": examples[:10]}


def speak(text: str, i: int, path: Path, voices: list[tuple[str, int]]):
    from core.audio import load_audio

    voice, speed = voices[i % len(voices)]
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True, capture_output=True)
    return load_audio(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None, help="notes of the tuned set (the untuned set is small)")
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--listen-pad", type=float, default=None,
                    help="seconds of silence the spotting's readings are scored with (default: the app's "
                         "drug_spotting.LISTEN_PAD_S; give another --spotted file with another pad)")
    ap.add_argument("--show-errors", type=int, default=0, help="print this many misses of each set-up in --errors-of")
    ap.add_argument("--errors-of", nargs="+", default=["+vocabulary"], metavar="SETUP",
                    help="the set-ups whose misses --show-errors prints (default: +vocabulary)")
    ap.add_argument("--transcripts", type=Path, default=None,
                    help="JSON cache of the recognisers' output: written on the first run, reused after "
                         "(to tune the text steps without decoding the audio again)")
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--setups", nargs="+", default=None, metavar="SETUP",
                    help="score only these set-ups (default: all; the 71 min of tuned notes take ~5 min per spotting set-up)")
    ap.add_argument("--sets", nargs="+", default=["tuned/notes", "tuned/orders", "untuned", "untuned2", "talk"])
    ap.add_argument("--asr-prompt", default=None,
                    help="the recogniser's prompt to measure instead of the app's (decoded and cached apart)")
    ap.add_argument("--spotted", type=Path, default=None,
                    help="JSON cache of the spotting's output (per decode and set-up): written on the first run, "
                         "reused after, to tune the text steps after the spotting in seconds; delete it after "
                         "changing the spotting")
    ap.add_argument("--all-notes-decodes", action="store_true",
                    help="also decode the 71 min of tuned notes with the second pass and the long list (~25 min)")
    args = ap.parse_args()
    if not shutil.which("espeak-ng"):
        sys.exit("espeak-ng is needed: apt-get install espeak-ng")
    from apps.medical_dictation.config import DictationSettings, asr_options
    from benchmarks.dictation_sets import TALK, UNTUNED_VOICES, VOICES, meds, orders, spoken_form, untuned_sets
    from core.asr import get_transcriber
    from core.clinical.medications import british_names
    from core.clinical.drug_spotting import LISTEN_PAD_S, recogniser_check, recogniser_listen, recogniser_propose
    from core.text.ner import get_ner

    listen_pad = LISTEN_PAD_S if args.listen_pad is None else args.listen_pad

    notes = [json.loads(p.read_text()) for p in sorted((args.data / "primock57" / "notes").glob("*.json"))]
    notes = notes[: args.limit] if args.limit else notes
    gold_notes = [meds(n["note"]) for n in notes]
    plans = [orders(sorted(g), seed=i) for i, g in enumerate(gold_notes) if g]
    untuned, untuned2 = untuned_sets(args.data)
    sets = {"tuned/notes": ([spoken_form(n["note"]) for n in notes], gold_notes, VOICES),
            "tuned/orders": ([said for said, _ in plans], [g for _, g in plans], VOICES),
            "untuned": ([said for said, _ in untuned], [g for _, g in untuned], UNTUNED_VOICES),
            "untuned2": ([said for said, _ in untuned2], [g for _, g in untuned2], UNTUNED_VOICES),
            "talk": (TALK, [{} for _ in TALK], UNTUNED_VOICES)}
    sets = {k: v for k, v in sets.items() if k in args.sets}
    vocabularies = {"tuned": [m for m, _ in Counter(m for g in gold_notes for m in g).most_common(40)],
                    "untuned": sorted({m for _, g in untuned for m in g}),
                    "untuned2": sorted({m for _, g in untuned2 for m in g})}
    vocabularies["talk"] = vocabularies["tuned"]  # a clinician's list: the names dictated most
    work = Path(tempfile.mkdtemp(prefix="parlance-bench-dict-"))
    tagger = get_ner()
    cache = json.loads(args.transcripts.read_text()) if args.transcripts and args.transcripts.exists() else {}
    results, minutes, spot_stats = {}, {}, {}
    spotted_cache = json.loads(args.spotted.read_text()) if args.spotted and args.spotted.exists() else {}
    prompt = {} if args.asr_prompt is None else {"asr_prompt": args.asr_prompt}
    one, two = DictationSettings(drug_second_pass=False, **prompt), DictationSettings(drug_second_pass=True, **prompt)
    needed = {SETUPS[s][0] for s in args.setups} if args.setups else None  # the decodes the set-ups read
    for model in args.models:
        tr = None
        for set_name, (said, gold, voices) in sets.items():
            vocab = vocabularies[set_name.split("/")[0]]
            long_vocab = long_list(vocab)
            decodes = {"plain": asr_options((), one), "second": asr_options((), two), "biased": asr_options(vocab, one),
                       "long": asr_options(long_vocab, one)}
            if set_name == "tuned/notes" and not args.all_notes_decodes:  # 71 min of audio: the app's own two
                decodes = {k: v for k, v in decodes.items() if k in ("plain", "biased")}
            decodes = {k: v for k, v in decodes.items() if needed is None or k in needed}
            key = f"{model}:{set_name}:app-options-3"  # 3: word times kept too (for the spotting)
            if args.asr_prompt is not None:
                key += ":prompt-" + hashlib.sha1(args.asr_prompt.encode()).hexdigest()[:10]
            entry = cache.get(key) if cache.get(key, {}).get("said") == said else None
            entry = entry or {"said": said, "texts": {}, "words": {}, "minutes": None}
            audios = None

            def audio_of_set():
                return [speak(t, i, work / f"{set_name.replace('/', '_')}{i}.wav", voices) for i, t in enumerate(said)]
            for name, opts in decodes.items():  # only what the cache lacks is decoded
                if name in entry["texts"]:
                    continue
                tr = tr or get_transcriber(model)
                if audios is None:
                    audios = audio_of_set()
                    entry["minutes"] = sum(a.duration for a in audios) / 60
                out = tr.transcribe_many(audios, opts)
                entry["texts"][name] = [t.text for t in out]
                entry["words"][name] = [[[w.text, w.start, w.end, w.confidence] for w in t.words] for t in out]
                cache[key] = entry
                if args.transcripts:
                    args.transcripts.parent.mkdir(parents=True, exist_ok=True)
                    args.transcripts.write_text(json.dumps(cache))
            texts, minutes[set_name] = entry["texts"], entry["minutes"]
            vocab_of = {None: [], "set": vocab, "long": long_vocab}
            spotted: dict[tuple, list[str]] = {}
            for name, (asr, options, which, spot) in SETUPS.items():
                if asr not in texts or args.setups and name not in args.setups:
                    continue
                listed = hashlib.sha1("\n".join(vocab_of[which]).encode()).hexdigest()[:10]
                done_key = f"{model}|{set_name}|{asr}|{which}|{spot}|{listed}"  # the list searched is part of it
                done = spotted_cache.get(done_key)
                if spot and (asr, which, spot) not in spotted and done and done["heard"] == texts[asr]:
                    spotted[asr, which, spot], spot_stats[f"{model}|{set_name}|{name}"] = done["texts"], done["stats"]
                if spot and (asr, which, spot) not in spotted:
                    audios = audios or audio_of_set()
                    redecode = listen = propose = None
                    if spot in ("listens", "proposes", "asked"):
                        tr = tr or get_transcriber(model)
                        listen = recogniser_listen(tr, listen_pad)
                    if spot == "proposes":
                        propose = recogniser_propose(tr)
                    if spot == "asked":
                        redecode = recogniser_check(tr, lambda names: asr_options(names, one))
                    spotted[asr, which, spot], spot_stats[f"{model}|{set_name}|{name}"] = spot_set(
                        texts[asr], entry["words"][asr], audios, vocab_of[which], gold, said, redecode, listen, propose)
                    if args.spotted:
                        spotted_cache[done_key] = {"heard": texts[asr], "texts": spotted[asr, which, spot],
                                                   "stats": spot_stats[f"{model}|{set_name}|{name}"]}
                        args.spotted.write_text(json.dumps(spotted_cache))
                errors: list = []
                chosen = spotted[asr, which, spot] if spot else texts[asr]
                results[f"{model}|{set_name}|{name}"] = score(gold, chosen, vocab_of[which], tagger, options, errors)
                if name in args.errors_of:
                    for med, what, want, got, text in errors[: args.show_errors]:
                        print(f"[miss] {model} {set_name} {name} {what}: want {want!r} for {med!r}; got {got}; text: {text[:160]!r}")
    insertions = false_insertions(dialogue_words(args.data))
    uk = british_names()
    note_meds = [m for g in gold_notes for m in g]
    print(f"PriMock57 written notes ({len(notes)}): {len(note_meds)} medication mentions (one per drug and note) found "
          f"by the entity step, {sum(m in uk for m in note_meds)} of them British names RxNorm lacks "
          f"({', '.join(sorted({m for m in note_meds if m in uk}))})")
    print("\nSynthetic dictations (espeak-ng): " + ", ".join(
        f"{name} {len(sets[name][0])} ({minutes[name]:.1f} min, {sum(len(g) for g in sets[name][1])} drugs)"
        for name in sets) + "\n")
    print(f"{'model':8} {'set':13} {'set-up':25} {'meds':>5} {'recall':>7} {'dose|found':>10} "
          + " ".join(f"{k[:8]:>9}" for k in ATTRIBUTES) + f" {'not said':>8}")
    for key, r in results.items():
        model, set_name, name = key.split("|")
        cells = " ".join(f"{r[k + '_accuracy']:9.3f}" if k + "_accuracy" in r else f"{'-':>9}" for k in ATTRIBUTES)
        print(f"{model:8} {set_name:13} {name:25} {r['medications']:5d} {r['medication_recall']:7.3f} "
              f"{r['dosage_accuracy_found']:10.3f} {cells} {r['names_not_said']:8d}")
    for key, st in spot_stats.items():
        print(f"[spotting] {key}: {st['regions']} stretches searched, {st['asked']} decoded again, {st['replaced']} names written, "
              f"{st['doses_rewritten']} doses rewritten, {st.get('instructions_rewritten', 0)} routes or frequencies "
              f"rewritten, {st['wrong']} names not said ({st['wrong_per_1000_words']:.2f} per 1,000 words said), "
              f"{st['seconds']:.1f} s in all; wrong: {st['wrong_examples'][:5]}")
    print(f"\nFalse insertions on PriMock57 consultation transcripts ({insertions['words']} words): spelling repair "
          f"{insertions['spelling_per_1000_words']:.2f} and drug slots {insertions['slots_per_1000_words']:.2f} per "
          f"1,000 words (target <= 1 for the slots); slot examples: {insertions['slot_examples']}")
    figures = {f"{k.replace('|', '_').replace('/', '_')}_{m}": round(v, 4) if isinstance(v, float) else v
               for k, r in results.items() for m, v in r.items()}
    figures.update({f"false_insertions_{k}": round(v, 3) for k, v in insertions.items() if isinstance(v, float)})
    figures.update({"primock57_note_medications": len(note_meds),
                    "primock57_note_medications_uk_names": sum(m in uk for m in note_meds)})
    figures.update({f"spotting_{k.replace('|', '_').replace('/', '_')}_{m}": v for k, st in spot_stats.items()
                    for m, v in st.items() if m != "wrong_examples"})
    if not args.no_latency:
        audios = {"note": (sixty_note(notes[0]["note"], work), vocabularies["tuned"]),
                  "orders": (sixty_orders([said for said, _ in untuned], work), [])}
        for model in args.models:
            for label, (sixty, vocab) in audios.items():
                for second_pass in (False, True) if label == "note" else (False,):
                    figures.update(latency(model, label, sixty, vocab, tagger, args.repeats, second_pass,
                                           listen_pad))
    finish({**figures, "notes": len(notes)})


def sixty_note(note: str, work: Path):
    """60 s of dictation: a PriMock57 note read by espeak-ng (synthetic), repeated to 60 s (the
    latency figure since issue 5; the clinician's list is the tuned set's)."""
    import numpy as np

    from benchmarks.dictation_sets import VOICES, spoken_form
    from core.audio import Audio

    long = speak(spoken_form(note), 0, work / "sixty.wav", VOICES)
    reps = int(np.ceil(60 * 16000 / len(long.samples)))
    return Audio(samples=np.tile(long.samples, reps)[: 60 * 16000], source_sample_rate=16000, source_channels=1,
                 source_format="numpy")


def sixty_orders(plans: list[str], work: Path):
    """60 s of orders for drugs nobody tuned for: the untuned set's plans read one after another by
    its voices with 0.5 s between them, cut at 60 s; no list typed. Most of their names are misheard,
    so the spotting listens at most orders: the slow end of what a dictation costs (21.9 s against
    the note's 4.3 s on a 2-core Zen 5, README)."""
    import numpy as np

    from benchmarks.dictation_sets import UNTUNED_VOICES
    from core.audio import Audio

    pieces, total = [], 0
    for i, plan in enumerate(plans):
        said = speak(plan, i, work / f"order{i}.wav", UNTUNED_VOICES).samples
        pieces += [said, np.zeros(8000, dtype=np.float32)]
        total += len(said) + 8000
        if total >= 60 * 16000:
            break
    return Audio(samples=np.concatenate(pieces)[: 60 * 16000], source_sample_rate=16000,
                 source_channels=1, source_format="numpy")


def latency(model: str, label: str, sixty, vocab: list[str], tagger, repeats: int, second_pass: bool,
            listen_pad: float) -> dict:
    """A 60 s dictation (``sixty``: ``sixty_note`` or ``sixty_orders``) -> draft note (the app's
    path, NER tagger included), next to the peer in the same run: faster-whisper as its README shows
    (same weights) only transcribing the same 60 s."""
    from apps.medical_dictation.config import DictationSettings, asr_options
    from core.asr import get_transcriber
    from core.clinical.draft import draft_note
    from core.clinical.drug_spotting import recogniser_check, recogniser_listen, recogniser_propose, spot_drug_names

    tr = get_transcriber(model)
    settings = DictationSettings(drug_second_pass=second_pass)
    redecode = recogniser_check(tr, lambda names: asr_options(names, settings)) if settings.spot_ask_recogniser else None
    listen = recogniser_listen(tr, listen_pad) if settings.spot_listen else None
    propose = recogniser_propose(tr) if listen and settings.spot_propose else None

    def draft_60s() -> None:  # the app's path (apps/medical_dictation/service.py)
        if hasattr(tr, "forget_priors"):  # each run as a first dictation
            tr.forget_priors()
        (tt,) = tr.transcribe_many([sixty], asr_options(vocab, settings))
        draft_note(spot_drug_names(tt, sixty.samples, vocab, redecode, listen, propose).text, vocabulary=vocab,
                   tagger=tagger)

    peer_model = faster_whisper(model=model)
    plain = lambda: "".join(s.text for s in peer_model.transcribe(sixty.samples, beam_size=5)[0])  # noqa: E731
    with PeakRss() as mem:
        runs = time_calls(lambda _: draft_60s(), [None] * repeats, warmup=1)
    peer = time_calls(lambda _: plain(), [None] * repeats, warmup=1)
    lat, peer_s = runs.p50_ms / 1000, peer.p50_ms / 1000
    how = "with the drug second pass" if second_pass else "the app's default (no second pass)"
    print(f"\n{model}, {how}, {label}: 60 s dictation -> draft note {lat:.2f} s (median of {runs.n} after a warm-up run, "
          f"{os.cpu_count()}-CPU machine, NER tagger included; target <= 6 s); faster-whisper only transcribing the "
          f"same 60 s: {peer_s:.2f} s; ratio {ratio(lat, peer_s):.2f}; peak RSS {mem.peak_mb:.0f} MB")
    m = model.replace(".", "_") + ("_orders" if label == "orders" else "") + ("_second_pass" if second_pass else "")
    return {f"{m}_latency_60s_dictation_s": round(lat, 2), f"{m}_latency_60s_faster_whisper_s": round(peer_s, 2),
            f"{m}_latency_60s_ratio_vs_faster_whisper": ratio(lat, peer_s), f"{m}_peak_rss_mb": mem.peak_mb}


if __name__ == "__main__":
    main()
