"""Grader reply parsing: JSON, fences, non-booleans, contradictions."""

from __future__ import annotations

from medsage.rubric.verdict import parse_verdict


def test_fenced_json() -> None:
    v = parse_verdict('```json\n{"explanation": "ok", "criteria_met": true}\n```')
    assert v.ok and v.criteria_met is True and v.explanation == "ok"


def test_plain_json_with_surrounding_text() -> None:
    v = parse_verdict('Sure. {"explanation": "no {braces} issue", "criteria_met": false} Done.')
    assert v.ok and v.criteria_met is False


def test_not_json_is_unparsed() -> None:
    for text in ("The response meets the criterion.", "", None, "{not json}"):
        v = parse_verdict(text)
        assert v.status == "unparsed" and v.criteria_met is None


def test_non_boolean_is_unparsed() -> None:
    for raw in ('"true"', '"yes"', "1", "null"):
        v = parse_verdict('{"criteria_met": ' + raw + '}')
        assert v.status == "unparsed", raw


def test_missing_field_is_unparsed() -> None:
    assert parse_verdict('{"explanation": "x"}').status == "unparsed"


def test_duplicate_key_contradiction() -> None:
    v = parse_verdict('{"criteria_met": true, "explanation": "x", "criteria_met": false}')
    assert v.status == "contradictory" and v.criteria_met is None


def test_two_objects_that_disagree() -> None:
    text = '```json\n{"criteria_met": true}\n```\nActually:\n```json\n{"criteria_met": false}\n```'
    assert parse_verdict(text).status == "contradictory"


def test_two_objects_that_agree() -> None:
    v = parse_verdict('{"criteria_met": true} and again {"criteria_met": true}')
    assert v.ok and v.criteria_met is True
