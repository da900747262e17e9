"""The layers hold: core never imports an app or names one, apps never import each other, no
import cycles anywhere, and each capability's imports point down (ui -> service -> crud/core)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_IDS = ("medical_dictation", "finance_callcenter", "english_tutor")
APP_ROLES = {"clinician", "supervisor", "teacher", "student"}


def _modules(top: str) -> dict[str, Path]:
    out = {}
    for path in (ROOT / top).rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(parts)] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every module imported anywhere in the file (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    mods = {**_modules("core"), **_modules("apps")}
    return {name: {m for m in _imports(path) if m in mods and m != name} for name, path in mods.items()}


def test_core_imports_no_app():
    bad = {m: sorted(i for i in deps if i.startswith("apps")) for m, deps in _graph().items() if m.startswith("core")}
    assert not {m: d for m, d in bad.items() if d}


def test_core_names_no_app_and_no_app_role():
    """Adding an app must not touch core/: no app id or app path anywhere in it (comments included),
    and no app's role as a value in its code ("clinician" in prose about clinical language is fine)."""
    hits = []
    for path in (ROOT / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            if any(app in line for app in APP_IDS) or "apps/" in line or "apps." in line:
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in APP_ROLES:
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}: role {node.value!r}")
    assert hits == []


def test_apps_never_import_each_other():
    bad = []
    for m, deps in _graph().items():
        own = m.split(".")[1] if m.startswith("apps.") and len(m.split(".")) > 1 else None
        if own in APP_IDS:
            bad += [(m, d) for d in deps if d.split(".")[1:2] and d.split(".")[1] in APP_IDS and d.split(".")[1] != own]
    assert bad == []


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    # a package importing its own submodule through __init__ is not a cycle of ours
    assert [c for c in cycles if len(c) > 2 or c[0] != c[-1]] == []


def test_layers_point_down_inside_each_app():
    """ui -> service -> crud -> models; nothing below imports what is above it."""
    rank = {"models": 0, "crud": 1, "routing": 1, "pipeline": 1, "fhir": 1, "service": 2, "analytics": 3,
            "worker": 3, "views": 3, "ui": 4}
    bad = []
    for m, deps in _graph().items():
        parts = m.split(".")
        if len(parts) != 3 or parts[1] not in APP_IDS or parts[2] not in rank:
            continue
        for d in deps:
            dp = d.split(".")
            if len(dp) >= 3 and dp[1] == parts[1] and dp[2] in rank and rank[dp[2]] > rank[parts[2]]:
                bad.append((m, d))
    assert bad == []


def test_the_ui_never_opens_a_database_session():
    for path in ROOT.glob("apps/*/ui.py"):
        assert "session_scope" not in path.read_text(encoding="utf-8"), path


def test_one_word_tokenizer_and_one_sentence_splitter():
    """Rules read words through core.text.tokens; no module keeps its own word regex or splitter."""
    pattern = re.compile(r"re\.(?:compile|finditer|findall|split)\(r[\"'](?:\\\\s\+\||\[A-Za-z\]\[A-Za-z|\[A-Za-z0-9"
                         r"|\(\?<=\[\.!|\[\.!;)")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py")
                 if p.name != "tokens.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
