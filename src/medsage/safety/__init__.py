"""medsage's clinical safety layer.

Deterministic checks on patient context and on every draft answer or note, in
English and Chinese, failing closed:

* :func:`check` — everything at once; returns a :class:`SafetyReport` whose
  ``findings`` are :class:`medsage.types.Finding` objects (type, severity,
  message in the text's language, evidence, span, action).
* :func:`extract_medications` — drugs (generic, brand, Chinese, misspelt) with doses.
* :func:`triage` — red-flag urgency (``emergency`` / ``non_emergency`` / ``self_care``).
* :func:`evaluate_policy` — harmful-request refusal with a safe alternative.
* :mod:`medsage.safety.deid` — de-identification and reversible pseudonymisation.
"""

from medsage.safety.check import SafetyReport, check
from medsage.safety.context import ContextMedication, PatientContext
from medsage.safety.drugs import (
    Medication,
    drug_names,
    extract_medications,
    get_dictionary,
    resolve,
)
from medsage.safety.interactions import load_ddinter
from medsage.safety.policy import PolicyResult
from medsage.safety.policy import evaluate as evaluate_policy
from medsage.safety.triage import TriageResult, emergency_guidance, triage, triage_with_model

__all__ = [
    "ContextMedication",
    "Medication",
    "PatientContext",
    "PolicyResult",
    "SafetyReport",
    "TriageResult",
    "check",
    "drug_names",
    "emergency_guidance",
    "evaluate_policy",
    "extract_medications",
    "get_dictionary",
    "load_ddinter",
    "resolve",
    "triage",
    "triage_with_model",
]
