"""Prompt texts for note drafting (English and Chinese), kept short for small models."""

from __future__ import annotations

from medsage.notes.templates import Section, Template

MAP = {
    "en": ("Conversation excerpt between a doctor and a patient:\n{chunk}\n\n"
           "List the medical facts from this excerpt as short bullet points, one per line, "
           "in the third person (for example '- The patient reports knee pain for 2 weeks.'). "
           "Include symptoms, durations, history, medications with doses, allergies, exam findings, "
           "test results, diagnoses and plans. Only write what was said."),
    "zh": ("以下是医生和患者对话的一部分：\n{chunk}\n\n"
           "请用简短的要点逐条列出其中的医学事实（每行一条，以“-”开头），包括症状、持续时间、既往史、"
           "用药及剂量、过敏、查体、检查结果、诊断和处理。只写对话中说过的内容。"),
}
SECTION = {
    "en": ("Facts from a doctor-patient consultation:\n{facts}\n\n"
           "Write the \"{title}\" section of the clinic note. {instruction} "
           "Use only these facts, in 1 to 4 sentences. If no fact belongs in this section, "
           "write exactly: Not documented."),
    "zh": ("一次门诊问诊中的事实：\n{facts}\n\n"
           "请写出门诊病历的“{title}”部分。{instruction}"
           "只使用上述事实，写1到4句。如果没有相关事实，只写：未提及。"),
}
SYSTEM = {
    "en": "You are a careful medical scribe. You write concise clinical notes and never invent facts.",
    "zh": "你是一名严谨的医疗记录员，书写简洁的门诊病历，绝不编造事实。",
}
EMPTY = {"en": ("not documented", "none documented", "n/a", "none."), "zh": ("未提及", "无相关", "无。")}


def plain_note_prompt(transcript_text: str, template: Template, lang: str) -> str:
    """The single-shot baseline prompt: the whole conversation and the template headings."""
    heads = "\n".join(f"{s.title}:" for s in template.sections)
    if lang == "zh":
        return (f"根据以下医患对话，写一份门诊病历，按这些标题分段：\n{heads}\n\n对话：\n{transcript_text}\n\n病历：")
    return ("Write a clinical note for the following doctor-patient conversation, using these "
            f"section headings:\n{heads}\n\nConversation:\n{transcript_text}\n\nClinical note:")


def section_prompt(section: Section, facts: list[str], lang: str) -> str:
    """The prompt that writes one template section from the extracted ``facts``."""
    key = "zh" if lang == "zh" else "en"
    body = "\n".join(f"- {f}" for f in facts) if facts else ("（无）" if key == "zh" else "(none)")
    return SECTION[key].format(facts=body, title=section.title, instruction=section.instruction)


def map_prompt(chunk: str, lang: str) -> str:
    """The prompt that lists the clinical facts in one transcript chunk (the map step)."""
    return MAP["zh" if lang == "zh" else "en"].format(chunk=chunk)
