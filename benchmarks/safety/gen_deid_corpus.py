"""Generate the seeded, labelled synthetic de-identification corpus (English and Chinese) with Faker.

    python benchmarks/safety/gen_deid_corpus.py --seed 4242 --n 300
writes benchmarks/safety/data/deid_corpus.jsonl: {"id", "lang", "text", "entities": [[start, end, type], ...]}.
Faker's name/address lists are larger than medsage's lexicons, so names are a fair test.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_jsonl  # noqa: E402

OUT = Path(__file__).resolve().parent / "data" / "deid_corpus.jsonl"
FILLER_EN = [
    "BP 132/84, HR 76, SpO2 97% on room air.", "Creatinine 1.1 mg/dL, potassium 4.2 mmol/L.",
    "Started metoprolol 25 mg bid and atorvastatin 40 mg qhs.", "Follow up in 2 weeks with repeat labs.",
    "No known drug allergies.", "Assessment: community-acquired pneumonia, CURB-65 score 1.",
    "Chest X-ray shows right lower lobe infiltrate.", "Plan discussed with the patient, who agrees.",
    "ECG: sinus rhythm 72/min, QTc 430 ms.", "HbA1c 7.8%, eGFR 64 mL/min/1.73m2.",
]
FILLER_ZH = [
    "血压132/84 mmHg，心率76次/分，血氧97%。", "肌酐98 μmol/L，血钾4.2 mmol/L。", "予美托洛尔25 mg bid，阿托伐他汀40 mg qn。",
    "两周后复诊复查血常规。", "否认药物过敏史。", "诊断：社区获得性肺炎。", "胸片示右下肺渗出影。", "已与患者沟通治疗方案，患者表示理解。",
    "心电图：窦性心律，QTc 430 ms。", "糖化血红蛋白7.8%，eGFR 64。",
]


class Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.ents: list[list] = []
        self.pos = 0

    def add(self, s: str, etype: str | None = None) -> None:
        if etype:
            self.ents.append([self.pos, self.pos + len(s), etype])
        self.parts.append(s)
        self.pos += len(s)

    def text(self) -> str:
        return "".join(self.parts)


def date_en(fk: Faker, rng: random.Random) -> str:
    d = fk.date_between(start_date="-80y", end_date="today")
    return rng.choice([d.strftime("%Y-%m-%d"), d.strftime("%m/%d/%Y"), d.strftime("%B %-d, %Y"), d.strftime("%-d %b %Y"),
                       d.strftime("%b %-d, %Y")])


def date_zh(fk: Faker, rng: random.Random) -> str:
    d = fk.date_between(start_date="-80y", end_date="today")
    return rng.choice([f"{d.year}年{d.month}月{d.day}日", d.strftime("%Y-%m-%d"), f"{d.year}/{d.month}/{d.day}", f"{d.year}年{d.month}月{d.day}号"])


def doc_en(fk: Faker, rng: random.Random) -> Builder:
    b = Builder()
    first = fk.first_name()
    name = f"{first} {fk.last_name()}"
    doctor = f"{fk.first_name()} {fk.last_name()}"
    blocks = []
    blocks.append(lambda: (b.add("Patient: "), b.add(name, "PERSON"), b.add("\n")))
    blocks.append(lambda: (b.add(rng.choice(["MRN: ", "Medical record number: ", "MRN #"])),
                           b.add(str(rng.randint(10**6, 10**9)), "MEDICAL_ID"), b.add("\n")))
    blocks.append(lambda: (b.add("DOB: "), b.add(date_en(fk, rng), "DATE"), b.add("\n")))
    blocks.append(lambda: (b.add(rng.choice(["Phone: ", "Tel ", "Contact number: "])), b.add(fk.phone_number(), "PHONE"), b.add("\n")))
    blocks.append(lambda: (b.add("Email: "), b.add(fk.email(), "EMAIL"), b.add("\n")))
    blocks.append(lambda: (b.add("Address: "), b.add(fk.address(), "ADDRESS"), b.add("\n")))
    blocks.append(lambda: (b.add(rng.choice(["Insurance ID: ", "Member ID: ", "Policy number: "])),
                           b.add(fk.bothify("???-#######").upper(), "MEDICAL_ID"), b.add("\n")))
    blocks.append(lambda: (b.add("SSN: "), b.add(fk.ssn(), "MEDICAL_ID"), b.add("\n")))
    rng.shuffle(blocks)
    for blk in blocks[: rng.randint(5, len(blocks))]:
        blk()
    b.add("\n")
    for _ in range(rng.randint(2, 4)):
        choice = rng.random()
        if choice < 0.25:
            b.add(first if rng.random() < 0.5 else name, "PERSON")
            b.add(f" is a {rng.randint(18, 88)}-year-old {rng.choice(['man', 'woman'])} seen on ")
            b.add(date_en(fk, rng), "DATE")
            b.add(". ")
        elif choice < 0.45:
            b.add("Seen by Dr. ")
            b.add(doctor, "PERSON")
            b.add(" on ")
            b.add(date_en(fk, rng), "DATE")
            b.add(". ")
        elif choice < 0.6:
            b.add("Portal: ")
            b.add(fk.url(), "URL")
            b.add(" accessed from IP ")
            b.add(fk.ipv4() if rng.random() < 0.8 else fk.ipv6(), "IP")
            b.add(". ")
        elif choice < 0.75:
            b.add(rng.choice(["Wife ", "Daughter ", "Son ", "Husband "]))
            b.add(f"{fk.first_name()} {fk.last_name()}", "PERSON")
            b.add(" can be reached at ")
            b.add(fk.phone_number(), "PHONE")
            b.add(". ")
        b.add(rng.choice(FILLER_EN) + " ")
    return b


def doc_zh(fk: Faker, rng: random.Random) -> Builder:
    b = Builder()
    name = fk.name()
    blocks = []
    blocks.append(lambda: (b.add("患者"), b.add(name, "PERSON"), b.add(f"，{rng.choice(['男', '女'])}，{rng.randint(18, 90)}岁。")))
    blocks.append(lambda: (b.add(rng.choice(["住院号：", "病案号：", "门诊号："])),
                           b.add(rng.choice(["ZY", "MZ", ""]) + str(rng.randint(10**6, 10**9)), "MEDICAL_ID"), b.add("。")))
    blocks.append(lambda: (b.add("身份证号："), b.add(fk.ssn(), "CN_RESIDENT_ID"), b.add("。")))
    blocks.append(lambda: (b.add(rng.choice(["联系电话：", "手机："])), b.add(fk.phone_number(), "PHONE"), b.add("。")))
    blocks.append(lambda: (b.add("住址："), b.add(fk.address(), "ADDRESS"), b.add("。")))
    blocks.append(lambda: (b.add("邮箱："), b.add(fk.email(), "EMAIL"), b.add("。")))
    blocks.append(lambda: (b.add("医保卡号："), b.add(str(rng.randint(10**9, 10**12)), "MEDICAL_ID"), b.add("。")))
    blocks.append(lambda: (b.add("入院日期："), b.add(date_zh(fk, rng), "DATE"), b.add("。")))
    rng.shuffle(blocks)
    for blk in blocks[: rng.randint(5, len(blocks))]:
        blk()
    b.add("\n")
    for _ in range(rng.randint(2, 4)):
        choice = rng.random()
        if choice < 0.25:
            b.add(name, "PERSON")
            b.add(rng.choice(["先生", "女士"]) + "于")
            b.add(date_zh(fk, rng), "DATE")
            b.add("复诊。")
        elif choice < 0.45:
            b.add("主治医师：")
            b.add(fk.name(), "PERSON")
            b.add("。")
        elif choice < 0.6:
            b.add("家属")
            b.add(fk.name(), "PERSON")
            b.add("，电话")
            b.add(fk.phone_number(), "PHONE")
            b.add("。")
        elif choice < 0.7:
            b.add("报告系统：")
            b.add(fk.url(), "URL")
            b.add("，IP ")
            b.add(fk.ipv4(), "IP")
            b.add("。")
        b.add(rng.choice(FILLER_ZH))
    return b


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "seed", "out",
                      seed=4242, out=str(OUT))
    ap.add_argument("--n", type=int, default=300, help="documents to generate")
    args = ap.parse_args()
    out = Path(args.out)
    rng = random.Random(args.seed)
    fk_en, fk_zh = Faker("en_US"), Faker("zh_CN")
    fk_en.seed_instance(args.seed)
    fk_zh.seed_instance(args.seed + 1)
    rows = []
    for i in range(args.n):
        lang = "zh" if i % 2 else "en"
        b = doc_zh(fk_zh, rng) if lang == "zh" else doc_en(fk_en, rng)
        rows.append({"id": f"d{i:04d}", "lang": lang, "text": b.text(), "entities": b.ents})
    write_jsonl(out, rows)
    print(f"wrote {args.n} documents to {out}")


if __name__ == "__main__":
    main()
