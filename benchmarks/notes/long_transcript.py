"""Bad-input check: a >2-hour transcript (PriMock57 consultations concatenated) through the
note pipeline with a stub model, to show the call budget and the warning it produces.

    python benchmarks/notes/long_transcript.py --primock ../shared/data/notes/primock57 -n 14
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

from medsage.models.base import get_model
from medsage.notes.formats import load_transcript
from medsage.notes.service import NoteOptions, make_note, transcript_from_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, deprecated_alias, write_json  # noqa: E402


async def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "limit", "out",
                      limit=14, out="benchmarks/notes/results/long_transcript.json")
    deprecated_alias(ap, "-n", "--limit", type=int)
    ap.add_argument("--primock", default=None, help="PriMock57 folder (default DATA_ROOT/notes/primock57)")
    args = ap.parse_args()
    args.primock = args.primock or str(Path(args.data_root) / "notes" / "primock57")
    stems = sorted({re.sub(r"_(doctor|patient)$", "", p.stem) for p in Path(args.primock).glob("*.TextGrid")})
    lines: list[str] = []
    minutes = 0.0
    for stem in stems[: args.limit]:
        tr = load_transcript(Path(args.primock) / stem)
        minutes += (tr.turns[-1].end or 0) / 60
        lines += [f"{t.role.capitalize()}: {t.text}" for t in tr.turns]
    t0 = time.perf_counter()
    tr = transcript_from_text("\n".join(lines))
    note = await make_note(tr, get_model("mock/fixed", {"text": "- The patient reports diarrhea."}), NoteOptions())
    res = {"consultations": len(stems[: args.limit]), "audio_minutes": round(minutes, 1), "turns": len(tr.turns),
           "words": sum(len(x.split()) for x in lines), "seconds_without_model": round(time.perf_counter() - t0, 2),
           "stats": note.stats, "warnings": note.warnings}
    print(json.dumps(res, indent=1))
    write_json(args.out, res)


if __name__ == "__main__":
    asyncio.run(main())
