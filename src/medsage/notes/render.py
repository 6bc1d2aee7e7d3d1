"""Rendering a :class:`~medsage.notes.schema.Note` as Markdown (JSON is ``Note.to_dict``)."""

from __future__ import annotations

from medsage.notes.schema import Note
from medsage.types import DISCLAIMER

_L = {
    "en": {"title": "Draft clinical note", "evidence": "turns", "unsupported": "⚠ unsupported — possible hallucination",
           "omissions": "Said in the conversation but not in the note", "codes": "Coding suggestions (confirm before use)",
           "safety": "Medication safety", "warnings": "What this draft could not do", "none": "Not documented."},
    "zh": {"title": "门诊病历草稿", "evidence": "对话", "unsupported": "⚠ 无对话依据——可能为臆造",
           "omissions": "对话中提到但病历未记录", "codes": "诊断编码建议（使用前请核对）",
           "safety": "用药安全", "warnings": "本草稿未能完成的部分", "none": "未提及。"},
}


def to_markdown(note: Note) -> str:
    """Markdown with per-sentence evidence turn ids, flags, omissions, codes and safety."""
    L = _L["zh" if note.lang == "zh" else "en"]
    out = [f"# {L['title']}", "", f"> {DISCLAIMER}", ""]
    carried = note.safety.get("input") or {}
    if carried.get("guidance"):  # red flags in the conversation come first, as in `medsage safety check`
        out += [f"**{carried['guidance']}**", ""]
    blocking = [f for f in carried.get("findings", []) if f.get("action") == "block"]
    if blocking:
        out += [f"- **[{f.get('action')}]** {f.get('message', '')}" for f in blocking] + [""]
    for sec in note.sections:
        out.append(f"## {sec.title}")
        if not sec.sentences:
            out.append(L["none"])
        for s in sec.sentences:
            ev = f" [{L['evidence']}: {', '.join(s.turn_ids)}]" if s.supported and s.turn_ids else ""
            flag = f" **{L['unsupported']}**" if not s.supported else ""
            out.append(f"- {s.text}{ev}{flag}")
        out.append("")
    if note.omissions:
        out.append(f"## {L['omissions']}")
        out += [f"- {o.concept}{' (negated)' if o.negated else ''} [{', '.join(o.turn_ids)}]" for o in note.omissions]
        out.append("")
    if note.codes:
        out.append(f"## {L['codes']}")
        out += [f"- {c['code']} {c['description']} ← “{c['term']}”" for c in note.codes]
        out.append("")
    out.append(f"## {L['safety']}")
    st = note.safety.get("status", "unavailable")
    fs = note.safety.get("findings", [])
    if carried.get("urgency"):
        out.append(f"- triage: {carried['urgency']}")
    if st == "checked" or fs:
        out += [f"- [{f.get('action', '?')}] [{f.get('severity', '?')}] {f.get('message', '')}" for f in fs] \
            or ["- no findings"]
    if st != "checked":
        out.append(f"- {st}: {note.safety.get('message', '')}".rstrip(": "))
    out.append("")
    if note.warnings:
        out.append(f"## {L['warnings']}")
        out += [f"- {w}" for w in note.warnings]
    return "\n".join(out).rstrip() + "\n"
