"""A tiny data folder in the layout of ../shared/data: a few rows of each exam format."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

MCMLE_DEV = [
    {"question": "急性心肌梗死最早升高的血清标志物是", "options": {"A": "肌钙蛋白I", "B": "肌红蛋白", "C": "肌酸激酶",
     "D": "乳酸脱氢酶", "E": "天冬氨酸氨基转移酶"}, "answer_idx": "B", "meta_info": "内科"},
    {"question": "男，65岁。反复咳嗽咳痰二十年，近三年活动后气促加重，桶状胸，最可能的诊断是", "options": {"A": "慢性阻塞性肺疾病",
     "B": "支气管哮喘", "C": "肺结核", "D": "支气管扩张", "E": "肺癌"}, "answer_idx": "A", "meta_info": "内科"},
    {"question": "治疗癫痫失神发作的首选药物是哪一种抗癫痫药物呢请选择", "options": {"A": "苯妥英钠", "B": "卡马西平",
     "C": "乙琥胺", "D": "苯巴比妥", "E": "地西泮"}, "answer_idx": "C", "meta_info": "药理"},
    {"question": "成人心肺复苏时胸外按压的频率应为每分钟多少次才符合指南要求", "options": {"A": "60～80次", "B": "80～100次",
     "C": "100～120次", "D": "120～140次", "E": "以上都不对"}, "answer_idx": "C", "meta_info": "急救"},
]
# The test file holds a copy of the second dev item (the dev item must be removed).
MCMLE_TEST = [
    {"question": "男，65岁。反复咳嗽咳痰二十年，近三年活动后气促加重，桶状胸，最可能的诊断是", "options": {"A": "慢性阻塞性肺疾病",
     "B": "支气管哮喘", "C": "肺结核", "D": "支气管扩张", "E": "肺癌"}, "answer_idx": "A", "meta_info": "内科"},
]
CNMLEQA = [
    {"id": 1, "question": "维生素B12缺乏最常引起的贫血类型是下列哪一种贫血", "opa": "缺铁性贫血", "opb": "巨幼细胞贫血",
     "opc": "再生障碍性贫血", "opd": "溶血性贫血", "ope": "地中海贫血", "answer": "opb", "year": 2018, "question_type": "知识问答"},
    {"id": 2, "question": "大叶性肺炎最常见的病原体是以下哪一种微生物病原体", "opa": "肺炎链球菌", "opb": "金黄色葡萄球菌",
     "opc": "肺炎克雷伯菌", "opd": "铜绿假单胞菌", "ope": "军团菌", "answer": "opa", "year": 2019, "question_type": "知识问答"},
    {"id": 3, "question": "甲状腺功能亢进症患者最具特征性的眼部表现是哪一项", "opa": "眼睑水肿", "opb": "结膜充血",
     "opc": "突眼", "opd": "视力下降", "ope": "复视", "answer": "opc", "year": 2020, "question_type": "知识问答"},
]
CMEXAM = [
    ["Question", "Options", "Answer", "Explanation"],
    ["上消化道出血表现为呕血或黑便，主要取决于", "A 原发病\\nB 出血部位\\nC 出血量\\nD 在胃内停留时间\\nE 以上均非", "C",
     "表现为呕血还是便血主要取决于出血的速度和出血量（C对），出血部位（B错）、原发病（A错）相对次要。"],
    ["夜间阵发性呼吸困难可见于下列哪种疾病", "A 急性脑血管疾病\\nB 癔病\\nC 毒血症\\nD 慢性阻塞性肺气肿\\nE 左心功能不全", "E",
     "夜间阵发性呼吸困难是心源性呼吸困难，见于左心功能不全（E对）。癔病（B错）为精神性呼吸困难。"],
    ["下列属于多选题的条目", "A 甲\\nB 乙\\nC 丙\\nD 丁\\nE 戊", "AB", "多选题被跳过。"],
]
CMB_SAMPLE = [
    {"question": "小儿易患中耳炎的主要解剖学原因是下列哪一项", "options": "(A) 后鼻道狭窄.\n(B) 鼻腔相对较小.\n(C) 鼻窦口大.\n"
     "(D) 咽鼓管宽、短、直.\n(E) 喉部较长.", "answer": "(D)", "source": "cmb-single"},
    {"question": "阻塞性肺气肿肺功能检查最有价值的指标是哪一项检查", "options": "(A) 潮气量.\n(B) 肺活量.\n(C) 流量曲线.\n"
     "(D) 残气量占肺总量百分比.\n(E) 二氧化碳结合力.", "answer": "(D)", "source": "cmb-single"},
    {"question": "有机磷农药中毒时使用阿托品的主要作用机制是什么", "options": "(A) 复活胆碱酯酶.\n(B) 阻断M受体.\n(C) 阻断N受体.\n"
     "(D) 促进排泄.\n(E) 镇静.", "answer": "(B)", "source": "cmb-single"},
]
CMMLU_DEV = ",Question,A,B,C,D,Answer\n0,人体最大的器官是,肝脏,皮肤,肺,脑,B\n1,正常成人红细胞的平均寿命约为,30天,60天,120天,365天,C\n"
MEDMCQA = [
    {"id": f"m{i}", "question": q, "opa": a, "opb": b, "opc": c, "opd": d, "cop": cop, "exp": exp, "subject_name": "Medicine"}
    for i, (q, a, b, c, d, cop, exp) in enumerate([
        ("Drug of choice for absence seizures in a young child is", "Phenytoin", "Ethosuximide", "Carbamazepine",
         "Phenobarbitone", 2, "Ans. is 'b' i.e., Ethosuximide. Ethosuximide blocks T-type calcium channels in thalamic neurons."),
        ("Most common site of carcinoid tumour in the gastrointestinal tract is", "Appendix", "Ileum", "Rectum", "Stomach", 1,
         "Ans-a. Appendix. The appendix is the classic site; small-bowel carcinoids are more often malignant."),
        ("Deficiency of which vitamin causes night blindness in children", "Vitamin A", "Vitamin B1", "Vitamin C",
         "Vitamin D", 1, ""),
        ("Nerve supplying the diaphragm arising from C3 C4 C5 roots of cervical plexus", "Vagus", "Intercostal",
         "Accessory", "Phrenic", 4, "The phrenic nerve (C3-C5) is the sole motor supply of the diaphragm."),
        ("Which of the following is a tumour marker for hepatocellular carcinoma in adults", "CEA", "AFP", "CA-125",
         "PSA", 2, "AFP is raised in hepatocellular carcinoma and yolk-sac tumours."),
        ("Which of the following is not a branch of the external carotid artery in the neck", "Facial", "Lingual",
         "Ophthalmic", "Occipital", 3, "Ophthalmic artery is a branch of the internal carotid."),
        ("Investigation of choice for detecting small amounts of pneumoperitoneum in trauma", "CT scan", "X-ray",
         "Ultrasound", "All of the above", 1, "CT detects small amounts of free air."),
    ], 1)
]
MEDQA_US = [
    {"question": "A 45-year-old man presents with crushing chest pain radiating to the left arm for two hours. "
     "What is the next best step?", "options": {"A": "ECG", "B": "Discharge", "C": "Antacids", "D": "Colonoscopy"},
     "answer_idx": "A", "meta_info": "step2&3"},
]


def _xlsx(rows: list[list[str]]) -> bytes:
    """A minimal one-sheet workbook with inline strings (what read_xlsx_rows reads)."""
    def ref(r: int, c: int) -> str:
        return f"{chr(65 + c)}{r + 1}"
    body = "".join(
        f'<row r="{r + 1}">' + "".join(f'<c r="{ref(r, c)}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                                       for c, v in enumerate(row)) + "</row>" for r, row in enumerate(rows))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             f'spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def _jsonl(path: Path, rows: list[dict]) -> None:  # type: ignore[type-arg]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")


def make_root(root: Path) -> Path:
    """Write the tiny data folder under ``root`` and return it."""
    ex = root / "exams"
    _jsonl(ex / "medqa_mcmle" / "dev.jsonl", MCMLE_DEV)
    _jsonl(ex / "medqa_mcmle" / "test.jsonl", MCMLE_TEST)
    (ex / "cnmleqa_3k_2017_2020.json").write_text(json.dumps(CNMLEQA, ensure_ascii=False), encoding="utf-8")
    (ex / "cmexam_val.xlsx").write_bytes(_xlsx(CMEXAM))
    _jsonl(ex / "cmb_exam_sample.jsonl", CMB_SAMPLE)
    (ex / "cmmlu_medical" / "dev").mkdir(parents=True)
    (ex / "cmmlu_medical" / "dev" / "anatomy.csv").write_text(CMMLU_DEV, encoding="utf-8")
    _jsonl(ex / "medmcqa_dev.json", MEDMCQA)
    _jsonl(ex / "medqa_us_4options_test.jsonl", MEDQA_US)
    return root


def cmexam_csv(path: Path) -> Path:
    """The CMExam rows as the CSV the original release ships (real newlines in options)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        for row in CMEXAM:
            w.writerow([c.replace("\\n", "\n") for c in row])
    return path
