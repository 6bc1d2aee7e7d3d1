"""The offline department router on the hash embedder (rules + a tiny classifier)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsage.errors import DataError
from medsage.route.department import DepartmentRouter, sample_departments
from medsage.route.deptlist import load_department_list

FIXTURES = Path(__file__).parent / "fixtures"


def names(router: DepartmentRouter, text: str, dl: object = None) -> list[str]:
    return router.route(text, dl or sample_departments()).names  # type: ignore[arg-type]


def test_child_with_productive_cough_goes_to_paediatric_respiratory(hash_router: DepartmentRouter) -> None:
    got = names(hash_router, "孩子3岁，发烧两天了，咳嗽有痰，晚上咳得厉害，挂什么科？")
    assert got[0] == "小儿呼吸内科"
    assert "呼吸内科" not in got  # an adult clinic is not offered to a child


def test_the_same_cough_in_an_adult_goes_to_adult_respiratory(hash_router: DepartmentRouter) -> None:
    assert names(hash_router, "咳嗽一个多月了，白天晚上都咳，有痰")[0] == "呼吸内科"


def test_newborn_goes_to_neonatology(hash_router: DepartmentRouter) -> None:
    assert names(hash_router, "宝宝出生10天，皮肤和眼睛越来越黄")[0] == "新生儿科"


def test_crushing_chest_pain_puts_emergency_first(hash_router: DepartmentRouter) -> None:
    res = hash_router.route("胸口像压了块大石头一样疼，出冷汗，已经半小时了", sample_departments())
    assert res.urgency == "emergency" and res.names[0] == "急诊科" and res.departments[0].red_flag
    assert "心血管内科" in res.names
    assert "红旗征" in res.departments[0].reason


def test_sudden_vision_loss_names_the_eye_clinic(hash_router: DepartmentRouter) -> None:
    res = hash_router.route("Suddenly I can't see out of my right eye, like a curtain came down",
                            sample_departments())
    assert "眼科" in res.names and res.lang == "en"


def test_pregnancy_goes_to_obstetrics_and_men_not_to_gynaecology(hash_router: DepartmentRouter) -> None:
    assert names(hash_router, "怀孕期间感冒了，咳嗽流鼻涕，能吃什么药")[0] == "产科"
    bleeding = hash_router.route("怀孕12周了，最近有点见红，肚子隐隐作痛", sample_departments())
    assert "产科" in bleeding.names  # after 急诊科 when the red-flag triage fires
    assert bleeding.urgency != "emergency" or bleeding.names[0] == "急诊科"
    assert not {"妇科", "产科"} & set(names(hash_router, "我老公尿频尿急，晚上起夜好几次"))


def test_any_naming_and_names_verbatim(hash_router: DepartmentRouter) -> None:
    dl = load_department_list(FIXTURES / "hospital_list.txt")
    res = hash_router.route("孩子5岁，咳嗽有痰三天", dl)
    assert res.names[0] == "小儿呼吸内科"
    assert set(res.names) <= set(dl.names)
    assert names(hash_router, "耳朵里一直嗡嗡响，听力下降", dl)[0] == "耳鼻咽喉头颈外科"


def test_builtin_list_follows_the_query_language(hash_router: DepartmentRouter) -> None:
    zh = hash_router.route("牙疼得睡不着觉，半边脸都肿了")
    en = hash_router.route("I have a terrible toothache and my cheek is swollen")
    assert zh.names[0] == "口腔科" and en.names[0] == "Dentistry"
    assert "牙" in zh.departments[0].reason and "tooth" in en.departments[0].reason


def test_reasons_scores_and_top(hash_router: DepartmentRouter) -> None:
    res = hash_router.route("尿频尿急尿痛，还有点血尿", sample_departments(), top=1)
    assert len(res.departments) == 1
    d = res.departments[0]
    assert 0 < d.score <= 1 and d.reason
    out = res.to_dict()
    assert set(out) >= {"departments", "urgency", "medical"}
    assert set(out["departments"][0]) == {"name", "score", "reason"}


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_an_error(hash_router: DepartmentRouter, text: str) -> None:
    with pytest.raises(DataError, match="empty complaint"):
        hash_router.route(text)


def test_bad_list_is_an_error(hash_router: DepartmentRouter, tmp_path: Path) -> None:
    p = tmp_path / "l.txt"
    p.write_text("眼科\n眼科\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate"):
        hash_router.route("眼睛红", p)
