"""End to end in a real browser: `lmforge label serve` (uvicorn, a subprocess on a free loopback port) driven by
headless Chromium through Playwright (Debian's /usr/bin/chromium; nothing downloaded)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from alignment.preferences import import_preferences
from labeling.auth import add_annotator
from labeling.database import close_engine
from labeling.importing import import_file, publish_pairs
from labeling.screenshots import take_screenshots
from labeling.scripted_annotator import label_by_rule, prefer_containing, prefer_longer
from tests.labeling.labeling_harness import free_port, pair_rows, write_jsonl

CHROMIUM = Path("/usr/bin/chromium")
REPOSITORY = Path(__file__).resolve().parents[2]
PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
MARKDOWN_PAYLOAD = (
    "Here is **bold** text and `inline code`:\n\n```python\nprint('hello')\n```\n\n"
    "<script>window.__pwned = 3</script>\n\n"
    "[a link](javascript:window.__pwned=4) and [another](JaVaScRiPt:window.__pwned=5) "
    '<img src=x onerror="window.__pwned = 6">\n\n'
    '![picture](x" onerror="window.__pwned = 7)\n\n'
    '<a href="javascript:window.__pwned=8">raw</a> [ok](https://example.com/)'
)

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the skip below explains
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.skipif(
        sync_playwright is None, reason="needs the playwright package (pip install playwright)"
    ),
]


@dataclass
class LiveService:
    base_url: str
    database_url: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    directory = tmp_path_factory.mktemp("label-live")
    database_url = f"sqlite:///{directory / 'labels.sqlite3'}"
    tokens = {
        name: add_annotator(database_url, name, admin=name == "boss")
        for name in ("boss", "ann", "bob", "cy", "dee", "eve", "fay")
    }
    xss_pair = {"id": "xss", "prompt": f"Repeat this: {PAYLOAD}", "response_a": PAYLOAD, "response_b": "I won't.",
                "margin": 0.0}  # fmt: skip
    publish_pairs(database_url, [xss_pair, *pair_rows(5, margins=[0.1, 0.2, 0.3, 0.4, 0.5])], batch="web")
    publish_pairs(database_url, pair_rows(4, prefix="s"), batch="scripted", labels_required=2)
    documents = [{"id": "xss-doc", "text": f"Page text {PAYLOAD}", "reason": "c4:javascript"},
                 {"id": "fine-doc", "text": "A plain and useful paragraph about rivers.", "url": "javascript:alert(1)"}]  # fmt: skip
    import_file(database_url, write_jsonl(directory / "docs.jsonl", documents), batch="audit")
    long_reply = "".join(
        f"Paragraph {index} of a very long answer, which goes on and on.\n\n" for index in range(150)
    )
    publish_pairs(database_url, [{"id": "markdown", "prompt": "Show me *code*", "response_a": MARKDOWN_PAYLOAD,
                                  "response_b": long_reply, "margin": 0.0}], batch="md")  # fmt: skip
    publish_pairs(database_url, pair_rows(3, prefix="u"), batch="undo")
    publish_pairs(database_url, pair_rows(2, prefix="e"), batch="edit")
    close_engine(database_url)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "labeling.cli", "label", "serve", "--db", database_url,
         "--port", str(port), "--log-level", "warning"],
        cwd=REPOSITORY, env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base_url}/login", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            output = server.stdout.read().decode(errors="replace") if server.stdout else ""
            server.kill()
            pytest.fail(f"lmforge label serve did not start: {output[-2000:]}")
        time.sleep(0.1)
    yield LiveService(base_url, database_url, tokens)
    server.terminate()
    server.wait(timeout=20)
    close_engine(database_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


def log_in(browser: Browser, live: LiveService, name: str, target: str, **context: Any) -> Page:
    """Log in through the form on the way to `target`; on the labeling page, press N to get the first task
    (reserving one is a POST, never the GET that shows the page)."""
    page = browser.new_context(accept_downloads=True, **context).new_page()
    page.goto(f"{live.base_url}{target}")
    assert "/login" in page.url  # no token yet: sent to the login page
    page.fill("#token", live.tokens[name])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if page.locator("#next-form").count():
        press(page, "n")
    return page


def press(page: Page, key: str) -> None:
    """Press a shortcut and wait for the next task's page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def assert_payload_inert(page: Page, selector: str) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert PAYLOAD in page.inner_text(selector)  # shown literally, as text
    assert page.locator(f"{selector} img, {selector} script").count() == 0


def test_keyboard_labelling_admin_page_and_export(
    live: LiveService, browser: Browser, tmp_path: Path
) -> None:
    page = log_in(browser, live, "ann", "/label?batch=web")
    assert page.url.endswith("/label?batch=web") and page.inner_text("#who-name") == "ann"
    # The smallest margin comes first: the pair whose response carries a script.
    assert page.get_attribute("section.task", "data-kind") == "pair"
    assert_payload_inert(page, ".responses")
    assert PAYLOAD in page.inner_text(".conversation")

    expected: list[tuple[str, str, str]] = []
    for key in ("1", "2", "3", "4", "s"):
        left, right = page.inner_text("#response-left .content"), page.inner_text("#response-right .content")
        expected.append((key, left, right))
        press(page, key)
        assert page.locator("#saved-notice").count() == 1
    assert page.evaluate("typeof window.__pwned") == "undefined"

    admin = log_in(browser, live, "boss", "/admin")
    annotator_row = admin.locator('tr[data-annotator="ann"] td.labels')
    assert annotator_row.inner_text() == "4"  # the skip is not a label
    left, right = page.inner_text("#response-left .content"), page.inner_text("#response-right .content")
    expected.append(("2", left, right))
    press(page, "2")
    assert page.locator("#nothing-left").count() == 1  # all six pairs of the batch are done
    admin.reload()
    assert annotator_row.inner_text() == "5"
    assert admin.inner_text("#labelled-items") == "5"  # the skipped pair still needs its label

    with admin.expect_download() as download_info:
        admin.click("#export-preferences-jsonl")
    exported = tmp_path / "preferences.jsonl"
    download_info.value.save_as(exported)
    imported = import_preferences(exported)
    assert imported.report["rejected"] == 0
    pairs = {(row["chosen"], row["rejected"]) for row in imported.table.to_pylist()}
    wanted = {(left, right) if key == "1" else (right, left) for key, left, right in expected if key in "12"}
    assert pairs == wanted and len(pairs) == 3  # 1, 2 and the last 2; tie, both bad and skip are not pairs
    assert set(imported.table.column("annotator").to_pylist()) == {"ann"}

    my_labels = page.context.new_page()
    my_labels.goto(f"{live.base_url}/my-labels")
    assert my_labels.locator("#my-labels tbody tr").count() == 6


def test_document_audit_by_keyboard_keeps_scripts_inert(live: LiveService, browser: Browser) -> None:
    page = log_in(browser, live, "bob", "/label?kind=document")
    assert page.get_attribute("section.task", "data-kind") == "document"
    assert_payload_inert(page, "#document-text")
    assert "c4:javascript" in page.inner_text(".facts")
    page.keyboard.press("r")  # R: type a reason; the keys are text now, not shortcuts
    page.keyboard.type("spam with script kiddies")
    page.keyboard.press("Escape")
    press(page, "d")
    assert page.locator("section.task a[href^='javascript']").count() == 0  # a URL is shown, never linked
    assert "javascript:alert(1)" in page.inner_text(".facts")
    press(page, "k")
    assert page.locator("#nothing-left").count() == 1
    audit = httpx.get(
        f"{live.base_url}/api/export", params={"audit": "true"},
        headers={"Authorization": f"Bearer {live.tokens['boss']}"},
    )  # fmt: skip
    rows = {row["id"]: row for row in map(json.loads, audit.text.splitlines())}
    assert rows["xss-doc"]["label"] == "drop" and rows["xss-doc"]["reasons"] == ["spam with script kiddies"]
    assert rows["xss-doc"]["filter_agrees"] is True
    assert rows["fine-doc"]["label"] == "keep" and rows["fine-doc"]["filter_agrees"] is True


def test_scripted_annotators_and_refusals_over_http(live: LiveService) -> None:
    bob = label_by_rule(live.base_url, live.tokens["bob"], prefer_containing("alpha"), batch="scripted")
    cy = label_by_rule(live.base_url, live.tokens["cy"], prefer_longer, batch="scripted")
    assert bob.labels == cy.labels == 4  # k = 2: both get every item of the batch
    report = json.loads(
        httpx.get(
            f"{live.base_url}/api/export", params={"batch": "scripted"},
            headers={"Authorization": f"Bearer {live.tokens['boss']}"},
        ).headers["x-export-report"]
    )  # fmt: skip
    assert report["disagreements"] == 4 and report["pairs_written"] == 0  # alpha is the shorter reply
    assert httpx.post(f"{live.base_url}/api/tasks/next").status_code == 401
    assert (
        httpx.get(f"{live.base_url}/admin", follow_redirects=False).headers["location"].startswith("/login")
    )
    others = {"Authorization": f"Bearer {live.tokens['cy']}"}
    assert httpx.get(f"{live.base_url}/api/labels/{bob.assignments[0]}", headers=others).status_code == 404
    refused = httpx.put(
        f"{live.base_url}/api/labels/{bob.assignments[0]}", json={"choice": "tie"}, headers=others
    )
    assert refused.status_code == 404
    assert httpx.get(f"{live.base_url}/api/stats", headers=others).status_code == 403


def test_markdown_is_rendered_and_stays_inert_and_the_action_bar_stays_in_view(
    live: LiveService, browser: Browser
) -> None:
    page = log_in(browser, live, "dee", "/label?batch=md", viewport={"width": 1280, "height": 800})
    left_is_markdown = "print(" in page.inner_text("#response-left")
    side = "#response-left" if left_is_markdown else "#response-right"
    code = page.locator(f"{side} pre code")
    assert code.count() == 1 and code.inner_text().strip() == "print('hello')"
    assert "monospace" in code.evaluate("element => getComputedStyle(element).fontFamily")
    assert page.locator(f"{side} strong").inner_text() == "bold"
    assert (
        page.locator(f"{side} a[href='https://example.com/']").get_attribute("rel")
        == "noopener noreferrer nofollow"
    )
    for selector in ("script", "img", "[onerror]", "a[href^='javascript' i]", "[style]"):
        assert page.locator(f".responses {selector}").count() == 0, selector
    text = page.inner_text(side)
    assert "<script>window.__pwned = 3</script>" in text  # shown, as text
    assert page.evaluate("typeof window.__pwned") == "undefined"
    for link in page.locator(f"{side} a").all():  # clicking every link runs nothing either
        if (link.get_attribute("href") or "").startswith("https://"):
            continue
        link.click()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # A ~150-paragraph reply: the page is several screens long, and the answer buttons are on screen at the
    # top, in the middle and at the bottom of it.
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height > 3 * 800
    for position in (0, height // 2, height):
        page.evaluate(f"window.scrollTo(0, {position})")
        box = page.locator("#label-form button[data-key='1']").bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 800, (position, box)


def test_the_task_page_fits_a_360_px_screen(live: LiveService, browser: Browser) -> None:
    page = log_in(browser, live, "dee", "/label?batch=md", viewport={"width": 360, "height": 740})
    assert page.locator("#response-left").count() == 1  # dee's reserved task, from the test above
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    overflowing = page.evaluate(
        """() => Array.from(document.querySelectorAll("header *, main *")).filter(element => {
            const box = element.getBoundingClientRect();
            const clipped = element.scrollWidth > element.clientWidth + 1
                && getComputedStyle(element).overflowX === "hidden";
            return box.width > 0 && (box.right > window.innerWidth + 0.5 || box.left < -0.5 || clipped);
        }).map(element => element.tagName + "#" + element.id + "." + element.className)"""
    )
    assert overflowing == []
    box = page.locator("#label-form button[data-key='4']").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 740  # the buttons are on the first screen
    # Nothing text-bearing is cut: each button shows its whole label.
    assert page.evaluate(
        "Array.from(document.querySelectorAll('#label-form button')).every(b => b.scrollWidth <= b.clientWidth + 1)"
    )


def labels_of(live: LiveService, name: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{live.base_url}/api/labels", headers={"Authorization": f"Bearer {live.tokens[name]}"}
    )
    return response.json()


def test_undo_by_key_and_by_button(live: LiveService, browser: Browser) -> None:
    page = log_in(browser, live, "eve", "/label?batch=undo")
    first_item = page.inner_text(".task-meta code >> nth=1")
    press(page, "1")
    assert page.locator("#saved-notice").count() == 1 and len(labels_of(live, "eve")) == 1
    press(page, "u")  # U: undo
    assert page.locator("#undone-notice").count() == 1
    assert page.inner_text(".task-meta code >> nth=1") == first_item  # the same task is back
    assert labels_of(live, "eve") == []
    press(page, "2")
    with page.expect_navigation():
        page.click("#undo-button")  # the button does the same
    assert page.inner_text(".task-meta code >> nth=1") == first_item and labels_of(live, "eve") == []
    press(page, "3")
    (label,) = labels_of(live, "eve")
    assert label["item_id"] == first_item and label["choice"] == "tie"
    history = httpx.get(
        f"{live.base_url}/api/labels/{label['id']}/history",
        headers={"Authorization": f"Bearer {live.tokens['eve']}"},
    ).json()
    assert [change["new_choice"] for change in history][1::2] == [None, None]  # both undos are recorded
    assert [change["new_choice"] for change in history][-1] == "tie" and len(history) == 5


def test_edit_a_past_label_from_my_labels(live: LiveService, browser: Browser) -> None:
    page = log_in(browser, live, "fay", "/label?batch=edit")
    left, right = page.inner_text("#response-left .content"), page.inner_text("#response-right .content")
    prompt = page.inner_text(".conversation")
    press(page, "1")
    page.goto(f"{live.base_url}/my-labels")
    assert page.locator("#my-labels tbody tr").count() == 1
    with page.expect_navigation():
        page.click("#my-labels .edit-link")
    assert page.inner_text(".conversation") == prompt  # the prompt and both replies, as they were shown
    assert page.inner_text("#response-left .content") == left
    assert page.inner_text("#response-right .content") == right
    assert page.inner_text("#current-answer") == "left"
    with page.expect_navigation():
        page.click("#edit-form button[value='tie']")
    assert page.inner_text("#current-answer") == "tie"
    assert page.locator("#label-history tbody tr").count() == 2
    (label,) = labels_of(live, "fay")
    assert label["choice"] == "tie"
    with page.expect_navigation():
        page.click("#edit-form button[value='right']")
    (label,) = labels_of(live, "fay")
    assert label["shown_as"] == "right" and page.locator("#label-history tbody tr").count() == 3


def test_screenshots(live: LiveService, browser: Browser, tmp_path: Path) -> None:
    from PIL import Image

    publish_pairs(live.database_url, pair_rows(1, prefix="shot"), batch="shots")
    shots = take_screenshots(live.base_url, live.tokens["cy"], live.tokens["boss"], tmp_path, browser=browser)
    for path in shots:
        image = Image.open(path).convert("L")
        assert image.size[0] == (360 if path.name == "labeling-page-360.png" else 1400), path.name
        assert image.size[1] >= (780 if path.name == "labeling-page-360.png" else 900)
        low, high = image.getextrema()
        assert high - low > 100  # text on a background, not a blank page
