"""Build the bundled ``exam-sample`` benchmark data (English and Chinese halves).

Only MIT-licensed sources are read: MedQA-US (USMLE 4-option test split), the
MedMCQA dev split and six medical MMLU test subjects (see
``/work/shared/data/SOURCES.md``). Everything the script chooses is decided by a
seeded SHA-256 rank (seed 2026 by default) plus the eligibility filters and
keyword tables below, so re-running it gives byte-identical output.

Steps:

1. Load the three sources and normalise them to a common record.
2. Drop items that are not self-contained or not clean (image references,
   "all of the above" style options, duplicate or empty options, MedMCQA
   ``multi`` items, MedMCQA items whose text shows the known "rt" deletion
   corruption, MedMCQA items whose explanation does not confirm the key).
3. Draw the English selection (``en.jsonl``) and, from the remaining items
   with an independent rank, the Chinese source selection
   (``zh_source_items.jsonl``: the English items to translate).
4. If ``zh_translations.jsonl`` exists (the hand translations, keyed by
   ``source`` + ``source_id``), merge it with the metadata of the source
   selection and ``zh_original_items.jsonl`` into ``zh.jsonl``, checking that
   every translation keeps the correct letter and the option letters.
5. Write ``ATTRIBUTION.md`` with the counts.

Usage::

    python benchmarks/data/make_exam_sample.py \
        [--data-dir /work/shared/data/exams] [--seed 2026]

Disciplines: MedMCQA and MMLU items take a fixed discipline from their subject
(tables ``MEDMCQA_SUBJECTS`` and ``MMLU_SUBJECTS``). MedQA items and MMLU
professional_medicine items are classified by the keyword table
``DISCIPLINE_KEYWORDS``; ``discipline_overrides.json`` (next to this script)
records the reviewer's corrections where the heuristic was judged wrong.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, deprecated_alias, write_json  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT_DIR = REPO / "src" / "medsage" / "data" / "exam_sample"
ZH_SOURCES = HERE / "zh_source_items.jsonl"
ZH_TRANSLATIONS = HERE / "zh_translations.jsonl"
ZH_ORIGINALS = HERE / "zh_original_items.jsonl"
OVERRIDES = HERE / "discipline_overrides.json"
ATTRIBUTION_TEMPLATE = HERE / "exam_sample_attribution.md.in"

TRANSLATION_NOTE = (
    "medsage developers (human-in-the-loop LLM translation), not an official exam item"
)
LETTERS = ("A", "B", "C", "D")

# ---------------------------------------------------------------- quotas
# (MedQA items per tier, MedMCQA items, MMLU items) for each half.
QUOTAS: dict[str, tuple[dict[str, int], int, int]] = {
    "en": ({"step1": 25, "step2&3": 25}, 40, 30),
    "zh": ({"step1": 20, "step2&3": 20}, 40, 30),
}
MAX_QUESTION_CHARS = 900  # keeps vignettes short enough for small local models

# ---------------------------------------------------------------- discipline tables
DISCIPLINE_ZH = {
    "internal_medicine": "内科学",
    "surgery": "外科学",
    "pediatrics": "儿科学",
    "obstetrics_gynecology": "妇产科学",
    "pharmacology": "药理学",
    "physiology": "生理学",
    "anatomy": "解剖学",
    "biochemistry": "生物化学",
    "microbiology": "医学微生物学",
    "immunology": "医学免疫学",
    "pathology": "病理学",
    "psychiatry": "精神病学",
    "neurology": "神经病学",
    "public_health": "预防医学与公共卫生",
    "biostatistics": "医学统计学与流行病学",
    "ethics": "医学伦理学",
    "genetics": "医学遗传学",
    "dermatology": "皮肤性病学",
    "ophthalmology": "眼科学",
    "otolaryngology": "耳鼻咽喉科学",
    "anesthesiology": "麻醉学",
    "forensic_medicine": "法医学",
    "radiology": "医学影像学",
    "orthopedics": "骨科学",
    "emergency_medicine": "急诊医学",
    "clinical_medicine": "临床医学综合",
    "basic_medical_sciences": "基础医学综合",
    "biology": "生物学",
}

MEDMCQA_SUBJECTS = {
    "Anaesthesia": "anesthesiology",
    "Anatomy": "anatomy",
    "Biochemistry": "biochemistry",
    "ENT": "otolaryngology",
    "Forensic Medicine": "forensic_medicine",
    "Gynaecology & Obstetrics": "obstetrics_gynecology",
    "Medicine": "internal_medicine",
    "Microbiology": "microbiology",
    "Ophthalmology": "ophthalmology",
    "Orthopaedics": "orthopedics",
    "Pathology": "pathology",
    "Pediatrics": "pediatrics",
    "Pharmacology": "pharmacology",
    "Physiology": "physiology",
    "Psychiatry": "psychiatry",
    "Radiology": "radiology",
    "Skin": "dermatology",
    "Social & Preventive Medicine": "public_health",
    "Surgery": "surgery",
}  # "Dental" and "Unknown" are left out on purpose (not medical core / no subject).

MMLU_SUBJECTS = {
    "anatomy": "anatomy",
    "clinical_knowledge": "clinical_medicine",
    "college_biology": "biology",
    "college_medicine": "basic_medical_sciences",
    "medical_genetics": "genetics",
    "professional_medicine": None,  # USMLE-style vignettes: classified by keywords
}

# Keyword table (data, not code): a discipline scores one point per keyword found
# in the stem and three per keyword found in the final sentence (the "call" of the
# question). The highest score wins; ties go to the earlier discipline here; no hit
# at all gives internal_medicine.
DISCIPLINE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "ethics": (
        "most appropriate response", "confidential", "informed consent", "disclose",
        "autonomy", "power of attorney", "ethic", "refuses", "advance directive",
        "capacity", "surrogate", "malpractice", "colleague",
    ),
    "biostatistics": (
        "sensitivity", "specificity", "predictive value", "odds ratio", "relative risk",
        "confidence interval", "p-value", "p value", "study design", "cohort",
        "case-control", "randomized", "bias", "incidence", "prevalence", "null hypothesis",
        "statistical", "number needed",
    ),
    "obstetrics_gynecology": (
        "pregnan", "gestation", "prenatal", "postpartum", "menstrual", "menses", "uterus",
        "uterine", "ovar", "cervix", "cervical cytology", "vagina", "contracepti",
        "labor", "delivery", "placenta", "fetal", "amenorrhea", "gravida", "endometri",
    ),
    "pediatrics": (
        "newborn", "neonat", "infant", "-month-old", "-week-old", "-day-old", "boy",
        "girl", "child", "toddler", "vaccination schedule", "developmental milestone",
    ),
    "psychiatry": (
        "depress", "hallucinat", "suicid", "anxiety", "psychiatr", "delusion", "mood",
        "antipsychotic", "schizo", "bipolar", "panic", "insomnia", "alcohol use",
        "substance", "personality", "defense mechanism", "obsess", "psychotherapy",
    ),
    "neurology": (
        "seizure", "stroke", "neurolog", "numbness", "tremor", "gait", "paresthesia",
        "cranial nerve", "headache", "dementia", "aphasia", "reflexes", "spinal cord",
        "multiple sclerosis", "parkinson",
    ),
    "surgery": (
        "surgery", "surgical", "operative", "trauma", "motor vehicle", "collision",
        "appendic", "laparotomy", "laparoscop", "gunshot", "stab wound", "hernia",
        "incision", "resection", "emergency department after",
    ),
    "orthopedics": ("fracture", "dislocation", "ligament", "tendon", "cast", "sprain"),
    "dermatology": (
        "rash", "skin lesion", "pruritic", "plaque", "papule", "vesicle", "nevus",
        "mole", "eczema", "psoriasis", "dermat",
    ),
    "pharmacology": (
        "mechanism of action", "adverse effect", "side effect", "drug", "medication",
        "pharmacolog", "inhibitor", "agonist", "antagonist", "toxicity", "dose",
    ),
    "microbiology": (
        "organism", "bacteri", "virus", "viral", "gram-positive", "gram-negative",
        "culture", "pathogen", "fungal", "parasite", "infection", "spore", "toxin",
    ),
    "immunology": (
        "antibod", "immunodeficien", "hypersensitivity", "complement", "t cell",
        "b cell", "autoimmun", "transplant", "immunoglobulin",
    ),
    "genetics": (
        "inherit", "mutation", "chromosom", "autosomal", "x-linked", "karyotype",
        "genetic", "trisomy", "pedigree",
    ),
    "biochemistry": (
        "enzyme", "metabol", "vitamin", "deficiency of", "synthesis", "glycogen",
        "lysosomal", "mitochondri",
    ),
    "pathology": (
        "biopsy", "histolog", "autopsy", "microscop", "specimen", "neoplasm", "tumor",
        "carcinoma", "lymphoma",
    ),
    "physiology": (
        "physiolog", "pressure", "cardiac output", "resistance", "compliance",
        "filtration", "hormone", "secretion",
    ),
    "anatomy": ("nerve", "artery", "muscle", "ligation", "injured", "structure", "vessel"),
    "internal_medicine": (
        "hypertension", "diabetes", "chest pain", "dyspnea", "cough", "renal", "kidney",
        "hepat", "liver", "anemia", "thyroid", "heart", "pulmonary", "fever", "abdominal pain",
    ),
}

# Items read and rejected by the reviewer (key -> reason). Applied to both halves.
EXCLUDE: dict[str, str] = {
    "medmcqa:477dea37-f0b6-4a6d-b77a-766ded28f2b6": "refers to an X-ray that is not given",
    "medmcqa:a8a11df7-227b-4010-9298-061ea082634d": "time-dependent ('recently approved')",
    "medmcqa:77d35e3d-ce5c-426c-91da-17f5259efafa": "inconsistent stem ('2 year old neonate')",
    "medmcqa:abed431b-5d40-4df7-9f7b-4088185b5728": "garbled stem",
    "medmcqa:dfb6dc4a-a4ac-4270-8bf2-807e6efead3a": "two defensible keys (heparin vs LMWH)",
    "medmcqa:b18e044b-bb0e-4046-ad9e-3b0d3a5beaa5": "several options are correct",
    "medmcqa:87c9ed45-4f13-4ec7-9af1-571dc39c84a9": "garbled stem",
    "medmcqa:5c55ed82-c9c5-4f5d-8d0e-9cd76cfbeb74": "garbled stem",
    "medmcqa:26a95f8b-cbdd-4e14-b3fc-fcf2b9efbd20": "options do not match the stem",
    "medmcqa:624cf635-1421-416e-978a-996781f350c0": "garbled stem",
    "medmcqa:a497ae07-aaf0-4410-a034-665f087f1d83": "'rt' corruption not caught by the filter",
    "medmcqa:9d2bff20-7d45-402d-af8f-3eb0c1e1e404": "'rt' corruption not caught by the filter",
    "medmcqa:cc0d09f8-564d-4fe5-8b22-4b7d3e4ed586": "options do not match the stem",
    "medmcqa:0c970c10-c97d-4025-b24d-e70245231e41": "OCR typos in the stem",
    "medmcqa:e96fadd5-fac8-4cde-9957-d69ed40b3364": "'rt' corruption; psychiatry item filed under Radiology",
    "medmcqa:50aa2943-d234-4743-88e0-286d47774107": "garbled stem ('V) hich')",
    "medmcqa:a1fa0704-7aab-4226-990d-5790d34c5d27": "garbled stem ('(gd) T cell')",
    "medmcqa:b22457e3-c620-4a3d-bde1-0aa6e6c185a7": "typo and contestable key (histrionic is cluster B)",
    "medmcqa:41de4a10-ea29-4f5d-817c-570c5e537bc9": "'rt' corruption and contestable key",
    "medmcqa:d2198d20-fa7b-4abd-a3f6-d849ee0973fb": "typo in a key number ('3g mmHg')",
    "medmcqa:71803632-1b88-4332-88f5-be3ac2515b85": "garbled gene names in the options",
    "medmcqa:da743fb8-1db4-4fee-9e20-351d78dc60c9": "stem lacks its subject; albumin unit wrong",
    "medmcqa:407d4eec-cf0b-460c-bcdb-cf0081ec8c5d": "contestable key (methacholine is non-selective)",
    "medmcqa:ce4876e4-6a17-465e-a1c4-6353dad02e85": "confusing paediatric MDT dosing options",
    "medmcqa:99f0588d-fd2b-405a-ac4e-5615d0533fff": "'rt' corruption; truncated stem",
    "medmcqa:e0f9e4af-3c3f-49d3-a19a-f8b884951de6": "options corrupted into clock times",
    "medmcqa:876554c4-4b7a-4093-b3a4-13ed7262578e": "contestable key",
    "medmcqa:593d3d8b-8fd8-41dd-9807-bc35454b258e": "time-dependent; garbled option",
    "medmcqa:17360c6c-2c98-4fe2-aa85-487dcf4678df": "percentages garbled into fractions",
    "medmcqa:0f49668c-7988-48a6-ba11-ad49aa561259": "garbled stem and options",
    "medmcqa:179b5138-d8ce-4e02-9445-ada73b642671": "contestable key",
    "medmcqa:a28af149-bf4b-4c9a-a4bf-5f6387f945e9": "'rt' corruption ('admitted with A')",
    "medmcqa:12342b20-b7a0-4f14-91ed-c764fc51ed7b": "editorial note inside an option",
    "medmcqa:0acff0e8-a28e-4c44-ba99-7bf1ea71951f": "contestable key",
    "medmcqa:73bd4537-a8bc-420a-a85e-93d08adc318b": "contestable key",
    "medmcqa:391dbda5-df38-4a5f-8e4c-f6db24bc164a": "'rt' corruption",
    "medmcqa:0c879562-cc36-4620-a809-fd26c1275a47": "'rt' corruption ('Weheim')",
    "medmcqa:90a1a7e3-3ff3-4653-8d13-3de6811b4eca": "garbled table ('Hea rate')",
    "medmcqa:671eebea-f741-4ed8-bf68-36e36c8de1eb": "garbled stem",
    "medmcqa:7aa4c76d-e28b-480d-86b5-5a3c2ab2e6f3": "'rt' corruption and typos",
    "medmcqa:6bce210a-7174-4c76-b1f0-9bc3f5c835fc": "typo in the stem and contestable key",
    "medmcqa:1a54dc09-051e-419b-879e-6d435f34f711": "contestable key",
    "medmcqa:725d9973-1082-4c9b-b4fb-9c63a4615e63": "definition varies between sources",
    "medmcqa:15cebe53-6289-419d-af57-d6f5c6177147": "outdated criterion (proteinuria no longer defines severe preeclampsia)",
    "medmcqa:a2106819-7406-4698-8f7d-b166a05fe17e": "'rt' corruption ('hyperophied')",
    "medmcqa:5c0f862f-2651-4ed4-88d4-2456dab0f036": "'rt' corruption ('sustained A')",
    "mmlu:college_biology-102": "the stem contains the key ('(A) hydrogen bonding ...')",
    "mmlu:college_medicine-151": "garbled option list ('III. Hypothesis')",
    "medmcqa:288022ee-c8bd-42e6-8e0a-81838367119a": "'rt' corruption and typos",
}

# ---------------------------------------------------------------- filters
IMAGE_RE = re.compile(
    r"\b(image|images|figure|fig\.|picture|photograph|photo|diagram|shown|graph|"
    r"illustrat\w*|exhibit|following table|marked|labelled|labeled|arrow|"
    r"following (x-?ray|ct|mri|ecg|radiograph|scan|slide|specimen|lesion)|"
    r"(x-?ray|radiograph|ct|mri|ecg|slide|scan) (is|was) (obtained|given|taken|done))\b",
    re.IGNORECASE,
)
REFERENTIAL_OPTION_RE = re.compile(
    r"^\s*(all|none|both|either|neither)\b|\b(of the above|all of these|none of these)\b|"
    r"^\s*[a-d]\s*(,|and|&|or)\s*[a-d]\b|^\s*(only\s+)?[1-4](\s*(,|and|&)\s*[1-4])+",
    re.IGNORECASE,
)
CASE_RE = re.compile(
    r"\b\d+[- ](year|month|week|day|hour)s?[- ]old\b|"
    r"\b(a|an)\s+(man|woman|boy|girl|patient|infant|child|newborn|neonate|lady|male|female)\b"
    r"[^.]{0,60}\b(presents|comes|is brought|was brought|complains|visits|is admitted|"
    r"is seen|develops|has)\b",
    re.IGNORECASE,
)
MEDMCQA_KEY_RE = re.compile(
    r"^\W*(?:ans(?:wer)?|correct answer)\s*(?:is)?\s*[-:.)]?\s*(?:option)?\s*[-:.('\"]*\s*"
    r"([a-d])\b",
    re.IGNORECASE,
)
WORD_RE = re.compile(r"[A-Za-z]+")


def norm_space(text: str) -> str:
    """Collapse runs of blanks (keeping single line breaks), strip a stray final quote."""
    text = re.sub(r"[ \t\r\f\v]+", " ", text or "")
    text = re.sub(r" ?\n[ \n]*", "\n", text).strip()  # keep line breaks of lab tables
    if text.endswith('"') and text.count('"') % 2 == 1:
        text = text[:-1].rstrip()
    return text


def question_type(question: str) -> str:
    """Return "case" for a patient vignette, else "knowledge"."""
    return "case" if CASE_RE.search(question) else "knowledge"


def classify(question: str, options: dict[str, str], default: str) -> str:
    """Pick a discipline for a vignette with the keyword table (see module doc)."""
    text = question.lower() + " " + " ".join(options.values()).lower()
    sentences = re.split(r"(?<=[.?!])\s+", question.strip())
    call = sentences[-1].lower() if sentences else ""
    best, best_score = default, 0
    for discipline, keywords in DISCIPLINE_KEYWORDS.items():
        score = sum(text.count(k) for k in keywords) + 3 * sum(k in call for k in keywords)
        if score > best_score:
            best, best_score = discipline, score
    return best


def clean_item(item: dict[str, Any]) -> bool:
    """Checks shared by all sources: four distinct options, no images, sane length."""
    if key(item) in EXCLUDE:
        return False
    opts = item["options"]
    texts = [opts.get(letter, "") for letter in LETTERS]
    if any(not t for t in texts) or len({t.lower() for t in texts}) < 4:
        return False
    if item["answer"] not in LETTERS:
        return False
    if not 15 <= len(item["question"]) <= MAX_QUESTION_CHARS:
        return False
    if IMAGE_RE.search(item["question"]) or any(IMAGE_RE.search(t) for t in texts):
        return False
    return not any(REFERENTIAL_OPTION_RE.search(t) for t in texts)


# ---------------------------------------------------------------- loaders
def load_medqa(data_dir: Path) -> list[dict[str, Any]]:
    """MedQA-US 4-option test split; source id = zero-based row number."""
    items = []
    path = data_dir / "medqa_us_4options_test.jsonl"
    with path.open(encoding="utf-8") as fh:
        for row_no, line in enumerate(fh):
            row = json.loads(line)
            options = {k: norm_space(v) for k, v in row["options"].items()}
            if row["options"].get(row["answer_idx"]) != row["answer"]:
                continue  # key text and key letter disagree: not verifiable
            items.append({
                "source": "MedQA-US test",
                "source_key": "medqa",
                "source_id": str(row_no),
                "question": norm_space(row["question"]),
                "options": options,
                "answer": row["answer_idx"],
                "tier": row["meta_info"],
                "subject": None,
            })
    return items


def load_medmcqa(data_dir: Path, clean_vocab: set[str]) -> list[dict[str, Any]]:
    """MedMCQA dev split (JSON lines); ``cop`` is 1-based (1 = A)."""
    items = []
    path = data_dir / "medmcqa_dev.json"
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("choice_type") != "single" or row["subject_name"] not in MEDMCQA_SUBJECTS:
                continue
            answer = LETTERS[int(row["cop"]) - 1]
            match = MEDMCQA_KEY_RE.match(row.get("exp") or "")
            if not match or match.group(1).upper() != answer:
                continue  # keep only items whose explanation confirms the key
            options = {L: norm_space(row[f"op{L.lower()}"]) for L in LETTERS}
            question = norm_space(row["question"])
            if is_rt_corrupted(question + " " + " ".join(options.values()), clean_vocab):
                continue
            items.append({
                "source": "MedMCQA dev",
                "source_key": "medmcqa",
                "source_id": row["id"],
                "question": question,
                "options": options,
                "answer": answer,
                "tier": None,
                "subject": row["subject_name"],
                "topic": row.get("topic_name"),
            })
    return items


def load_mmlu(data_dir: Path) -> list[dict[str, Any]]:
    """Six medical MMLU test CSVs; source id = ``<subject>-<zero-based row>``."""
    items = []
    for subject in MMLU_SUBJECTS:
        path = data_dir / "mmlu_medical" / f"{subject}_test.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            for row_no, row in enumerate(csv.reader(fh)):
                if len(row) != 6:
                    continue
                items.append({
                    "source": f"MMLU {subject} test",
                    "source_key": "mmlu",
                    "source_id": f"{subject}-{row_no}",
                    "question": norm_space(row[0]),
                    "options": {L: norm_space(t) for L, t in zip(LETTERS, row[1:5], strict=True)},
                    "answer": row[5].strip(),
                    "tier": None,
                    "subject": subject,
                })
    return items


def vocabulary(texts: Iterable[str]) -> set[str]:
    """Lower-cased word set of some texts."""
    return {w.lower() for t in texts for w in WORD_RE.findall(t)}


def is_rt_corrupted(text: str, clean_vocab: set[str]) -> bool:
    """Detect MedMCQA's known "rt"-deletion corruption ("aery" for "artery").

    A word is suspect when it is absent from the clean (MedQA + MMLU) vocabulary but
    inserting "rt" somewhere makes a word that is present there.
    """
    for word in {w.lower() for w in WORD_RE.findall(text)}:
        if word in clean_vocab:
            continue
        if any(word[:i] + "rt" + word[i:] in clean_vocab for i in range(1, len(word) + 1)):
            return True
    return False


# ---------------------------------------------------------------- selection
def dedupe(pool: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop items whose question text repeats an earlier item (MMLU has repeats)."""
    seen: set[str] = set()
    out = []
    for it in pool:
        text = re.sub(r"\W+", " ", it["question"].lower()).strip()
        if text not in seen:
            seen.add(text)
            out.append(it)
    return out


def rank(item: dict[str, Any], half: str, seed: int) -> str:
    """Seeded pseudo-random rank of an item, stable when other items are excluded."""
    return hashlib.sha256(f"{seed}|{half}|{key(item)}".encode()).hexdigest()


def draw_medqa(pool: list[dict[str, Any]], quota: dict[str, int], half: str, seed: int,
               taken: set[str]) -> list[dict[str, Any]]:
    """Seeded draw of MedQA items per tier (lowest ranks first)."""
    chosen = []
    for tier, n in quota.items():
        cands = [it for it in pool if it["tier"] == tier and key(it) not in taken]
        chosen += sorted(cands, key=lambda it: rank(it, half, seed))[:n]
    return chosen


def draw_spread(pool: list[dict[str, Any]], n: int, half: str, seed: int,
                taken: set[str]) -> list[dict[str, Any]]:
    """Seeded round-robin draw over subjects so that every subject gets a share."""
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for it in pool:
        if key(it) not in taken:
            by_subject.setdefault(it["subject"], []).append(it)
    for items in by_subject.values():
        items.sort(key=lambda it: rank(it, half, seed), reverse=True)  # pop() takes lowest
    order = sorted(by_subject, key=lambda s: hashlib.sha256(f"{seed}|{half}|{s}".encode())
                   .hexdigest())
    chosen: list[dict[str, Any]] = []
    while len(chosen) < n and any(by_subject.values()):
        for subject in order:
            if by_subject[subject] and len(chosen) < n:
                chosen.append(by_subject[subject].pop())
    return chosen


def key(item: dict[str, Any]) -> str:
    """Unique key of a source item across the three sources."""
    return f"{item['source_key']}:{item['source_id']}"


def finish(item: dict[str, Any], language: str, overrides: dict[str, str]) -> dict[str, Any]:
    """Turn a normalised source item into a shipped record (without translation)."""
    subject = item["subject"]
    if item["source_key"] == "medmcqa":
        discipline = MEDMCQA_SUBJECTS[subject]
    elif item["source_key"] == "mmlu" and MMLU_SUBJECTS[subject]:
        discipline = str(MMLU_SUBJECTS[subject])
    else:
        discipline = classify(item["question"], item["options"], "internal_medicine")
    discipline_method = "subject table"
    if item["source_key"] == "medqa" or subject == "professional_medicine":
        discipline_method = "keyword table"
    if key(item) in overrides:
        discipline, discipline_method = overrides[key(item)], "reviewer judgement"
    short = item["source_id"].split("-")[0] if item["source_key"] == "medmcqa" else item[
        "source_id"]
    record: dict[str, Any] = {
        "id": f"{language}-{item['source_key']}-{short}",
        "question": item["question"],
        "options": item["options"],
        "answer": item["answer"],
        "language": language,
        "discipline": discipline,
        "discipline_zh": DISCIPLINE_ZH[discipline],
        "discipline_method": discipline_method,
        "tier": item["tier"],
        "question_type": question_type(item["question"]),
        "source": item["source"],
        "source_id": item["source_id"],
        "subject": subject,
        "licence": "MIT",
    }
    if item.get("topic"):
        record["topic"] = item["topic"]
    return record


def select(data_dir: Path, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (English records, English source records for the Chinese half)."""
    medqa = [it for it in load_medqa(data_dir) if clean_item(it)]
    mmlu = [it for it in load_mmlu(data_dir) if clean_item(it)]
    clean_vocab = vocabulary(
        [it["question"] + " " + " ".join(it["options"].values()) for it in load_medqa(data_dir)]
        + [it["question"] + " " + " ".join(it["options"].values()) for it in load_mmlu(data_dir)]
    )
    medmcqa = [it for it in load_medmcqa(data_dir, clean_vocab) if clean_item(it)]
    medqa, medmcqa, mmlu = (dedupe(pool) for pool in (medqa, medmcqa, mmlu))
    overrides: dict[str, str] = {}
    if OVERRIDES.exists():
        overrides = json.loads(OVERRIDES.read_text(encoding="utf-8"))["overrides"]
    picked: list[list[dict[str, Any]]] = []
    taken: set[str] = set()
    for name, (medqa_n, medmcqa_n, mmlu_n) in QUOTAS.items():
        half = draw_medqa(medqa, medqa_n, name, seed, taken)  # independent rank per half
        half += draw_spread(medmcqa, medmcqa_n, name, seed, taken)
        half += draw_spread(mmlu, mmlu_n, name, seed, taken)
        taken |= {key(it) for it in half}
        picked.append(half)
    # Both halves are English here; build_zh() turns the second into Chinese records.
    en, zh_src = ([finish(it, "en", overrides) for it in half] for half in picked)
    return en, zh_src


# ---------------------------------------------------------------- Chinese half
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def build_zh(zh_src: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge hand translations with source metadata; validate letters and script."""
    translations: dict[tuple[str, str], dict[str, Any]] = {}
    with ZH_TRANSLATIONS.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                translations[(row["source"], row["source_id"])] = row
    records = []
    missing = []
    for src in zh_src:
        tr = translations.get((src["source"], src["source_id"]))
        if tr is None:
            missing.append(src["id"])
            continue
        if set(tr["options"]) != set(LETTERS) or tr["answer"] != src["answer"]:
            raise SystemExit(f"translation of {src['id']} changes the letters or the key")
        texts = [tr["question"], *tr["options"].values()]
        if not CJK_RE.search(tr["question"]):
            raise SystemExit(f"translation of {src['id']} has no Chinese in the stem")
        if any(not t.strip() for t in texts):
            raise SystemExit(f"translation of {src['id']} has an empty field")
        record = dict(src)
        record.update({
            "id": src["id"].replace("en-", "zh-", 1),
            "question": tr["question"],
            "options": {L: tr["options"][L] for L in LETTERS},
            "language": "zh",
            "translated_from": {"source": src["source"], "source_id": src["source_id"]},
            "translation": TRANSLATION_NOTE,
        })
        records.append(record)
    if missing:
        print(f"warning: {len(missing)} source items not translated yet: {missing[:5]}...")
    if ZH_ORIGINALS.exists():
        with ZH_ORIGINALS.open(encoding="utf-8") as fh:
            records += [json.loads(line) for line in fh if line.strip()]
    return records


# ---------------------------------------------------------------- output
def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Write one JSON object a line, UTF-8, keys in insertion order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def count_table(records: list[dict[str, Any]], field: str) -> str:
    """Markdown table of counts per value of ``field`` and language."""
    counts = Counter((str(r.get(field)), r["language"]) for r in records)
    values = sorted({v for v, _ in counts})
    lines = [f"| {field} | en | zh |", "|---|---|---|"]
    for v in values:
        lines.append(f"| {v} | {counts.get((v, 'en'), 0)} | {counts.get((v, 'zh'), 0)} |")
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]), "data_root", "seed", "out",
                          seed=2026, out=str(OUT_DIR))
    parser.add_argument("--exams", type=Path, default=None, help="exam files (default DATA_ROOT/exams)")
    deprecated_alias(parser, "--data-dir", "--exams", type=Path)
    deprecated_alias(parser, "--out-dir", "--out")
    args = parser.parse_args()
    args.exams = args.exams or Path(args.data_root) / "exams"
    args.out_dir = Path(args.out)
    en, zh_src = select(args.exams, args.seed)
    write_jsonl(args.out_dir / "en.jsonl", en)
    write_jsonl(ZH_SOURCES, zh_src)
    print(f"en.jsonl: {len(en)} items; zh_source_items.jsonl: {len(zh_src)} items")
    zh: list[dict[str, Any]] = []
    if ZH_TRANSLATIONS.exists():
        zh = build_zh(zh_src)
        write_jsonl(args.out_dir / "zh.jsonl", zh)
        print(f"zh.jsonl: {len(zh)} items")
    if ATTRIBUTION_TEMPLATE.exists():
        tables = "\n\n".join(
            f"### By {f}\n\n{count_table(en + zh, f)}"
            for f in ("source", "discipline", "tier", "question_type", "licence")
        )
        text = ATTRIBUTION_TEMPLATE.read_text(encoding="utf-8").replace("{{COUNTS}}", tables)
        text = text.replace("{{N_EN}}", str(len(en))).replace("{{N_ZH}}", str(len(zh)))
        (args.out_dir / "ATTRIBUTION.md").write_text(text, encoding="utf-8")
    # the sample ships in the package; the record of the run that made it stays here
    write_json(HERE / "exam_sample_provenance.json", {"out": str(args.out_dir), "en": len(en), "zh": len(zh),
                                                      "seed": args.seed})


if __name__ == "__main__":
    main()
