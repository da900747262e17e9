"""ConText-style assertion of clinical entities (Harkema et al., 2009): is a finding negated,
uncertain, about a family member, or historical?

Trigger phrases open a scope forward ("no", "denies", "history of") or backward ("was ruled
out", "unlikely"); the scope runs to the end of the sentence, to a termination term ("but",
"however", "which"), or at most ``MAX_SCOPE`` words; an entity inside a scope gets that assertion.
Pseudo-triggers ("no increase", "not only", "gram negative") are skipped.

>>> assertions("Patient denies chest pain but reports cough.", [(15, 25)])
[{'negated'}]
"""
from __future__ import annotations


from core.text.tokens import Token, sentences, tokens

MAX_SCOPE = 8  # words a forward trigger reaches
FORWARD = {
    "negated": ["no", "not", "denies", "denied", "deny", "without", "negative for", "free of", "absence of",
                "no evidence of", "no signs of", "no sign of", "no history of", "never had", "ruled out",
                "rules out", "nor", "resolved", "no complaints of", "not had", "hasn't had", "has not had"],
    "uncertain": ["possible", "possibly", "probable", "probably", "suspected", "suspect", "suspicion of",
                  "rule out", "r/o", "may have", "might have", "could be", "concern for", "concerning for",
                  "questionable", "query", "?", "likely", "differential includes", "cannot exclude",
                  "can't exclude", "cannot rule out", "suggestive of", "consistent with", "worried about"],
    "family": ["family history of", "family history", "fh of", "mother", "father", "mum", "mom", "dad", "sister",
               "brother", "sibling", "grandmother", "grandfather", "aunt", "uncle", "cousin", "son", "daughter",
               "parents", "runs in the family"],
    "historical": ["history of", "past history of", "h/o", "previous", "previously", "prior", "in the past",
                   "status post", "s/p", "years ago", "as a child", "childhood", "past medical history",
                   "had a", "former"],
}
BACKWARD = {
    "negated": ["ruled out", "is ruled out", "was ruled out", "was negative", "is negative", "unlikely",
                "not seen", "was excluded", "is excluded", "resolved", "has resolved", "free"],
    "uncertain": ["is possible", "is suspected", "is likely", "questionable", "?", "vs", "versus",
                  "cannot be excluded", "not excluded"],
    "historical": ["in the past", "years ago", "as a child", "previously"],
    "family": ["in her mother", "in his mother", "in her father", "in his father", "in the family", "runs in the family"],
}
PSEUDO = ["no increase", "no change", "not only", "not necessarily", "no further", "gram negative",
          "not cause", "no longer", "without difficulty", "not certain if", "not certain whether",
          "history of present illness", "family history was reviewed", "no significant change"]
TERMINATE = {"but", "however", "although", "though", "which", "except", "apart", "aside", "yet", "still",
             "secondary", "because", "since", "presents", "presented", "reports", "reported", "complains",
             "complaining", "notes", "states", "says", "has", "with"}
_MARKS = {"?"}  # the one mark that is a trigger by itself ("?" = query)


def _tokens(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Words and numbers, and the marks triggers use: the suite's tokenizer with hyphenated words
    split ("mother-migraine", "otherwise-no fevers") and slashed ones joined ("r/o", "h/o")."""
    return [t for t in tokens(text, start, end, split_hyphens=True, join_slashes=True)
            if t.kind != "mark" or t.text in _MARKS]


def _split(phrase: str) -> list[str]:
    return [t.text.lower() for t in _tokens(phrase)]


def _phrases(table: dict[str, list[str]]) -> list[tuple[list[str], str]]:
    return sorted(((_split(p), kind) for kind, ps in table.items() for p in ps), key=lambda x: -len(x[0]))


_FWD, _BWD, _PSEUDO = _phrases(FORWARD), _phrases(BACKWARD), [_split(p) for p in PSEUDO]


def assertions(text: str, spans: list[tuple[int, int]]) -> list[set[str]]:
    """For each character span of ``text``: the assertions that cover it (empty set = affirmed, current, patient)."""
    out: list[set[str]] = [set() for _ in spans]
    for s_start, s_end in sentences(text):
        words = [(t.text.lower(), t.start, t.end) for t in _tokens(text, s_start, s_end)]
        tokens = [w for w, _, _ in words]
        scopes = _scopes(tokens)
        for k, (a, b) in enumerate(spans):
            if not (s_start <= a < s_end):
                continue
            first = next((i for i, (_, ws, we) in enumerate(words) if we > a), None)
            last = max((i for i, (_, ws, we) in enumerate(words) if ws < b), default=first)
            if first is None:
                continue
            for kind, lo, hi in scopes:
                if lo <= first and last < hi or (lo <= last < hi):
                    out[k].add(kind)
    return out


def _scopes(tokens: list[str]) -> list[tuple[str, int, int]]:
    """Word-index scopes ``(kind, start, end_exclusive)`` opened by triggers in one sentence."""
    scopes: list[tuple[str, int, int]] = []
    i = 0
    while i < len(tokens):
        pseudo = next((p for p in _PSEUDO if tokens[i:i + len(p)] == p), None)
        if pseudo:
            i += len(pseudo)
            continue
        hit = next(((p, kind) for p, kind in _FWD if tokens[i:i + len(p)] == p), None)
        if hit:
            p, kind = hit
            end = i + len(p)
            stop = end
            while stop < len(tokens) and stop - end < MAX_SCOPE and tokens[stop] not in TERMINATE:
                stop += 1
            scopes.append((kind, end, stop))
            i = end
            continue
        hit = next(((p, kind) for p, kind in _BWD if tokens[i:i + len(p)] == p), None)
        if hit:
            p, kind = hit
            start = i
            while start > 0 and i - start < MAX_SCOPE and tokens[start - 1] not in TERMINATE:
                start -= 1
            scopes.append((kind, start, i))
            i += len(p)
            continue
        i += 1
    return scopes
