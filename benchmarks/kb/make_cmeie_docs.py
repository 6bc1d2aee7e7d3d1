"""Turn CMeIE's Chinese textbook sentences into one Markdown document per disease.

CMeIE (CBLUE, research terms — read from your path, never shipped) holds sentences of
Chinese medical textbooks as ``{"text": "疾病@句子", ...}`` lines. This groups them by the
disease before ``@`` so ``medsage kb build docs:DIR`` can index a Chinese knowledge base
for the CNMLEQA lift run:

    python benchmarks/kb/make_cmeie_docs.py --cmeie ../shared/data/knowledge/cblue/CMeIE --out benchmarks/out/cmeie_docs
    medsage kb build --no-dense --out benchmarks/out/cmeie_kb docs:benchmarks/out/cmeie_docs
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out")
    ap.add_argument("--cmeie", required=True, type=Path)
    args = ap.parse_args()
    if not args.out:
        ap.error("--out FOLDER is required")
    args.out = Path(args.out)
    topics: dict[str, list[str]] = defaultdict(list)
    for path in sorted(args.cmeie.glob("CMeIE_*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            text = json.loads(line).get("text", "")
            topic, _, sentence = text.partition("@")
            # some source sentences start with Markdown-like "## 案例": keep them as body text
            sentence = sentence.strip().lstrip("#").strip()
            if sentence:
                topics[topic.strip().lstrip("\ufeff") or "其他"].append(sentence)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, (topic, sentences) in enumerate(sorted(topics.items())):
        name = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", topic)[:40] or f"topic{i}"
        body = "\n\n".join(dict.fromkeys(sentences))
        (args.out / f"{i:04d}_{name}.md").write_text(f"# {topic}\n\n{body}\n", encoding="utf-8")
    counts = {"documents": len(topics), "sentences": sum(len(v) for v in topics.values())}
    # beside the folder, not in it: everything in it is ingested as a document
    write_json(args.out.with_name(args.out.name + ".provenance.json"), counts)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
