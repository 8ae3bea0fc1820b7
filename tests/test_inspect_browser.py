"""The viewer in a real browser: Debian's chromium driven by selenium through chromedriver, against the real
`proofpile inspect` server (uvicorn on 127.0.0.1). Math must arrive as MathML elements the browser lays out,
a hostile document must load fast with nothing run, and the screenshots stay as test artefacts
($PROOFPILE_TEST_ARTIFACTS, else pytest's temporary directory)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.inspect_build import HOSTILE_ID, MATH_ID, with_hostile_shard
from tests.publish_build import carded_build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory, lid_model, shared_data):
    build = carded_build(tmp_path_factory.getbasetemp(), lid_model, shared_data)
    hostile = with_hostile_shard(build, tmp_path_factory.mktemp("inspect") / "hostile")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "proofpile", "inspect", str(hostile), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/static/style.css", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"proofpile inspect did not start:\n{proc.communicate()[1][-2000:]}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium try to download a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory) -> Path:
    d = Path(os.environ.get("PROOFPILE_TEST_ARTIFACTS") or tmp_path_factory.mktemp("screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _open_by_id(browser, site, doc_id):
    from selenium.webdriver.common.by import By

    browser.get(f"{site}/search?id={doc_id}")
    browser.find_element(By.CSS_SELECTOR, "a.doc").click()


def test_math_renders_as_mathml(browser, site, artefacts):
    from selenium.webdriver.common.by import By

    _open_by_id(browser, site, MATH_ID)
    maths = browser.find_elements(By.TAG_NAME, "math")
    assert len(maths) == 5
    # laid out by the browser's MathML engine: real boxes, fractions and roots as MathML elements
    assert all(m.rect["width"] > 0 and m.rect["height"] > 0 for m in maths)
    assert browser.find_elements(By.CSS_SELECTOR, "math mfrac") and browser.find_elements(By.CSS_SELECTOR, "math msqrt")
    assert browser.find_elements(By.CSS_SELECTOR, 'math[display="block"]')
    shot = artefacts / "inspect-math.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 5000
    browser.find_element(By.ID, "raw-toggle").click()
    assert browser.find_elements(By.TAG_NAME, "math") == []
    assert "\\frac{1}{3}" in browser.find_element(By.ID, "text").text


def test_hostile_document_loads_fast_and_runs_nothing(browser, site, artefacts):
    from selenium.webdriver.common.by import By

    browser.get(f"{site}/search?id={HOSTILE_ID}")
    href = browser.find_element(By.CSS_SELECTOR, "a.doc").get_attribute("href")
    t0 = time.perf_counter()
    browser.get(href)
    seconds = time.perf_counter() - t0
    assert "pwned" not in browser.title and browser.title.startswith("document")
    assert browser.find_elements(By.TAG_NAME, "script") == []
    assert browser.find_elements(By.CSS_SELECTOR, "#text img") == []
    body = browser.find_element(By.ID, "text").text
    assert "<script>document.title='pwned'</script>" in body and "\\xff\\xfe" in body
    # generous for a loaded CI machine; measured 0.2-0.7 s here (the page shows 50,000 characters at a time)
    assert seconds < 5, f"the 1 MB hostile document took {seconds:.1f} s to load"
    print(f"hostile 1 MB document, first part: {seconds * 1000:.0f} ms to load in chromium")
    browser.save_screenshot(str(artefacts / "inspect-hostile.png"))
    browser.find_element(By.ID, "last-part").click()
    assert "END-OF-HOSTILE" in browser.find_element(By.ID, "text").text
    assert "pwned" not in browser.title and browser.find_elements(By.TAG_NAME, "script") == []


def test_from_funnel_reason_to_dropped_document(browser, site, artefacts):
    from selenium.webdriver.common.by import By

    browser.get(site + "/")
    shot = artefacts / "inspect-funnel.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 5000
    link = browser.find_element(By.CSS_SELECTOR, 'span.reason[data-reason="wrong_language"] a')
    link.click()
    hits = browser.find_elements(By.CSS_SELECTOR, "#hits a.doc")
    assert hits
    hits[0].click()
    meta = {r.find_element(By.TAG_NAME, "th").text: r.find_element(By.TAG_NAME, "td").text
            for r in browser.find_elements(By.CSS_SELECTOR, "#meta tr")}
    assert meta["reason"] == "wrong_language" and meta["stage"] == "langid"
