"""The dissection page (service/static/) driven in headless Chromium.

The real app runs on loopback over a BM25 index built in a temp folder (the `server`
fixture of conftest.py). Debian's `chromium` (installed by .ci/run) is driven through
Playwright's Python API; Playwright's own browser download is never used. Each test
asks through the page as a user would, waits for the answer and the trace tables, and
checks what is on screen, that the browser console stayed free of errors and that the
page made no request off the loopback host.

Screenshots go to the test's temp folder; set RAG_PAGE_SCREENSHOT_DIR to keep them
(docs/page.png was made that way).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.service.conftest import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WAIT_MS = 90_000  # a busy 2-core machine: generous, but bounded
RRF = "What is reciprocal rank fusion?"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason="Debian chromium is not installed: `apt-get install -y chromium` (.ci/run does)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


class Session:
    """One page, with everything the console said and every host it asked."""

    def __init__(self, browser: Any, server: LiveServer) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("request", self._request)
        self.page.goto(f"{server.url}/")
        configs = "fieldset[data-side=a] select[name=config] option"
        self.page.wait_for_selector(configs, state="attached")

    def _request(self, request: Any) -> None:
        url = urlparse(request.url)
        if url.scheme not in ("data", "blob"):
            self.hosts.add(f"{url.scheme}://{url.netloc}")

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def ask(self, question: str) -> None:
        self.page.fill("#question", question)
        self.page.click("#submit")
        self.page.wait_for_selector(".column")
        self.page.wait_for_selector(".column[aria-busy=true]", state="detached")

    def text(self, selector: str) -> str:
        return str(self.page.locator(selector).first.inner_text())

    def screenshot(self, tmp_path: Path, name: str) -> Path:
        path = tmp_path / name
        self.page.screenshot(path=str(path), full_page=True)
        keep = os.environ.get("RAG_PAGE_SCREENSHOT_DIR")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / name)
        return path

    def close(self, server: LiveServer) -> None:
        self.page.close()
        assert not self.errors, self.errors
        assert self.hosts == {server.url}, self.hosts


@pytest.fixture
def session(browser: Any, server: LiveServer) -> Iterator[Session]:
    opened = Session(browser, server)
    yield opened
    opened.close(server)


def test_ask_shows_answer_citations_and_trace_tables(session: Session, tmp_path: Path) -> None:
    session.ask(RRF)
    page = session.page
    assert "reciprocal rank fusion" in session.text(".answer-text").lower()
    assert page.locator(".answer-text .cite").count() >= 1
    assert page.locator(".citations li").count() >= 1
    stages = page.locator(".stage").evaluate_all("nodes => nodes.map(n => n.dataset.stage)")
    assert stages == ["retrieve", "generate"]
    retrieve = page.locator(".stage[data-stage=retrieve] table.candidates tbody tr")
    assert retrieve.count() == 20  # the config's candidates (10 shown, the rest behind a button)
    first = retrieve.first.locator("td")
    assert first.nth(0).inner_text() == "1" and float(first.nth(3).inner_text()) > 0
    assert retrieve.first.locator(".term").count() >= 1, "BM25 term contributions"
    assert page.locator(".latency-track .seg").count() == 2
    assert page.locator(".stage[data-stage=generate] .selected tbody tr").count() >= 1
    png = session.screenshot(tmp_path, "page-answer.png")
    assert png.stat().st_size > 20_000


def test_citation_click_opens_the_chunk_with_heading_path_and_span(session: Session) -> None:
    session.ask(RRF)
    page = session.page
    cite = page.locator(".answer-text .cite").first
    cite.click()
    page.wait_for_selector("#chunk-dialog[open]")
    page.locator("#chunk-meta").filter(has_text="characters").wait_for()
    assert session.text("#chunk-where") not in ("", "loading…", "(no heading)")
    assert "reciprocal rank fusion" in session.text("#chunk-text").lower()
    assert session.text("#chunk-title").endswith(".md")
    page.click("#chunk-dialog .dialog-close button")
    page.wait_for_selector("#chunk-dialog[open]", state="detached")


def test_compare_shows_two_configs_side_by_side(session: Session, tmp_path: Path) -> None:
    page = session.page
    page.check("#compare")
    page.select_option("fieldset[data-side=b] select[name=config]", "bm25")
    page.fill("fieldset[data-side=b] input[name=top_k]", "2")
    session.ask(RRF)
    assert page.locator("#results.compare .column").count() == 2
    generate = page.locator(".column").nth(1).locator(".stage[data-stage=generate] tbody tr")
    assert generate.count() >= 2
    contexts = (
        page.locator(".column")
        .nth(1)
        .locator(".stage[data-stage=generate] table.candidates tbody tr")
    )
    assert contexts.count() == 2  # overrides.top_k reached the second column only
    assert page.locator(".column").nth(1).locator("td.move .same").count() == 2
    session.screenshot(tmp_path, "page.png")


def test_retrieved_and_flagged_text_is_shown_never_run(session: Session) -> None:
    """A question full of markup: it is shown as text, nothing is fetched, and the guard
    stage appears because the question carries an exfiltration link."""
    question = (
        'What is RRF? <img src="https://attacker.example/x.png"> '
        "![x](https://attacker.example/p.png?d=1) <script>window.pwned=1</script>"
    )
    session.ask(question)
    page = session.page
    assert page.locator("#results img, #results script").count() == 0
    assert page.locator(".stage[data-stage=guard]").count() == 1
    assert "exfil_link" in session.text(".stage[data-stage=guard] table.flags")
    assert "attacker.example" in session.text(".stage[data-stage=guard]")
