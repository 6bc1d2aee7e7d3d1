"""The frozen held-out "which department" sets parse, and name only departments of their lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsage.route.deptlist import read_names, sample_list_path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "route"
LISTS = {"zh": BENCH / "lists" / "hospital_b_zh.txt", "en": BENCH / "lists" / "hospital_c_en.txt"}


@pytest.mark.parametrize("name", ["heldout_which.txt", "heldout_which_v3.txt"])
def test_heldout_rows_use_names_of_their_lists(name: str) -> None:
    l52 = set(read_names(sample_list_path()))
    alt = {lang: set(read_names(p)) for lang, p in LISTS.items()}
    rows = [ln for ln in (BENCH / name).read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert len(rows) >= 40
    for row in rows:
        lang, query, ref52, ref_alt = (p.strip() for p in row.split("||"))
        assert lang in alt and query
        assert bool(ref52) == bool(ref_alt), row
        assert set(filter(None, ref52.split("|"))) <= l52, row
        assert set(filter(None, ref_alt.split("|"))) <= alt[lang], row
