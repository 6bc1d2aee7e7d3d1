"""Citation verification: sentence splitting, markers, lexical / semantic / grader support."""

from __future__ import annotations

import json
from pathlib import Path

from medsage.kb.types import Chunk
from medsage.models.base import get_model
from medsage.pipelines.citations import (
    add_markers,
    cited_numbers,
    drop_repeats,
    split_sentences,
    verify,
)

HBP = Chunk("c1", "d1", "High Blood Pressure", "What is (are) High Blood Pressure ?",
            "High blood pressure usually has no symptoms, but it can cause serious problems such as "
            "stroke, heart failure, heart attack and kidney failure.", "medquad")
FLU = Chunk("c2", "d2", "流感", "治疗", "发病 48 小时内开始抗病毒治疗获益最大，常用药物为奥司他韦。", "docs", language="zh")


def test_split_and_markers() -> None:
    text = "High blood pressure often has no symptoms [1]. It can cause stroke.[1, 2] 奥司他韦用于治疗流感[2]。无引用的句子。"
    sentences = split_sentences(text)
    assert sentences == ["High blood pressure often has no symptoms [1].", "It can cause stroke.[1, 2]",
                         "奥司他韦用于治疗流感[2]。", "无引用的句子。"]
    assert [cited_numbers(s) for s in sentences] == [[1], [1, 2], [2], []]


async def test_lexical_support_flags_unsupported_sentence() -> None:
    answer = ("High blood pressure can cause stroke and kidney failure [1]. "
              "Eating grapefruit cures high blood pressure within a week [1]. General advice.")
    checks = await verify(answer, {1: HBP}, semantic=False)
    assert [c.supported for c in checks] == [True, False, None]
    assert checks[0].method == "lexical" and checks[0].score >= 0.5


async def test_chinese_sentence_and_missing_evidence() -> None:
    checks = await verify("流感发病48小时内用奥司他韦抗病毒治疗[1]。血压高会导致中风[3]。", {1: FLU}, semantic=False)
    assert checks[0].supported is True
    assert checks[1].supported is False and "missing evidence [3]" in checks[1].reason


async def test_semantic_support_across_languages() -> None:
    checks = await verify("高血压可能导致中风和肾衰竭[1]。哮喘是吃太多巧克力引起的[1]。", {1: HBP}, semantic=True)
    assert checks[0].supported is True and checks[0].method == "semantic"
    assert checks[1].supported is False


async def test_grader_verdict_is_used(tmp_path: Path) -> None:
    script = tmp_path / "grader.json"
    script.write_text(json.dumps([{"contains": "Grapefruit", "response": "UNSUPPORTED"},
                                  {"contains": "stroke", "response": "SUPPORTED"}]))
    grader = get_model("mock/script", {"file": str(script)})
    checks = await verify("It can cause stroke [1]. Grapefruit cures it [1].", {1: HBP}, grader=grader)
    assert [(c.supported, c.method) for c in checks] == [(True, "grader"), (False, "grader")]


async def test_uncited_sentences_are_attributed_or_flagged() -> None:
    answer = ("High blood pressure can cause stroke and kidney failure. "
              "Eating grapefruit cures high blood pressure within a week. In summary:")
    checks = await verify(answer, {1: HBP, 2: FLU}, semantic=False, attribute=True)
    assert [(c.supported, c.cited, c.method) for c in checks] == [
        (True, [1], "attributed"), (False, [], "attributed"), (None, [], "")]
    assert "no retrieved source supports it" in checks[1].reason
    marked = add_markers(answer, checks)
    assert marked.startswith("High blood pressure can cause stroke and kidney failure. [1] Eating")
    # without attribute, uncited sentences stay unjudged (the old behaviour)
    plain = await verify(answer, {1: HBP}, semantic=False)
    assert [c.supported for c in plain] == [None, None, None]


def test_drop_repeats_removes_degenerate_loops() -> None:
    loop = "Intro.\n\nThe symptoms are grouped.\n\nThe symptoms are grouped.\n\n  the symptoms ARE grouped. \n\nEnd."
    text, removed = drop_repeats(loop)
    assert removed == 2 and text == "Intro.\n\nThe symptoms are grouped.\n\nEnd."
    assert drop_repeats("One.\n\nTwo.") == ("One.\n\nTwo.", 0)
