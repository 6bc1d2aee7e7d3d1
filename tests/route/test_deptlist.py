"""Department lists: reading, validation, and mapping any naming onto concepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsage.errors import DataError
from medsage.route.deptlist import builtin_list, map_department, read_names, sample_list_path


@pytest.mark.parametrize(("name", "concepts", "child"), [
    ("小儿呼吸内科", ("respiratory",), True),
    ("小儿内科", ("paediatrics",), True),
    ("新生儿科", ("neonatology",), True),
    ("耳鼻咽喉头颈外科", ("ent",), False),
    ("甲状腺乳腺外科", ("thyroid_surgery", "breast"), False),
    ("妇产科", ("gynaecology", "obstetrics"), False),
    ("Cardiology", ("cardiology",), False),
    ("Paediatric Cardiology", ("cardiology",), True),
    ("Ear, Nose and Throat", ("ent",), False),
    ("骨科（关节）", ("orthopaedics",), False),
])
def test_names_map_to_concepts(name: str, concepts: tuple[str, ...], child: bool) -> None:
    entry = map_department(name)
    assert entry.name == name and entry.concepts == concepts and entry.child is child


def test_unknown_name_maps_to_nothing() -> None:
    assert map_department("Kinderheilkunde").concepts == ()


def test_sample_list_has_52_mapped_names_with_childrens_clinics() -> None:
    names = read_names(sample_list_path())
    assert len(names) == 52 == len(set(names))
    entries = [map_department(n) for n in names]
    assert all(e.concepts for e in entries)
    assert sum(e.child for e in entries) >= 10


def test_builtin_list_is_bilingual() -> None:
    zh, en = builtin_list("zh"), builtin_list("en")
    assert "眼科" in zh.names and "Ophthalmology" in en.names and len(zh.names) == len(en.names)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"\n# only a comment\n\n", "empty"),
    (b"\x00\x01\x02PK\x03\x04binary", "binary"),
    (b"\xff\xfe\xfa not utf8", "UTF-8"),
    ("眼科\n皮肤科\n眼科\n".encode(), "duplicate"),
    (b"Cardiology\ncardiology \n", "duplicate"),
])
def test_bad_lists_raise_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "list.txt"
    p.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_names(p)


def test_missing_list_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        read_names(tmp_path / "nope.txt")
