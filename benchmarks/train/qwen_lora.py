"""Issue #20: LoRA on Qwen2.5-Coder-1.5B (the measurement GGUF) on 2 CPU cores, before/after.

Steps (each resumable; one model job at a time):

    # 1. the likelihood-format training file from the curated exam records (no model)
    python benchmarks/train/qwen_lora.py data --curated /work/curated/exams_sft.jsonl \
        --out benchmarks/train/runs_qwen/train.jsonl --n 2000
    # 2. train (a plain `medsage train sft`; --resume after a kill)
    medsage train sft --base-model $Q --data benchmarks/train/runs_qwen/train.jsonl \
        --out-dir benchmarks/train/runs_qwen/sft --lora-layers 8 --max-length 320 ...
    # 3. llama.cpp adapter, then the lift benchmark's datasets with and without it
    medsage train export-lora benchmarks/train/runs_qwen/sft/adapter --out lora.gguf --base $Q
    python benchmarks/lift/lift.py run --model local/$Q --model-opt lora=lora.gguf \
        --runs benchmarks/train/runs_qwen/eval --datasets mcmle_test,cnmleqa2020,cmb,medqa_us --arms bare
    # 4. paired before/after (accuracy, Δ with CI, McNemar, answer letters)
    python benchmarks/train/qwen_lora.py report --out benchmarks/train/results_qwen_lora.json \
        --pair mcmle_test=RUNS_BARE/mcmle_test__bare,RUNS_LORA/mcmle_test__bare ...

Training records (step 1) come from ``medsage data curate-exams`` (development data only,
decontaminated against every evaluation set, keys balanced by option rotation; see
``curated_exams_card.md``). They are rewritten into the prompt ``medsage bench --mode
likelihood`` sends ("…只回答选项字母。" / "…Reply with the option letter only.") with the target
"X. option text": the first answer token is the letter that likelihood mode ranks, and the
option text ties the letter to the fact. By default only sources whose licence allows
publishing (the card's "may ship": MedQA-MCMLE dev MIT, CMB sample Apache-2.0, MedMCQA MIT)
are used, because the adapter is published in this repository. Explanations are not used as targets here: at
~200 tokens each they would cost most of the CPU budget on few items. The language mix
and size are fixed before training (``--zh-share``, ``--n``), not tuned on evaluation items.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, provenance  # noqa: E402

from medsage.tasks.exams.common import PROMPTS  # noqa: E402

ZH_SOURCES = ("medqa_mcmle_dev", "cnmleqa_2017_2019", "cmb_sample", "cmexam_val", "cmmlu_dev")
EN_SOURCES = ("medmcqa_dev",)


def likelihood_record(rec: dict[str, Any], max_chars: int) -> dict[str, Any] | None:
    """``rec`` rewritten to the likelihood prompt with target "X. option text" (None: too long)."""
    lang = "zh" if rec["language"] == "zh" else "en"
    msgs = rec["messages"]
    user = msgs[1]["content"]
    head, sep, body = user.partition("\n\n")
    if not sep or len(body) > max_chars:
        return None
    meta = rec["meta"]
    answer = meta["answer"]
    target = f"{answer}. {meta['choices'][answer]}"
    out = dict(rec)
    out["messages"] = [msgs[0], {"role": "user", "content": f"{PROMPTS[lang]['likelihood']}\n\n{body}"},
                       {"role": "assistant", "content": target}]
    out["meta"] = dict(meta, target="letter+fact", mode="likelihood", from_target=meta.get("target"))
    return out


def build(a: argparse.Namespace) -> None:
    """Select and rewrite the records; write them and a summary next to them."""
    by_lang: dict[str, list[dict[str, Any]]] = {"zh": [], "en": []}
    skipped = collections.Counter()
    for line in Path(a.curated).read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        lang = "zh" if rec["source"] in ZH_SOURCES else "en" if rec["source"] in EN_SOURCES else None
        if lang is None:
            skipped["other source"] += 1
            continue
        if a.shippable_only and not rec["meta"].get("shippable"):
            skipped["licence does not allow publishing"] += 1
            continue
        new = likelihood_record(rec, a.max_chars)
        if new is None:
            skipped["too long"] += 1
            continue
        by_lang[lang].append(new)
    rng = random.Random(a.seed)
    n_zh = round(a.n * a.zh_share)
    picked = rng.sample(by_lang["zh"], min(n_zh, len(by_lang["zh"])))
    picked += rng.sample(by_lang["en"], min(a.n - len(picked), len(by_lang["en"])))
    rng.shuffle(picked)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
    summary = {
        "records": len(picked), "available": {k: len(v) for k, v in by_lang.items()}, "skipped": dict(skipped),
        "by_source": dict(collections.Counter(r["source"] for r in picked)),
        "by_answer": dict(sorted(collections.Counter(r["meta"]["answer"] for r in picked).items())),
        "by_licence": dict(collections.Counter(r["license"] for r in picked)),
        "settings": {"n": a.n, "shippable_only": a.shippable_only, "zh_share": a.zh_share, "max_chars": a.max_chars, "seed": a.seed,
                     "curated": a.curated},
        "provenance": provenance(),
    }
    out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({k: summary[k] for k in ("records", "by_source", "by_answer")}, ensure_ascii=False))


def _question_and_choices(rec: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The stem and options of a likelihood-format record (as ``exam_messages`` wrote them)."""
    lang = "zh" if rec["language"] == "zh" else "en"
    body = rec["messages"][1]["content"].split("\n\n", 1)[1]
    label = f"{PROMPTS[lang]['question']}: "
    stem = body.rsplit("\n\n", 1)[0]
    return stem[len(label):] if stem.startswith(label) else stem, dict(rec["meta"]["choices"])


def domain_data(a: argparse.Namespace) -> None:
    """Rewrite a share of the likelihood records into the prompt ``--pipeline domain`` sends.

    The solved examples come from a bank made of the same (publishable, decontaminated)
    training pool, through the pipeline's own code (``DomainPipeline.examples`` /
    ``context_block`` / ``_messages``), so the record's prompt is the pipeline's first call
    for that item; the item itself is excluded from its own examples by the bank's
    decontamination rule. Retrieval-augmented fine-tuning (Zhang et al., "RAFT: Adapting
    Language Model to Domain Specific RAG", 2024): train with the context used at inference.
    """
    from medsage.models.base import ModelSpec
    from medsage.models.mock import MockModel
    from medsage.pipelines.domain import DomainPipeline
    from medsage.tasks.exams.common import exam_messages
    from medsage.types import CaseState, GenerateConfig, Message, Sample

    pool = [json.loads(line) for line in Path(a.records).read_text(encoding="utf-8").splitlines() if line.strip()]
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    bank = out.with_suffix(".bank.jsonl")
    rows = []
    for r in pool:
        q, choices = _question_and_choices(r)
        rows.append({"question": q, "options": choices, "answer_idx": r["meta"]["answer"], "meta_info": r["source"]})
    bank.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows), encoding="utf-8")
    pipe = DomainPipeline(MockModel(ModelSpec("mock", "random")), {"bank": f"medqa_mcmle:{bank}"})
    rng = random.Random(a.seed)
    picked = rng.sample(range(len(pool)), min(a.n, len(pool)))  # the whole pool is the bank
    chosen = set(picked[: round(a.domain_share * len(picked))])
    written, excluded, shots_n, mismatch = [], 0, collections.Counter(), 0
    for i in picked:
        r = pool[i]
        if i not in chosen:
            written.append(dict(r, meta=dict(r["meta"], format="likelihood")))
            continue
        q, choices = rows[i]["question"], rows[i]["options"]
        sample = Sample(str(i), q, choices, "", {"language": "zh" if r["language"] == "zh" else "en"})
        state = CaseState(sample=sample, messages=tuple(exam_messages(sample, "likelihood")),
                          config=GenerateConfig(max_tokens=1, top_logprobs=20))
        mismatch += state.messages[1].content != r["messages"][1]["content"]
        shots, n_ex = pipe.examples(sample)
        excluded += n_ex
        shots_n[len(shots)] += 1
        msgs = pipe._messages(state, sample, pipe.context_block(sample, shots, []), False)
        if [m.content for m in msgs][1:] == [m.content for m in state.messages][1:] and shots:
            raise SystemExit(f"record {r['id']}: the pipeline's prompt did not change")
        new = dict(r, messages=[{"role": m.role, "content": m.content} for m in msgs if isinstance(m, Message)]
                   + [r["messages"][2]])
        new["meta"] = dict(r["meta"], format="domain", shots=[s.sample.question[:40] for s in shots])
        written.append(new)
    if a.target == "letter":  # the loss then falls on the answer letter (and the end of turn) only
        for rec in written:
            letter = rec["meta"]["answer"]
            if not rec["messages"][-1]["content"].startswith(letter):
                raise SystemExit(f"record {rec['id']}: its target does not start with its answer letter {letter}")
            rec["messages"][-1] = {"role": "assistant", "content": letter}
    rng.shuffle(written)
    out.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in written), encoding="utf-8")
    summary = {"records": len(written), "domain_format": len(chosen), "likelihood_format": len(written) - len(chosen),
               "bank_items": len(pool), "bank_items_excluded": excluded, "prompt_mismatches": mismatch, "shots_per_record": dict(shots_n),
               "settings": {"records": a.records, "n": a.n, "domain_share": a.domain_share, "seed": a.seed,
                            "target": a.target},
               "provenance": provenance()}
    out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({k: summary[k] for k in ("records", "domain_format", "bank_items_excluded", "prompt_mismatches",
                                              "shots_per_record")}))


def speed(a: argparse.Namespace) -> None:
    """Seconds per optimiser step of each LoRA configuration, on one loaded base (the pilot's cost axis)."""
    import time

    from medsage.train.config import TrainConfig
    from medsage.train.trainer import _common_args, _lora, _setup, sft_rows

    rows = sft_rows(a.data)[: a.steps * a.batch * 2]
    results = []
    cfg0 = TrainConfig(base_model=a.base, data=a.data, out_dir=a.out, threads=a.threads)
    torch = _setup(cfg0)
    from datasets import Dataset
    from peft import get_peft_model
    from trl import SFTConfig, SFTTrainer

    from medsage.train.modeling import load_base

    t0 = time.time()
    base, tok = load_base(a.base)
    load_s = time.time() - t0
    for spec in a.configs.split(","):
        layers, r, prec = spec.split(":")  # e.g. 8:16:bf16 = top 8 layers, rank 16, bf16 autocast
        cfg = TrainConfig(base_model=a.base, data=a.data, out_dir=f"{a.out}/{spec.replace(':', '_')}",
                          lora_layers=int(layers), lora_r=int(r), lora_alpha=2 * int(r), bf16=prec == "bf16",
                          batch_size=a.batch, max_length=a.max_length, max_steps=a.steps, save_steps=10**6,
                          logging_steps=1, threads=a.threads)
        model = get_peft_model(base, _lora(cfg, base))
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        trainer = SFTTrainer(model=model, args=SFTConfig(**_common_args(cfg, torch), completion_only_loss=True,
                                                         packing=False),
                             train_dataset=Dataset.from_list(rows), processing_class=tok)
        t = time.time()
        trainer.train()
        wall = time.time() - t
        steps = trainer.state.log_history
        results.append({"config": spec, "trainable_params": trainable, "steps": a.steps, "wall_s": round(wall, 1),
                        "s_per_step": round(wall / a.steps, 2),
                        "loss": [h["loss"] for h in steps if "loss" in h]})
        print(json.dumps(results[-1]), flush=True)
        base = model.unload()
    out = {"load_s": round(load_s, 1), "batch": a.batch, "max_length": a.max_length, "threads": a.threads,
           "results": results, "provenance": provenance()}
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "speed.json").write_text(json.dumps(out, indent=1), encoding="utf-8")


def hf_copy(a: argparse.Namespace) -> None:
    """Save the GGUF base, dequantised by transformers, as a plain HF folder (loads in seconds, not minutes)."""
    from medsage.models.local import file_sha256
    from medsage.train.modeling import load_base

    model, tok = load_base(a.base)
    out = Path(a.out)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    (out / "medsage_base.json").write_text(json.dumps({"gguf": Path(a.base).name, "sha256": file_sha256(Path(a.base)),
                                                        "provenance": provenance()}, indent=1), encoding="utf-8")


def _rows(path: Path) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in (json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip())}


def report(a: argparse.Namespace) -> None:
    """Paired before/after per dataset: accuracy with Wilson CIs, Δ with CI and McNemar, letters."""
    from medsage.scoring.paired import paired_difference
    from medsage.scoring.stats import wilson_ci

    out: dict[str, Any] = {"pairs": [], "provenance": provenance()}
    lines = ["| set | n | before [95% CI] | after [95% CI] | Δ [95% CI] | gained / lost | McNemar p | "
             "letters after (before) |", "|---|---|---|---|---|---|---|---|"]
    for spec in a.pair:
        name, before_dir, after_dir = spec.split("=", 1)[0], *spec.split("=", 1)[1].split(",")
        before, after = _rows(Path(before_dir) / "samples.jsonl"), _rows(Path(after_dir) / "samples.jsonl")
        ids = [i for i in after if i in before]
        x = [float(bool(before[i].get("correct"))) for i in ids]
        y = [float(bool(after[i].get("correct"))) for i in ids]
        d = paired_difference(x, y, binary=True)
        ci_a, ci_b = wilson_ci(sum(x), len(x)), wilson_ci(sum(y), len(y))
        letters = {k: dict(sorted(collections.Counter(str(r[i].get("answer")) for i in ids).items()))
                   for k, r in (("before", before), ("after", after))}
        top = max(letters["after"].values()) / len(ids) if ids else 0.0
        out["pairs"].append({"set": name, "before": before_dir, "after": after_dir, "n": len(ids), **d,
                             "ci_before": ci_a, "ci_after": ci_b, "letters": letters,
                             "top_letter_share_after": round(top, 3)})
        fmt = " ".join(f"{k} {v}" for k, v in letters["after"].items())
        fmt0 = " ".join(f"{k} {v}" for k, v in letters["before"].items())
        lines.append(f"| {name} | {len(ids)} | {d['mean_a']:.3f} [{ci_a[0]:.2f}, {ci_a[1]:.2f}] | "
                     f"{d['mean_b']:.3f} [{ci_b[0]:.2f}, {ci_b[1]:.2f}] | {d['diff']:+.3f} "
                     f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] | {d['wins_b']} / {d['wins_a']} | {d['p']:.2g} | "
                     f"{fmt} ({fmt0}) |")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
    Path(a.out).with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def gate(a: argparse.Namespace) -> None:
    """Right answers of ``--arm`` on the 206-item choice set in ``--runs``: the 80 ``mcmle_dev``
    items plus the 2017–2019 items among the first 160 of the lift plan's ``cnmleqa`` selection."""
    runs = Path(a.runs)
    dev = list(_rows(runs / f"mcmle_dev__{a.arm}" / "samples.jsonl").values())
    cn = [r for r in _rows(runs / f"cnmleqa__{a.arm}" / "samples.jsonl").values()
          if int((r.get("metadata") or {}).get("year", 0)) in (2017, 2018, 2019)]
    if len(dev) != 80 or len(cn) != 126:
        raise SystemExit(f"gate: expected 80 + 126 items, found {len(dev)} + {len(cn)} (run both parts first)")
    right = [sum(bool(r.get("correct")) for r in rs) for rs in (dev, cn)]
    print(json.dumps({"runs": str(runs), "arm": a.arm, "mcmle_dev": f"{right[0]}/80", "cnmleqa_2017_2019":
                      f"{right[1]}/126", "choice_set": f"{sum(right)}/206", "accuracy": round(sum(right) / 206, 4)}))


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["data", "domain-data", "speed", "hf-copy", "report", "gate"])
    ap.add_argument("--records", help="domain-data: a likelihood-format training file (the data step's output)")
    ap.add_argument("--domain-share", type=float, default=0.5, help="domain-data: share rewritten to the domain prompt")
    ap.add_argument("--target", choices=("text", "letter"), default="text",
                    help="domain-data: the assistant turn — letter and option text (text), or the letter alone")
    ap.add_argument("--curated", help="data: output of `medsage data curate-exams`")
    common_flags(ap, "out", "seed", "threads")
    ap.add_argument("--data", help="speed: the training file")
    ap.add_argument("--base", help="speed: the base model (GGUF)")
    ap.add_argument("--configs", default="0:8:fp32,8:16:fp32,8:16:bf16",
                    help="speed: LAYERS:RANK:fp32|bf16, comma-separated (LAYERS 0 = all)")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=320)
    ap.add_argument("--pair", action="append", default=[], metavar="NAME=BEFORE_RUN,AFTER_RUN",
                    help="report: two run folders of the same items (repeatable)")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--zh-share", type=float, default=0.85)
    ap.add_argument("--max-chars", type=int, default=600, help="longest question + options kept")
    ap.add_argument("--all-licences", dest="shippable_only", action="store_false",
                    help="also records whose licence does not allow publishing (default: only MIT/Apache/"
                         "CC BY sources, so the adapter can be published)")
    ap.add_argument("--runs", help="gate: the runs folder of the choice-set arms")
    ap.add_argument("--arm", default="domain", help="gate: the arm to count")
    a = ap.parse_args()
    if a.step == "gate":
        if not a.runs:
            ap.error("gate needs --runs")
        return gate(a)
    if not a.out:
        ap.error("--out is required")
    {"data": build, "domain-data": domain_data, "speed": speed, "hf-copy": hf_copy, "report": report}[a.step](a)


if __name__ == "__main__":
    main()
