from __future__ import annotations

import pytest

from medsage.scoring import choice_from_logprobs, extract_choice

CH = {"A": "Vitamin A", "B": "Vitamin C", "C": "Vitamin D", "D": "Vitamin K", "E": "Folate"}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("答案：B", "B"),
        ("正确答案是C", "C"),
        ("选D", "D"),
        ("故选Ｅ", "E"),
        ("(E)", "E"),
        ("The answer is (C)", "C"),
        ('{"answer_choice": "D"}', "D"),
        ("Folate", "E"),
        ("Let me think. A is wrong, B is plausible. Therefore the answer is D.", "D"),
        ("**Answer: C**", "C"),
        ("B. Vitamin C", "B"),
        ("To answer a question like this we need data. Answer: A", "A"),
        ("选项A错误，故选B", "B"),
    ],
)
def test_extracts(reply: str, expected: str) -> None:
    assert extract_choice(reply, CH) == expected


@pytest.mark.parametrize("reply", ["", "I am not sure.", "A patient like this needs care", "between A and B", "答案：F", "Vitamin"])
def test_unparsed_is_none_never_a_default(reply: str) -> None:
    assert extract_choice(reply, CH) is None


def test_letter_outside_options_is_ignored() -> None:
    assert extract_choice("The answer is E", {"A": "x", "B": "y"}) is None


def test_logprobs_pick_best_valid_letter() -> None:
    assert choice_from_logprobs({" B": -0.5, "A": -1.0, "The": -0.1}, CH) == "B"
    assert choice_from_logprobs({"The": -0.1}, CH) is None
