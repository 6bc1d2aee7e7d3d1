"""De-identification of clinical text (English and Chinese), reversible or irreversible.

Detected identifier types: ``PERSON``, ``PHONE``, ``CN_RESIDENT_ID`` (18-digit
resident ID, checksum validated), ``MEDICAL_ID`` (medical record, inpatient,
outpatient, insurance, SSN, NHS … numbers), ``ADDRESS``, ``DATE``, ``EMAIL``,
``IP``, ``URL``.

Modes:

* ``pseudonymise`` (reversible) — identifiers become tokens such as
  ``[PERSON-3f9a2c]`` derived with HMAC from a secret in a local key file, so the
  same value gets the same token across documents; dates are shifted by a
  per-key offset (intervals are preserved). :func:`reidentify` restores the
  original text with the same key file — keep that file inside the firewall:
  it holds the original identifiers.
* ``redact`` (irreversible) — identifiers become ``[PERSON]``, ``[PHONE]`` …;
  dates are shifted by a random offset that is not stored.

Modules: :mod:`~medsage.safety.deid.core` (detection, resolution, the
:func:`deidentify` / :func:`reidentify` API), :mod:`~medsage.safety.deid.keys`
(the key file), :mod:`~medsage.safety.deid.patterns` (identifier regexes, the
name lexicon, resident-ID checksum), :mod:`~medsage.safety.deid.names` (person
names) and :mod:`~medsage.safety.deid.dates` (date parsing and shifting).

>>> res = deidentify("患者张伟，男，45岁，电话13812345678。", mode="redact")
>>> res.text
'患者[PERSON]，男，45岁，电话[PHONE]。'
"""

from __future__ import annotations

from medsage.safety.deid.core import DeidResult, Entity, deidentify, detect, reidentify
from medsage.safety.deid.dates import shift_date
from medsage.safety.deid.keys import KeyStore
from medsage.safety.deid.patterns import TYPES, cn_id_valid

__all__ = [
    "TYPES",
    "DeidResult",
    "Entity",
    "KeyStore",
    "cn_id_valid",
    "deidentify",
    "detect",
    "reidentify",
    "shift_date",
]
