"""Department recruitment rules: which specialties a case text calls for.

Keyword rules in English and Chinese; each hit is kept as evidence, so the
trace can say *why* a specialist was recruited. Deliberately transparent: a
clinician can read and extend the lists below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medsage.lang import normalise

GENERAL = "internal_medicine"


@dataclass(frozen=True)
class Department:
    """One specialty with its display names and trigger keywords."""

    key: str
    en: str
    zh: str
    en_terms: tuple[str, ...]
    zh_terms: tuple[str, ...]


def _d(key: str, en: str, zh: str, en_terms: str, zh_terms: str) -> Department:
    return Department(key, en, zh, tuple(en_terms.split("|")), tuple(zh_terms.split("|")))


DEPARTMENTS: tuple[Department, ...] = (
    _d("cardiology", "cardiologist", "心内科医生",
       "chest pain|palpitation|murmur|myocardial|infarction|angina|heart failure|arrhythmia|atrial|ventricular|ecg|ekg|troponin|hypertension|blood pressure|syncope|cardiac|coronary|endocarditis|pericard|aortic|mitral|tachycardia|bradycardia",
       "胸痛|心悸|杂音|心肌|心梗|心绞痛|心衰|心力衰竭|心律|房颤|室颤|心电图|肌钙蛋白|高血压|晕厥|心脏|冠心病|冠状动脉|心内膜|心包|主动脉|二尖瓣|心动过速|心动过缓"),
    _d("endocrinology", "endocrinologist", "内分泌科医生",
       "diabetes|glucose|insulin|hba1c|thyroid|tsh|thyroxine|cortisol|cushing|addison|adrenal|pituitary|prolactin|calcium|parathyroid|polyuria|polydipsia|obesity|ketoacidosis",
       "糖尿病|血糖|胰岛素|糖化血红蛋白|甲状腺|甲亢|甲减|皮质醇|库欣|肾上腺|垂体|催乳素|甲状旁腺|多尿|多饮|肥胖|酮症"),
    _d("oncology", "oncologist", "肿瘤科医生",
       "cancer|tumor|tumour|carcinoma|malignan|metasta|lymphoma|sarcoma|chemotherapy|radiotherapy|neoplasm|mass|biopsy|oncolog",
       "癌|肿瘤|恶性|转移|淋巴瘤|肉瘤|化疗|放疗|肿块|包块|活检|占位"),
    _d("paediatrics", "paediatrician", "儿科医生",
       "infant|newborn|neonat|child|boy|girl|toddler|month-old|pediatric|paediatric|vaccination|developmental milestone",
       "婴儿|新生儿|患儿|小儿|儿童|幼儿|男孩|女孩|月龄|个月大|疫苗|发育"),
    _d("neurology", "neurologist", "神经内科医生",
       "headache|seizure|stroke|weakness|numbness|paralysis|ataxia|tremor|dementia|neuropathy|reflex|cranial nerve|diplopia|vertigo|meningitis|consciousness|aphasia|parkinson|multiple sclerosis",
       "头痛|癫痫|抽搐|卒中|中风|脑梗|偏瘫|无力|麻木|瘫痪|共济失调|震颤|痴呆|神经|反射|复视|眩晕|脑膜炎|意识|失语|帕金森|脑出血"),
    _d("pulmonology", "pulmonologist", "呼吸科医生",
       "cough|dyspnea|dyspnoea|shortness of breath|wheez|asthma|copd|pneumonia|pulmonary|lung|pleural|sputum|hemoptysis|tuberculosis|oxygen saturation",
       "咳嗽|呼吸困难|气促|气短|喘|哮喘|慢阻肺|肺炎|肺|胸腔积液|咳痰|咯血|结核|血氧"),
    _d("gastroenterology", "gastroenterologist", "消化科医生",
       "abdominal pain|nausea|vomit|diarrhea|diarrhoea|constipation|jaundice|liver|hepat|cirrhosis|pancrea|gastr|bowel|colitis|crohn|melena|hematemesis|dysphagia|bilirubin",
       "腹痛|恶心|呕吐|腹泻|便秘|黄疸|肝|胰腺|胃|肠|结肠炎|克罗恩|黑便|呕血|吞咽困难|胆红素|胆囊"),
    _d("nephrology", "nephrologist", "肾内科医生",
       "kidney|renal|creatinine|proteinuria|hematuria|dialysis|nephr|glomerul|edema|oedema|electrolyte|potassium|sodium",
       "肾|肌酐|蛋白尿|血尿|透析|肾小球|水肿|电解质|血钾|血钠"),
    _d("infectious_disease", "infectious-disease specialist", "感染科医生",
       "fever|infection|sepsis|antibiotic|hiv|virus|viral|bacteria|culture|fungal|parasite|malaria|abscess|hepatitis b|hepatitis c",
       "发热|发烧|感染|脓毒|抗生素|艾滋|病毒|细菌|培养|真菌|寄生虫|疟疾|脓肿|乙肝|丙肝"),
    _d("obstetrics_gynaecology", "obstetrician-gynaecologist", "妇产科医生",
       "pregnan|gestation|menstrua|amenorrhea|vaginal|uterus|uterine|ovari|cervical|postpartum|in labor|in labour|contracept|weeks' gestation|trimester",
       "妊娠|怀孕|孕|月经|闭经|阴道|子宫|卵巢|宫颈|产后|分娩|避孕|流产|白带"),
    _d("surgery", "general surgeon", "外科医生",
       "surgery|surgical|appendicitis|hernia|trauma|laceration|fracture|obstruction|perforation|acute abdomen|wound|postoperative|incarcerated",
       "手术|外科|阑尾炎|疝|外伤|创伤|骨折|梗阻|穿孔|急腹症|伤口|术后|嵌顿"),
    _d("orthopaedics", "orthopaedic surgeon", "骨科医生",
       "bone|joint|fracture|back pain|spine|knee|hip|shoulder|osteo|ligament|tendon",
       "骨|关节|腰痛|脊柱|膝|髋|肩|韧带|肌腱"),
    _d("psychiatry", "psychiatrist", "精神科医生",
       "depress|anxiety|psychos|hallucination|delusion|suicid|bipolar|schizophren|mania|insomnia|substance|alcohol use|panic",
       "抑郁|焦虑|精神|幻觉|妄想|自杀|双相|精神分裂|躁狂|失眠|成瘾|酗酒|惊恐"),
    _d("haematology", "haematologist", "血液科医生",
       "anemia|anaemia|hemoglobin|haemoglobin|platelet|bleeding|coagul|leukemia|leukaemia|thrombo|sickle|ferritin|pancytopenia|bruising",
       "贫血|血红蛋白|血小板|出血|凝血|白血病|血栓|铁蛋白|全血细胞减少|瘀斑"),
    _d("rheumatology", "rheumatologist", "风湿免疫科医生",
       "arthritis|lupus|rheumat|vasculitis|gout|autoimmune|ana |antinuclear|sjogren|scleroderma|spondyl",
       "关节炎|狼疮|风湿|血管炎|痛风|自身免疫|抗核抗体|干燥综合征|硬皮病|强直"),
    _d("dermatology", "dermatologist", "皮肤科医生",
       "rash|skin|lesion|pruritus|itch|eczema|psoriasis|urticaria|vesicle|papule|melanoma",
       "皮疹|皮肤|瘙痒|湿疹|银屑病|荨麻疹|水疱|丘疹|黑色素瘤|痤疮"),
    _d("urology", "urologist", "泌尿外科医生",
       "urinary|dysuria|prostate|testicular|scrotal|bladder|urethr|kidney stone|renal colic",
       "尿频|尿急|尿痛|前列腺|睾丸|阴囊|膀胱|尿道|结石|肾绞痛"),
    _d("emergency", "emergency physician", "急诊科医生",
       "emergency department|unconscious|shock|hypotension|cardiac arrest|resuscitat|overdose|poisoning|anaphyla|acute",
       "急诊|昏迷|休克|低血压|心脏骤停|复苏|过量|中毒|过敏性休克|急性"),
)
BY_KEY: dict[str, Department] = {d.key: d for d in DEPARTMENTS}
GENERAL_DEPARTMENT = Department(GENERAL, "general internist", "全科/内科医生", (), ())
BY_KEY[GENERAL] = GENERAL_DEPARTMENT


@dataclass(frozen=True)
class DepartmentMatch:
    """A department with the case phrases that triggered it."""

    department: Department
    hits: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        """The matched department's key."""
        return self.department.key


def _en_pattern(term: str) -> re.Pattern[str]:
    # prefix match at a word start ("metasta" matches "metastasis"); whole word for short terms
    end = r"\b" if len(term) <= 4 else ""
    return re.compile(r"\b" + re.escape(term) + end, re.IGNORECASE)


_EN_PATTERNS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    d.key: [(t, _en_pattern(t)) for t in d.en_terms] for d in DEPARTMENTS
}


def match_departments(text: str) -> list[DepartmentMatch]:
    """Departments whose keywords occur in ``text``, most hits first (ties: list order)."""
    text = normalise(text)[0]
    matches: list[DepartmentMatch] = []
    for dept in DEPARTMENTS:
        hits = [t for t, pat in _EN_PATTERNS[dept.key] if pat.search(text)]
        hits += [t for t in dept.zh_terms if t and t in text]
        if hits:
            matches.append(DepartmentMatch(dept, tuple(hits)))
    order = {d.key: i for i, d in enumerate(DEPARTMENTS)}
    matches.sort(key=lambda m: (-len(m.hits), order[m.key]))
    return matches


def recruit(text: str, max_specialists: int, minimum: int = 1) -> list[DepartmentMatch]:
    """Pick up to ``max_specialists`` departments for ``text``.

    The general internist fills the panel when fewer than ``minimum`` specialties
    match (and is the only member when nothing matches at all).
    """
    picked = match_departments(text)[: max(max_specialists, 0)]
    if len(picked) < min(minimum, max_specialists) or not picked:
        picked.append(DepartmentMatch(GENERAL_DEPARTMENT, ()))
    return picked[: max(max_specialists, 1)]
