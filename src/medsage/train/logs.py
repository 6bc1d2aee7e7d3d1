"""Loss logs, the loss-curve plot and resource accounting for training runs."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(r / (1024 * 1024) if sys.platform == "darwin" else r / 1024, 1)


def write_loss_log(history: list[dict[str, Any]], out_dir: Path, title: str) -> dict[str, Any]:
    """Write ``loss.jsonl`` and ``loss.png`` from a trainer's ``log_history``.

    Returns ``{"steps": [...], "loss": [...]}`` of the training-loss entries.
    """
    rows = [h for h in history if "loss" in h and "step" in h]
    with (out_dir / "loss.jsonl").open("w", encoding="utf-8") as fh:
        for h in history:
            fh.write(json.dumps(h) + "\n")
    steps = [int(h["step"]) for h in rows]
    loss = [float(h["loss"]) for h in rows]
    if rows:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(steps, loss, marker="o", ms=3)
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("training loss")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out_dir / "loss.png", dpi=110)
        plt.close(fig)
    return {"steps": steps, "loss": loss}
