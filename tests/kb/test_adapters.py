"""Adapters and chunking: formats, metadata, and bad input reported by name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medsage.errors import SpecError
from medsage.kb.adapters import parse_source, read_source
from medsage.kb.chunking import chunk_document, split_text
from medsage.kb.types import Document, Section

from .conftest import FIXTURES


def _mini_pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` in Helvetica, with a correct xref table."""
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj" % i + body + b"endobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


MINI_PDF = _mini_pdf("Metformin is first line therapy.")


def test_medquad_documents_keep_source_ids_focus_and_url() -> None:
    problems: list[str] = []
    docs = {d.doc_id: d for d in read_source(f"medquad:{FIXTURES / 'medquad'}", problems)}
    assert problems == []
    hbp = docs["MPlusHealthTopics_0000471"]
    assert hbp.title == "High Blood Pressure"
    assert hbp.url == "https://www.nlm.nih.gov/medlineplus/highbloodpressure.html"
    assert hbp.sections[0].heading == "What is (are) High Blood Pressure ?"
    assert hbp.licence.startswith("CC BY 4.0")
    assert "CDC_0000342" in docs and docs["CDC_0000342"].title == "Rabies"


def test_markdown_chinese_sections_and_front_matter() -> None:
    problems: list[str] = []
    (doc,) = list(read_source(f"docs:{FIXTURES / 'docs'}", problems))
    assert doc.doc_id == "docs/influenza_zh.md"
    assert doc.title.startswith("成人流行性感冒诊疗要点")
    assert doc.licence == "CC BY 4.0 (medsage test fixture)"
    assert [s.heading for s in doc.sections][-3:] == ["临床表现", "治疗", "预防"]
    chunks = chunk_document(doc)
    assert {c.language for c in chunks} == {"zh"}
    assert chunks[0].chunk_id == "docs/influenza_zh.md#0.0"
    assert any(c.section == "治疗" and "奥司他韦" in c.text for c in chunks)


def test_html_text_and_pdf(tmp_path: Path) -> None:
    pytest.importorskip("pypdf")
    (tmp_path / "a.html").write_text(
        "<html><head><title>Protocol</title><script>evil()</script></head><body>"
        "<h1>Sepsis protocol</h1><p>Give antibiotics within one hour.</p>"
        "<h2>Fluids</h2><p>30 mL/kg crystalloid.</p></body></html>", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Formulary note\n\nAmoxicillin 500 mg three times daily.", encoding="utf-8")
    (tmp_path / "c.pdf").write_bytes(MINI_PDF)
    problems: list[str] = []
    docs = {d.doc_id.split("/")[-1]: d for d in read_source(f"docs:{tmp_path}", problems)}
    assert problems == []
    html = docs["a.html"]
    assert html.title == "Protocol"
    assert [(s.heading, s.text) for s in html.sections] == [
        ("Sepsis protocol", "Give antibiotics within one hour."), ("Fluids", "30 mL/kg crystalloid.")]
    assert "evil" not in " ".join(s.text for s in html.sections)
    assert docs["b.txt"].title == "Formulary note"
    assert "Metformin is first line therapy" in docs["c.pdf"].sections[0].text
    assert docs["c.pdf"].sections[0].heading == "p. 1"


def test_bad_inputs_are_reported_by_name_and_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pypdf")
    (tmp_path / "good.md").write_text("# Good\n\nAspirin inhibits platelets.", encoding="utf-8")
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf \x00\x01")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.md").write_text("   \n\n", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "secret.md").write_text("# x\n\ny", encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    problems: list[str] = []
    docs = list(read_source(f"docs:{tmp_path}", problems))
    assert [d.title for d in docs] == ["Good"]
    text = "\n".join(problems)
    for name in ("corrupt.pdf", "binary.txt", "empty.md", "image.png", "locked"):
        assert name in text, f"{name} not reported: {text}"
    assert "corrupt PDF" in text and "undecodable" in text and "empty document" in text


def test_gb18030_chinese_text_is_decoded(tmp_path: Path) -> None:
    (tmp_path / "gbk.txt").write_bytes("高血压患者应限制食盐摄入。".encode("gb18030"))
    problems: list[str] = []
    (doc,) = list(read_source(f"docs:{tmp_path / 'gbk.txt'}", problems))
    assert "限制食盐" in doc.sections[0].text and problems == []


def test_source_spec_errors() -> None:
    with pytest.raises(SpecError):
        parse_source("nonsense:/x")
    with pytest.raises(SpecError):
        parse_source("/just/a/path")
    assert parse_source("labels:/x")[0] == "fda_labels"


def test_fda_label_sections(tmp_path: Path) -> None:
    label = tmp_path / "01b14603-8f29-4fa3-8d7e-9d523f802e0b.txt"
    label.write_text("PLAVIX (clopidogrel) tablet\n\n7 DRUG INTERACTIONS\n\n7.1 CYP2C19 Inhibitors\n\n"
                     "Avoid omeprazole with clopidogrel.\n", encoding="utf-8")
    (doc,) = list(read_source(f"fda_labels:{tmp_path}", []))
    assert doc.title.startswith("PLAVIX")
    assert doc.sections[-1] == Section("7.1 CYP2C19 Inhibitors", "Avoid omeprazole with clopidogrel.")
    assert doc.url.endswith("setid=01b14603-8f29-4fa3-8d7e-9d523f802e0b")


def test_long_sections_split_on_boundaries_and_ids_are_stable() -> None:
    text = " ".join(f"Sentence number {i} talks about dosing." for i in range(200))
    pieces = split_text(text, 300)
    assert all(len(p) <= 300 for p in pieces) and len(pieces) > 10
    assert all(p.endswith(".") for p in pieces)
    doc = Document("d1", "T", (Section("H", text), Section("H2", "short")), "docs")
    a, b = chunk_document(doc), chunk_document(doc)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert a[-1].chunk_id == "d1#1.0" and a[-1].section == "H2"
