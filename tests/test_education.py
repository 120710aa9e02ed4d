"""The competency ledger: assessments, lineage, CME against a requirement, modules."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Chain, ident
from salus.credentials import education

SCHOOL_ADMIN, CME_ADMIN = ident("school-admin"), ident("cme-admin")
PROF, DR_A, DR_B = ident("prof-x"), ident("resident-a"), ident("student-b")
STUDENT_C, CME_DESK, REGISTRAR = ident("student-c"), ident("cme-desk"), ident("board-registrar")


def _valid(block) -> None:
    for r in block.results:
        assert r.code == "VALID", r.reason


@pytest.fixture
def school(chain: Chain) -> Chain:
    regulator = ident("regulator-admin")
    _valid(chain.commit(
        chain.tx(regulator, "membership", "add_organisation",
                 {"id": "med-school", "name": "Medical School", "type": "school",
                  "admins": [SCHOOL_ADMIN.did]}),
        chain.tx(regulator, "membership", "add_organisation",
                 {"id": "cme-co", "name": "CME Co", "type": "cme_provider",
                  "admins": [CME_ADMIN.did]})))
    _valid(chain.commit(
        chain.tx(SCHOOL_ADMIN, "membership", "enrol", {"org": "med-school", "member": PROF.did,
                                                       "roles": ["assessor", "educator"]}),
        chain.tx(SCHOOL_ADMIN, "membership", "enrol", {"org": "med-school", "member": DR_A.did,
                                                       "roles": ["learner"]}),
        chain.tx(SCHOOL_ADMIN, "membership", "enrol", {"org": "med-school", "member": DR_B.did,
                                                       "roles": ["learner"]}),
        chain.tx(SCHOOL_ADMIN, "membership", "enrol", {"org": "med-school",
                                                       "member": STUDENT_C.did,
                                                       "roles": ["learner"]}),
        chain.tx(CME_ADMIN, "membership", "enrol", {"org": "cme-co", "member": CME_DESK.did,
                                                    "roles": ["issuer"]}),
        chain.tx(ident("medboard-admin"), "membership", "enrol",
                 {"org": "medboard", "member": REGISTRAR.did, "roles": ["issuer"]})))
    return chain


def _scan(chain: Chain):
    return chain.ledger.store.state_items


def _assess(chain: Chain, who, learner, competency: str, level: int, kind: str = "epa",
            date_: str = "2026-10-01"):
    return chain.commit(chain.tx(who, "education", "assess", {
        "learner": learner.did, "kind": kind, "competency": competency, "level": level,
        "date": date_, "setting": "inpatient"}))


def test_progress_per_competency_with_history(school: Chain) -> None:
    _valid(_assess(school, PROF, DR_A, "EPA1", 2))
    _valid(_assess(school, PROF, DR_A, "EPA1", 4, date_="2026-11-01"))
    _valid(_assess(school, PROF, DR_A, "EPA10", 3))
    _valid(_assess(school, PROF, DR_A, "PC1", 3, kind="milestone"))
    view = education.progress(_scan(school), DR_A.did)
    by = {c["competency"]: c for c in view["competencies"]}
    assert by["EPA1"]["latest"] == 4 and by["EPA1"]["assessments"] == 2
    assert [e["level"] for e in by["EPA1"]["history"]] == [2, 4]
    assert by["PC1"]["kind"] == "milestone"
    assert view["epas_entrusted"] == ["EPA1"] and len(view["epas_remaining"]) == 12


@pytest.mark.parametrize("args, code", [
    ({"competency": "EPA14"}, "BAD_ARGUMENTS"), ({"competency": "EPA0"}, "BAD_ARGUMENTS"),
    ({"level": 6}, "BAD_ARGUMENTS"), ({"level": 0}, "BAD_ARGUMENTS"),
    ({"kind": "exam"}, "BAD_ARGUMENTS"), ({"date": "2026-13-01"}, "BAD_ARGUMENTS"),
    ({"competency": "pc1", "kind": "milestone"}, "BAD_ARGUMENTS"),
    ({"learner": ident("stranger").did}, "NOT_FOUND")])
def test_bad_assessments_are_refused_and_change_nothing(school: Chain, args: dict,
                                                        code: str) -> None:
    base = {"learner": DR_A.did, "kind": "epa", "competency": "EPA2", "level": 3,
            "date": "2026-10-01"}
    before = list(school.ledger.store.state_prefix("edu-"))
    block = school.commit(school.tx(PROF, "education", "assess", {**base, **args}))
    assert school.codes(block) == [code], school.verdicts(block)
    assert list(school.ledger.store.state_prefix("edu-")) == before


def test_only_assessors_of_teaching_organisations_assess(school: Chain) -> None:
    block = _assess(school, DR_B, DR_A, "EPA1", 3)  # a learner is no assessor
    assert school.codes(block) == ["FORBIDDEN"]
    block = _assess(school, REGISTRAR, DR_A, "EPA1", 3)  # a board's issuer neither
    assert school.codes(block) == ["FORBIDDEN"]
    _valid(school.commit(school.tx(SCHOOL_ADMIN, "membership", "grant_roles",
                                   {"member": DR_A.did, "roles": ["assessor"]})))
    assert _assess(school, DR_A, DR_A, "EPA1", 5).results[0].code == "FORBIDDEN"  # self


def test_lineage_counts_each_generation(school: Chain) -> None:
    # prof assesses resident A; A becomes an assessor and teaches students B and C;
    # B is then taught by prof too (already counted in generation 2: counted once)
    _valid(_assess(school, PROF, DR_A, "EPA3", 3))
    _valid(school.commit(school.tx(SCHOOL_ADMIN, "membership", "grant_roles",
                                   {"member": DR_A.did, "roles": ["educator"]})))
    _valid(school.commit(school.tx(DR_A, "education", "teach",
                                   {"learners": [DR_B.did, STUDENT_C.did],
                                    "activity": "suturing-lab"})))
    view = education.lineage(_scan(school), PROF.did, depth=3)
    assert [(g["generation"], g["count"]) for g in view["generations"]] == [(1, 1), (2, 2)]
    assert view["generations"][1]["members"] == sorted([DR_B.did, STUDENT_C.did])
    _valid(school.commit(school.tx(PROF, "education", "teach",
                                   {"learners": [DR_B.did], "activity": "ward-round"})))
    view = education.lineage(_scan(school), PROF.did, depth=3)
    assert [(g["generation"], g["count"]) for g in view["generations"]] == [(1, 2), (2, 1)]
    assert view["total"] == 3
    with pytest.raises(education.EducationError):
        education.lineage(_scan(school), PROF.did, depth=0)


def test_cme_hours_per_period_against_a_requirement(school: Chain) -> None:
    _valid(school.commit(school.tx(REGISTRAR, "education", "set_cme_requirement",
                                   {"id": "biennial", "hours": 5000, "months": 24,
                                    "category": "AMA_PRA_1"})))
    for activity, hours, category, done in (("sepsis", 2000, "AMA_PRA_1", "2025-03-01"),
                                            ("ecg", 2500, "AMA_PRA_1", "2026-06-01"),
                                            ("ethics", 1000, "AMA_PRA_2", "2026-07-01"),
                                            ("old", 3000, "AMA_PRA_1", "2023-01-01")):
        _valid(school.commit(school.tx(CME_DESK, "education", "record_cme", {
            "professional": DR_A.did, "activity": activity, "hours": hours,
            "category": category, "completed": done})))
    status = education.cme_status(_scan(school), school.ledger.state_value, DR_A.did,
                                  "medboard/biennial", date(2026, 11, 21))
    assert status["earned_hours"] == 4500 and not status["met"]
    assert status["shortfall_hours"] == 500
    assert {e["activity"] for e in status["not_counted"]} == {"ethics", "old"}
    duplicate = school.commit(school.tx(CME_DESK, "education", "record_cme", {
        "professional": DR_A.did, "activity": "ecg", "hours": 1, "category": "MOC",
        "completed": "2026-06-02"}))
    assert duplicate.results[0].code == "CONFLICT"
    not_provider = school.commit(school.tx(PROF, "education", "record_cme", {
        "professional": DR_A.did, "activity": "x", "hours": 1, "category": "MOC",
        "completed": "2026-06-02"}))
    assert school.codes(not_provider) == ["FORBIDDEN"]
    with pytest.raises(education.EducationError) as err:
        education.cme_status(_scan(school), school.ledger.state_value, DR_A.did,
                             "medboard/none", date(2026, 11, 21))
    assert err.value.code == "NOT_FOUND"


def test_module_usage_and_effectiveness(school: Chain) -> None:
    for learner, pre, post in ((DR_A, 40, 80), (DR_B, 60, 70), (DR_A, 80, 75)):
        _valid(school.commit(school.tx(PROF, "education", "record_module", {
            "module": "airway-101", "learner": learner.did, "pre": pre, "post": post})))
    stats = education.module_stats(school.ledger.state_value, "airway-101")
    assert stats["completions"] == 3 and stats["learners"] == 2
    assert stats["mean_pre"] == 60.0 and stats["mean_post"] == 75.0
    assert stats["mean_gain"] == 15.0 and stats["improved_share"] == 0.667


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.dictionaries(st.sampled_from(["learner", "kind", "competency", "level", "date",
                                             "setting", "extra"]),
                            st.none() | st.integers(-5, 20) | st.text(max_size=12),
                            max_size=7))
def test_any_arguments_get_a_code_and_change_nothing_unless_valid(school: Chain, args) -> None:
    before = list(school.ledger.store.state_prefix("edu-"))
    block = school.commit(school.tx(PROF, "education", "assess", args))
    ((code, reason),) = school.verdicts(block)
    assert code and reason is not None
    if code != "VALID":
        assert list(school.ledger.store.state_prefix("edu-")) == before


def test_views_over_the_api_are_for_members_only(tmp_path) -> None:
    import httpx

    from credentials_net import running
    from salus.client import SalusError

    with running(tmp_path) as net:
        with net.client("med-school-admin") as admin:
            admin.call("membership", "enrol", {"org": "med-school", "member": PROF.did,
                                               "roles": ["assessor"]})
            admin.call("membership", "enrol", {"org": "med-school", "member": DR_A.did,
                                               "roles": ["learner"]})
        with net.client(PROF) as prof:
            prof.call("education", "assess", {"learner": DR_A.did, "kind": "epa",
                                              "competency": "EPA5", "level": 4,
                                              "date": "2026-11-01"})
            prof.call("education", "record_module", {"module": "notes-101",
                                                     "learner": DR_A.did, "pre": 50, "post": 90})
            view = prof.education_progress(DR_A.did)
            assert view["epas_entrusted"] == ["EPA5"]
            assert prof.education_lineage(PROF.did)["total"] == 1
            assert prof.module_stats("notes-101")["mean_gain"] == 40.0
            for call, code in ((lambda: prof.module_stats("nope"), "NOT_FOUND"),
                               (lambda: prof.cme_status(DR_A.did, "medboard/x"), "NOT_FOUND"),
                               (lambda: prof.education_lineage(PROF.did, 99), "BAD_REQUEST")):
                with pytest.raises(SalusError) as err:
                    call()
                assert err.value.code == code
        anonymous = httpx.get(f"{net.url}/v1/education/progress/{DR_A.did}")
        assert anonymous.status_code == 401
