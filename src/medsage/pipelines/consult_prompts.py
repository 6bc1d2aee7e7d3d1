"""Prompts of the consultation agents, in English and Chinese."""

from __future__ import annotations

PROMPTS: dict[str, dict[str, str]] = {
    "en": {
        "specialist_system": "You are an experienced {role} on a multidisciplinary team. "
        "Reason from the case findings, stay within the evidence, and be concise.",
        "mcq_task": "{question}\n\nAs the {role}, choose the single best option. Reply in the form "
        "'The answer is X. Rationale: <one sentence>', where X is the option letter.",
        "open_task": "Case:\n{question}\n\nAs the {role}, give your opinion in at most five "
        "sentences: your assessment, the plan you recommend, and the case findings it rests on.",
        "focus": "Findings relevant to your specialty: {hits}.",
        "evidence": "Reference evidence (cite by number when you use it):\n{evidence}",
        "caveats": "Note on the case record: {caveats}",
        "discussion": "Your colleagues' current opinions:\n{opinions}\n\nReconsider in the light of "
        "their arguments. Keep your answer if you still hold it, change it if they convinced you.",
        "mcq_discussion_tail": "Reply in the form 'The answer is X. Rationale: <one sentence>'.",
        "moderator_system": "You are the chair of a multidisciplinary team meeting. You synthesise "
        "the specialists' opinions into one plan and record disagreements faithfully.",
        "moderator_open": "Case:\n{question}\n\nSpecialists' final opinions:\n{opinions}\n\n"
        "Write the team's consensus (assessment and plan) in at most six sentences, then a line "
        "starting with 'Dissent:' naming any specialist who disagrees and why (or 'Dissent: none').",
        "moderator_mcq": "{question}\n\nSpecialists' final opinions:\n{opinions}\n\nThe votes are "
        "tied between {tied}. Choose the single best option. Reply in the form 'The answer is X'.",
        "answer": "The answer is {letter}.",
        "no_answer": "No answer: no specialist gave a usable reply.",
    },
    "zh": {
        "specialist_system": "你是多学科诊疗团队中经验丰富的{role}。请依据病例资料推理，不要超出证据，回答简洁。",
        "mcq_task": "{question}\n\n请以{role}的身份选出唯一最佳答案，并以“答案：X。理由：<一句话>”的格式作答（X为选项字母）。",
        "open_task": "病例：\n{question}\n\n请以{role}的身份，用不超过五句话给出意见：你的判断、建议的处理方案以及所依据的病例资料。",
        "focus": "与你专科相关的资料：{hits}。",
        "evidence": "参考证据（引用时请标注编号）：\n{evidence}",
        "caveats": "病历提示：{caveats}",
        "discussion": "其他专家目前的意见：\n{opinions}\n\n请结合他们的论点重新考虑。仍坚持则保留原答案，被说服则修改。",
        "mcq_discussion_tail": "请以“答案：X。理由：<一句话>”的格式作答。",
        "moderator_system": "你是多学科会诊（MDT）的主持人，负责把各专家意见综合成一个方案，并如实记录分歧。",
        "moderator_open": "病例：\n{question}\n\n各专家的最终意见：\n{opinions}\n\n"
        "请用不超过六句话写出团队共识（判断与处理方案），然后另起一行以“分歧：”开头，写明持不同意见的专家及理由（没有则写“分歧：无”）。",
        "moderator_mcq": "{question}\n\n各专家的最终意见：\n{opinions}\n\n投票在{tied}之间持平。请选出唯一最佳答案，以“答案：X”的格式作答。",
        "answer": "答案：{letter}",
        "no_answer": "无答案：没有专家给出可用的回复。",
    },
}


def prompt(lang: str, key: str, **values: str) -> str:
    """The prompt ``key`` in ``lang`` (English for languages without their own prompts)."""
    table = PROMPTS.get(lang, PROMPTS["en"])
    return table[key].format(**values)
