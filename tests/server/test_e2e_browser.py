"""End-to-end: the web workspace in headless Chromium (Debian's /usr/bin/chromium).

Skips cleanly when Chromium or the playwright package is missing; never
downloads a browser. Screenshots go to ``$MEDSAGE_ARTIFACTS`` (default
``test-artifacts/server``) — CI keeps them as artefacts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medsage.pipeline import Pipeline
from medsage.types import CaseState, Citation, Finding, ModelOutput

CHROMIUM = Path(os.environ.get("MEDSAGE_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(os.environ.get("MEDSAGE_ARTIFACTS", "test-artifacts/server"))


class CitingPipeline(Pipeline):
    """A test pipeline that cites the knowledge base the way the rag pipeline does."""

    pipeline_name = "testcite"

    async def run(self, state: CaseState) -> CaseState:
        question = state.messages[-1].content
        cites = (Citation(1, "medquad-12", "Hypertension (MedQuAD)", snippet="Thiazide diuretics "
                          "are a first-line treatment for hypertension.", source="MedQuAD"),
                 Citation(2, "who-htn", "WHO guideline", snippet="Start at BP >= 140/90."))
        text = f"For '{question}': a thiazide is first line [1]; treat at 140/90 [2]."
        finding = Finding("red_flag", "high", "Check for hypertensive emergency signs.")
        return state.evolve(output=ModelOutput(text=text, model=self.name), citations=cites,
                            findings=(finding,))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from medsage.registry import pipelines
    from medsage.server import create_app
    from medsage.server.auth import create_key
    from medsage.server.config import ServerConfig
    from medsage.server.store import Store

    from .conftest import serve_in_thread

    pipelines.register("testcite", CitingPipeline)
    tmp = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{tmp / 'e2e.db'}"
    store = Store(url)
    key, _ = create_key(store, "dr e2e", "clinician")
    names = ("testcite", "note", "safety", "rag")
    app = create_app(ServerConfig(database=url, base_models=("mock/echo",), pipelines=names), store)
    for base in serve_in_thread(app):
        yield {"url": base, "key": key, "store": store}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    # bypass_csp: Playwright's wait_for_function(str) evaluates in the page, which the service's
    # CSP (script-src 'self', no eval) rightly forbids; the app itself runs under the CSP, which
    # tests/server/test_hostile_service.py checks on every response.
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, bypass_csp=True)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("dialog", lambda d: (errors.append("dialog:" + d.message), d.dismiss()))
    external: list[str] = []
    pg.on("request", lambda r: None if r.url.startswith((site["url"], "data:", "blob:"))
          else external.append(r.url))
    pg.goto(site["url"] + "/ui/")
    pg.fill("#apikey", site["key"])
    pg.click("#save-key")
    pg.wait_for_function("document.querySelectorAll('#model option').length > 0")
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert errors == [], errors
    assert external == [], f"the workspace reached outside the server: {external}"
    ctx.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_ask_streams_answer_with_citation_and_findings(page: Any) -> None:
    page.select_option("#model", "medsage-testcite")
    page.fill("#ask-input", "first-line drug for hypertension?")
    page.click("#ask-send")
    page.wait_for_selector("#chat-log .answer button.cite")
    answer = page.inner_text("#chat-log .msg.assistant .answer")
    assert "a thiazide is first line" in answer
    page.click("#chat-log .answer button.cite >> nth=0")
    assert "Thiazide diuretics" in page.inner_text("#source-view")
    assert "hypertensive emergency" in page.inner_text("#ask-findings")
    shot(page, "ask-citation")


def test_script_in_input_is_rendered_as_text(page: Any) -> None:
    page.select_option("#model", "mock/echo")
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script><b>bold</b>'
    page.fill("#ask-input", evil)
    page.click("#ask-send")
    page.wait_for_function(
        "document.querySelector('#chat-log .msg.assistant .answer').textContent.includes('<script>')")
    assert page.locator("#chat-log img").count() == 0
    assert page.locator("#chat-log b").count() == 0
    assert evil in page.inner_text("#chat-log .msg.assistant .answer")
    shot(page, "ask-escaped")


def test_chinese_interface(page: Any) -> None:
    page.select_option("#lang", "zh")
    assert page.inner_text("#tab-ask") == "问答"
    assert "决策支持" in page.inner_text(".disclaimer")
    page.click("#tab-safety")
    assert page.inner_text("#safety-go") == "检查"
    shot(page, "zh-safety")
    page.select_option("#lang", "en")
    assert page.inner_text("#tab-ask") == "Ask"


def test_generate_note(page: Any) -> None:
    page.select_option("#model", "mock/echo")
    page.click("#tab-notes")
    page.fill("#note-input", "Doctor: What brings you in today?\nPatient: I have had a cough "
                             "for two weeks and a fever since Monday.\nDoctor: Any chest pain?\n"
                             "Patient: No chest pain.\nDoctor: Let's get a chest X-ray.")
    page.click("#note-go")
    page.wait_for_function("document.querySelector('#note-sections .sentence') || "
                           "document.querySelector('#status').className === 'error'", timeout=60_000)
    assert page.get_attribute("#status", "class") != "error", page.inner_text("#status")
    first = page.locator("#note-sections .sentence").first
    turns = (first.get_attribute("data-turns") or "").split()
    first.hover()
    if turns:
        assert page.locator("#note-turns li.hl").count() >= 1
    with page.expect_download() as dl:
        page.click("#export-md")
    assert dl.value.suggested_filename == "note.md"
    shot(page, "note")


def test_safety_form(page: Any) -> None:
    page.click("#tab-safety")
    page.fill("#meds", "warfarin 5 mg daily\naspirin 100 mg daily")
    page.fill("#p-age", "78")
    page.click("#safety-go")
    page.wait_for_function("!document.querySelector('#safety-table').hidden || "
                           "!document.querySelector('#safety-none').hidden || "
                           "document.querySelector('#status').className === 'error'", timeout=30_000)
    if "Not available" in page.inner_text("#status"):
        pytest.skip("this build has no safety checker yet")
    assert page.get_attribute("#status", "class") != "error", page.inner_text("#status")
    shot(page, "safety")
