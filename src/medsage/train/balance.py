"""Balance the answer letters of exam records before fine-tuning.

Exam sources have skewed keys (in MedMCQA's dev set "A" is the key of a third of
the items). A small model fine-tuned on them can learn the letter prior instead
of the medicine and answer "A" to everything, which scores exactly the share of
"A" keys and looks like a gain on an equally skewed test set. ``balance_keys``
moves each record's correct option to a letter chosen round-robin (seeded order),
swapping it with the option that was there, so every letter is the key equally
often. The user prompt and the assistant answer are rewritten from the record's
``meta``; an explanation that names the old letter in its opening ("Ans. is 'a'")
loses that clause, because the letter would now be wrong.

Balancing is necessary, not sufficient: in benchmarks/train a balanced run of
SmolLM2-135M still collapsed onto one or two letters (see its README).
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from typing import Any

from medsage.train.records import Record
from medsage.train.sources.builders import answer_text

_ANS_CLAUSE = re.compile(r"^\s*(?:ans(?:wer)?\.?(?:\s+is)?|答案)\s*[:：\-]?\s*['\"‘“(]?[a-hA-H]['\"’”)]?\s*(?:i\.?\s?e\.?\s*,?)?\s*",
                         re.IGNORECASE)


def balance_keys(records: list[Record], seed: int = 0) -> tuple[list[Record], dict[str, Any]]:
    """Return ``records`` with exam keys spread evenly over the option letters, and stats.

    Records that are not exam items (``meta.kind != "exam"``) or whose ``meta`` lacks
    the choices/answer, or whose prompt does not contain the options block, pass
    through unchanged and are counted in ``stats["unchanged"]``.
    """
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    counters: dict[int, int] = {}
    out = list(records)
    stats: dict[str, Any] = {"moved": 0, "kept_in_place": 0, "unchanged": 0, "keys_after": {}}
    for idx in order:
        rec = records[idx]
        meta = rec.meta or {}
        choices: dict[str, str] = meta.get("choices") or {}
        key = meta.get("answer")
        user = rec.messages[0]["content"] if rec.messages and rec.messages[0]["role"] == "user" else ""
        old_opts = "\n".join(f"{k}. {v}" for k, v in choices.items())
        if meta.get("kind") != "exam" or key not in choices or not old_opts or old_opts not in user:
            stats["unchanged"] += 1
            continue
        letters = list(choices)
        n = counters.get(len(letters), 0)
        counters[len(letters)] = n + 1
        target = letters[n % len(letters)]
        new_choices = dict(choices)
        new_choices[key], new_choices[target] = choices[target], choices[key]
        new_opts = "\n".join(f"{k}. {v}" for k, v in new_choices.items())
        explanation = str(meta.get("explanation") or "").strip()
        if target != key:
            explanation = _ANS_CLAUSE.sub("", explanation, count=1).lstrip(" .,;:-")
            stats["moved"] += 1
        else:
            stats["kept_in_place"] += 1
        zh = rec.language == "zh"
        answer = answer_text(target, new_choices[target], zh, explanation)
        messages = [{"role": "user", "content": user.replace(old_opts, new_opts, 1)},
                    {"role": "assistant", "content": answer}] + [dict(m) for m in rec.messages[2:]]
        new_meta = meta | {"answer": target, "choices": new_choices, "explanation": explanation,
                           "original_answer": key}
        out[idx] = replace(rec, messages=messages, meta=new_meta)
        stats["keys_after"][target] = stats["keys_after"].get(target, 0) + 1
    stats["keys_after"] = dict(sorted(stats["keys_after"].items()))
    return out, stats
