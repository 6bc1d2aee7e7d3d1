"""Note-generation benchmarks: ACI-Bench, MTS-Dialog, PriMock57, and MIE (Chinese).

``notes_aci``   ACI-Bench (Yim et al., 2023): full encounter → full clinic note. ``--data`` is
                the challenge_data folder (option ``split``: ``test1,test2,test3`` default,
                or ``train``/``valid``) or one CSV — e.g. ``aci_bench_asr/test1_aci_asr.csv``
                vs ``test1_aci_asrcorr.csv`` for the raw-ASR vs corrected comparison.
``notes_mts``   MTS-Dialog (Ben Abacha et al., 2023): dialogue → one note section.
``notes_primock57`` PriMock57 (Korfiatis et al., 2022): TextGrid consultations → GP notes.
``mie_zh``      MIE (Zhang et al., 2020): entity + status labels from Chinese cardiology
                dialogues; F1 against the labels. Unlicensed data: read from your path only.

Note tasks score ROUGE-L F as ``Score.value`` and put every metric (ROUGE-1/2/L/Lsum,
concept F1, hallucination and omission rates, section completeness, edit effort /
time saved) into ``Score.metadata``. ``mie_zh`` scores exact-label F1.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.lang import detect_language
from medsage.models.base import Model
from medsage.notes import prompts
from medsage.notes.formats import read_dialogue_csv, read_text, read_textgrid_pair
from medsage.notes.grounding import GroundingConfig
from medsage.notes.templates import DEFAULT_TEMPLATES, load_template
from medsage.tasks.base import LoadResult, Task
from medsage.types import CaseState, Message, Sample, Score

ACI_SPLITS = {"train": "train.csv", "valid": "valid.csv", "test1": "clinicalnlp_taskB_test1.csv",
              "test2": "clinicalnlp_taskC_test2.csv", "test3": "clef_taskC_test3.csv"}


def _resolve(task: Task, data: str | None) -> Path:
    from medsage.tasks.sources import resolve_data

    return resolve_data(task, data)


class NoteTask(Task):
    """Shared prompt and scoring for the note tasks."""

    metric = "mean"
    template = "soap_en"
    modes = ("generate",)

    def messages(self, sample: Sample, mode: str = "generate", **options: Any) -> list[Message]:
        """The plain note prompt for the sample's template (one section when it names one)."""
        lang = sample.language
        template = load_template(sample.metadata.get("template"), lang)
        if sample.metadata.get("section_id"):
            from medsage.notes.templates import restrict

            template = restrict(template, [str(sample.metadata["section_id"])])
        return [Message("system", prompts.SYSTEM["zh" if lang == "zh" else "en"]),
                Message("user", prompts.plain_note_prompt(sample.question, template, lang))]

    async def score(self, state: CaseState, grader: Model | None = None) -> Score:
        """ROUGE-L against the reference note, with the grounding metrics in ``metadata``."""
        from medsage.notes.scoring import score_note

        sample = state.sample
        out = state.output
        pred = out.text if out is not None and not out.error else ""
        embed = bool(sample.metadata.get("grounding_embed", False))
        m = score_note(pred, sample.target, sample.question, sample.language,
                       sample.metadata.get("template"), GroundingConfig(use_embeddings=embed))
        return Score(value=float(m["rougeL"]), answer=pred or None, target=sample.target[:200],
                     explanation=f"ROUGE-L {m['rougeL']:.3f}", metadata=m)


class AciTask(NoteTask):
    """ACI-Bench: encounter dialogue → clinic note."""

    name = "notes_aci"
    description = "ACI-Bench: doctor–patient encounter → full clinic note (ROUGE-L, concept F1, grounding)"
    citation = "Yim et al. 2023, ACI-BENCH, Scientific Data (CC BY 4.0)"
    default_data = "notes/aci_bench"

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """ACI-Bench encounters of the ``split`` CSVs (a folder) or of one CSV.

        Raises:
            DataError: An unknown split is named.
        """
        path = _resolve(self, data)
        if path.is_dir():
            splits = [s.strip() for s in str(options.get("split", "test1,test2,test3")).split(",") if s.strip()]
            bad = [s for s in splits if s not in ACI_SPLITS]
            if bad:
                raise DataError(f"unknown ACI-Bench split {', '.join(bad)} (use {', '.join(ACI_SPLITS)})")
            files = [(s, path / ACI_SPLITS[s]) for s in splits]
        else:
            files = [(path.stem, path)]
        result = LoadResult()
        for split, f in files:
            for row in read_dialogue_csv(f):
                if not row["dialogue"].strip() or not row["note"].strip():
                    result.problems.append(f"{f.name}:{row['id']}: empty dialogue or note")
                    continue
                lang = detect_language(row["dialogue"])  # the same CSV layout serves Chinese sets
                result.samples.append(Sample(
                    id=f"{split}/{row['id']}", question=row["dialogue"], target=row["note"],
                    metadata={"language": lang, "discipline": row["dataset"] or "aci", "tier": split,
                              "template": DEFAULT_TEMPLATES[lang], "task": self.name, "source": f.name}))
        return result


class MtsTask(NoteTask):
    """MTS-Dialog: dialogue → one note section (the row's section header)."""

    name = "notes_mts"
    description = "MTS-Dialog: doctor–patient dialogue → one note section (ROUGE-L, concept F1, grounding)"
    citation = "Ben Abacha et al. 2023, MTS-Dialog, EACL (CC BY 4.0)"
    default_data = "notes/mts_dialog/MTS-Dialog-TestSet-1-MEDIQA-Chat-2023.csv"

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """MTS-Dialog test rows, each for the one section its header names."""
        path = _resolve(self, data)
        if path.is_dir():
            path = path / "MTS-Dialog-TestSet-1-MEDIQA-Chat-2023.csv"
        template = load_template("mts_sections", "en")
        known = {s.id for s in template.sections}
        result = LoadResult()
        for row in read_dialogue_csv(path):
            header = row["section"].strip().upper()
            if header not in known:
                result.problems.append(f"{path.name}:{row['id']}: unknown section header {header!r}")
                continue
            result.samples.append(Sample(
                id=row["id"], question=row["dialogue"], target=row["note"],
                metadata={"language": "en", "discipline": header, "template": "mts_sections",
                          "section_id": header, "task": self.name}))
        return result


class PriMockTask(NoteTask):
    """PriMock57: mock GP consultations (TextGrid) → clinician notes."""

    name = "notes_primock57"
    description = "PriMock57: mock primary-care consultations (TextGrid) → GP notes"
    citation = "Korfiatis et al. 2022, PriMock57, ACL (CC BY 4.0)"
    default_data = "notes/primock57"

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """PriMock57 consultations (TextGrid pairs) with the notes under ``notes``.

        Raises:
            DataError: The notes folder or the TextGrid files are missing.
        """
        import json

        path = _resolve(self, data)
        if (path / "primock57").is_dir():
            path = path / "primock57"
        notes_dir = Path(options.get("notes") or path.parent / "primock57_notes")
        if not notes_dir.is_dir():
            raise DataError(f"PriMock57 notes folder not found: {notes_dir} (give notes=PATH)")
        stems = sorted({re.sub(r"_(doctor|patient)$", "", p.stem) for p in path.glob("*.TextGrid")})
        if not stems:
            raise DataError(f"{path}: no .TextGrid files")
        result = LoadResult()
        for stem in stems:
            note_file = notes_dir / f"{stem}.json"
            if not note_file.is_file():
                result.problems.append(f"{stem}: no note {note_file.name}")
                continue
            tr = read_textgrid_pair(path / stem)
            note = json.loads(read_text(note_file))
            dialogue = "\n".join(f"{t.speaker.capitalize()}: {t.text}" for t in tr.turns)
            result.samples.append(Sample(
                id=stem, question=dialogue, target=str(note.get("note", "")),
                metadata={"language": "en", "template": "gp_en", "task": self.name,
                          "presenting_complaint": note.get("presenting_complaint", "")}))
        return result


class MieTask(Task):
    """MIE: symptom/test/surgery entities and their status from Chinese cardiology dialogues."""

    name = "mie_zh"
    description = "MIE (zh): entities + status from cardiology dialogues, label F1 (data unlicensed: --data PATH)"
    citation = "Zhang et al. 2020, MIE: A Medical Information Extractor, ACL"
    default_data = "notes/mie_cardiology_zh"
    metric = "mean"

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """MIE dialogues with their gold labels; the ontology is read beside the data."""
        from medsage.notes.mie import read_mie

        path = _resolve(self, data)
        onto_dir = str(path if path.is_dir() else path.parent)
        result = LoadResult()
        for d in read_mie(path):
            if not d["utterances"]:
                result.problems.append(f"{d['id']}: no utterances")
                continue
            result.samples.append(Sample(
                id=d["id"], question="\n".join(d["utterances"]), target="\n".join(d["labels"]),
                metadata={"language": "zh", "task": self.name, "mie_ontology": onto_dir}))
        return result

    def messages(self, sample: Sample, mode: str = "generate", **options: Any) -> list[Message]:
        """A Chinese prompt listing the ontology's terms and the label format."""
        from medsage.notes.mie import load_ontology

        onto = load_ontology(sample.metadata.get("mie_ontology"))
        vocab = "；".join(f"{cat}：{'、'.join(terms)}" for cat, terms in onto.items())
        prompt = (f"以下是一段心内科医患对话：\n{sample.question}\n\n"
                  f"请找出对话中提到的实体（只能从这些词中选）：{vocab}。\n"
                  "每个实体写一行，格式为 类别:实体-状态:状态，状态为 阳性、阴性、医生阳性、医生阴性 或 未知。"
                  "例如：症状:胸痛-状态:阳性")
        return [Message("user", prompt)]

    async def score(self, state: CaseState, grader: Model | None = None) -> Score:
        """Label F1 of the parsed ``类别:实体-状态:状态`` lines against the gold labels."""
        from medsage.notes.mie import label_f1, parse_labels

        out = state.output
        text = out.text if out is not None and not out.error else ""
        pred = parse_labels(text)
        gold = {x for x in state.sample.target.splitlines() if x.strip()}
        m = label_f1(pred, gold)
        return Score(value=float(m["f1"]), answer="\n".join(sorted(pred)) or None,
                     target=state.sample.target, explanation=f"label F1 {m['f1']:.3f}", metadata=m)


NOTES_ACI = AciTask()
NOTES_MTS = MtsTask()
NOTES_PRIMOCK57 = PriMockTask()
MIE_ZH = MieTask()
