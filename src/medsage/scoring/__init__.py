"""Answer extraction, metrics and statistics."""

from medsage.scoring.extract import choice_from_logprobs, extract_choice
from medsage.scoring.stats import bootstrap_ci, bootstrap_std, mean_ci, wilson_ci

__all__ = ["bootstrap_ci", "bootstrap_std", "choice_from_logprobs", "extract_choice", "mean_ci", "wilson_ci"]
