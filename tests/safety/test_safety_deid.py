"""De-identification: detection, checksum, reversible pseudonymisation, redaction."""

from __future__ import annotations

import os

import pytest

from medsage.safety.deid import KeyStore, cn_id_valid, deidentify, detect, reidentify, shift_date

ZH = ("患者张伟，男，45岁，电话13812345678，身份证号110101199003074514，住院号ZY20230512，"
      "住址北京市朝阳区建国路88号院3号楼2单元501室 100022。2023年5月12日入院，邮箱zhangwei@example.com。"
      "主治医师：李红。张伟既往体健。")
EN = ("Patient: John A. Smith  MRN: 00451234  DOB: 03/14/1962\n"
      "Seen on 2023-06-07 by Dr. Emily Carter. Phone (617) 555-0199 ext 12, email john.smith@gmail.com.\n"
      "Address: 150 Anthony Plains Apt. 4\nSouth Glendachester, VA 04307. Insurance ID: XJH-884421. "
      "IP 192.168.10.4, portal https://mychart.example.org/p/123.\nMr. Smith reports chest pain since March 3, 2023. "
      "SSN 541-29-7175.")


def test_resident_id_checksum() -> None:
    assert cn_id_valid("110101199003074514")
    assert not cn_id_valid("110101199003074518")
    assert not cn_id_valid("110101199013074514")  # month 13


@pytest.mark.parametrize("text,types", [
    (ZH, {"PERSON", "PHONE", "CN_RESIDENT_ID", "MEDICAL_ID", "ADDRESS", "DATE", "EMAIL"}),
    (EN, {"PERSON", "MEDICAL_ID", "DATE", "PHONE", "EMAIL", "ADDRESS", "IP", "URL"}),
])
def test_all_types_detected(text: str, types: set[str]) -> None:
    assert {e.type for e in detect(text)} == types


def test_redaction_leaves_no_identifier() -> None:
    out = deidentify(ZH, mode="redact").text
    for secret in ("张伟", "13812345678", "110101199003074514", "ZY20230512", "建国路", "zhangwei@", "李红", "2023年5月12日"):
        assert secret not in out
    out = deidentify(EN, mode="redact").text
    for secret in ("Smith", "00451234", "03/14/1962", "555-0199", "john.smith", "Anthony Plains", "XJH-884421",
                   "192.168.10.4", "mychart", "541-29-7175", "Emily"):
        assert secret not in out


def test_pseudonymise_and_reidentify_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "ward.key"
    for text in (ZH, EN):
        res = deidentify(text, key=key)
        assert res.text != text
        assert reidentify(res.text, key).text == text
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"


def test_tokens_are_consistent_across_documents(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = KeyStore.load(tmp_path / "k.json")
    a = deidentify("Patient: Mary Jones, phone 617-555-0100", key=key)
    b = deidentify("Called Mary Jones at 617-555-0100 again", key=key)
    tok = [e.replacement for e in a.entities if e.type == "PERSON"][0]
    assert tok in b.text


def test_dates_are_shifted_consistently() -> None:
    key = KeyStore(date_shift_days=10)
    res = deidentify("Admitted 2023-01-25, discharged 2023-02-03.", key=key)
    assert res.text == "Admitted 2023-02-04, discharged 2023-02-13."
    assert shift_date("2023年5月12日", 1) == "2023年5月13日"
    assert shift_date("March 3, 2023", -3) == "February 28, 2023"


def test_empty_and_identifier_free_text() -> None:
    assert deidentify("", mode="redact").text == ""
    res = deidentify("Blood pressure 120/80, creatinine 1.1 mg/dL.", mode="redact")
    assert res.entities == []


def test_reidentify_needs_an_existing_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from medsage.errors import DataError

    with pytest.raises(DataError):
        reidentify("[PERSON-abcdef]", tmp_path / "missing.key")


def test_cue_word_is_not_swallowed_into_a_demographics_name() -> None:
    res = deidentify("患者张伟，男，45岁，电话13812345678。", mode="redact")
    assert res.text.startswith("患者[PERSON]，男，45岁") and "张伟" not in res.text
    assert [e.text for e in res.entities if e.type == "PERSON"] == ["张伟"]
    # a surname outside the lexicon still falls back to the loose rule
    assert "[PERSON]" in deidentify("家属：禤小明，男，40岁。", mode="redact").text
