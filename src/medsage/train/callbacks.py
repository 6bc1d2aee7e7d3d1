"""Training progress: a transformers ``TrainerCallback`` that reports to :mod:`medsage.progress`.

Optimiser steps become the ``steps`` stage (rate, ETA and the last logged loss), evaluation
batches the ``eval`` stage, both through a :data:`~medsage.progress.StageCallback`
(the CLI passes a :class:`~medsage.progress.StageProgress`). transformers' own tqdm bars are
off (``disable_tqdm``), so this is the one progress display of ``medsage train``.
"""

from __future__ import annotations

from typing import Any

from medsage.progress import StageCallback


class TrainProgress:
    """The callback's logic, free of transformers (the hooks take duck-typed ``state`` objects).

    A resumed run counts from the checkpoint's step, so the rate and ETA are those of this
    run; an evaluation ends the ``steps`` stage and the next step starts a new one.

    Args:
        progress: Receives ``("steps", done, total)`` and ``("eval", batches, total)``.
    """

    def __init__(self, progress: StageCallback) -> None:
        self.progress = progress
        self.loss: float | None = None
        self._from: int | None = None  # the global step the current ``steps`` stage started at
        self._eval = 0

    def _steps(self, state: Any) -> None:
        step, total = int(state.global_step), int(state.max_steps or 0)
        if self._from is None:
            self._from = step
        self._describe()  # before the step, so its line shows the loss
        self.progress("steps", step - self._from, max(0, total - self._from))
        self._describe()  # a stage the call just started

    def _describe(self) -> None:
        current = getattr(self.progress, "current", None)
        if self.loss is not None and current is not None:
            current.describe(f"loss {self.loss:.4g}")

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Start the ``steps`` stage at the current step (a resumed run counts the steps left)."""
        self._from = None
        self._steps(state)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Advance the ``steps`` stage, showing the last loss."""
        self._steps(state)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        """Keep the logged training loss for the progress line."""
        if logs and isinstance(logs.get("loss"), (int, float)):
            self.loss = float(logs["loss"])

    def on_prediction_step(self, args: Any, state: Any, control: Any, eval_dataloader: Any = None,
                           **kwargs: Any) -> None:
        """Advance the ``eval`` stage by one batch."""
        try:
            total = len(eval_dataloader) if eval_dataloader is not None else 0
        except TypeError:  # an iterable dataset has no length
            total = 0
        self._eval += 1
        self.progress("eval", self._eval, total)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """End the ``eval`` stage; the next step starts a new ``steps`` stage."""
        self.progress("eval", self._eval, self._eval)  # ends the stage (also when total was unknown)
        self._eval = 0
        self._from = None  # the next step starts a new ``steps`` stage


def progress_callback(progress: StageCallback) -> Any:
    """A ``transformers.TrainerCallback`` that reports to ``progress`` (needs the ``[train]`` extra)."""
    from transformers import TrainerCallback

    class _Callback(TrainProgress, TrainerCallback):
        """:class:`TrainProgress` as a trainer callback."""

    return _Callback(progress)
