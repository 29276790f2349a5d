"""The page in a real browser: Debian's headless Chromium driven by selenium loads the
page served by ``sasnn serve``'s application, uploads AOT_Microemulsion-Core_Contrast.xml,
sees the ranked list, runs a fit and sees the fitted curves overlaid.

Skips, loudly, where /usr/bin/chromium or /usr/bin/chromedriver is missing (.ci/setup
installs them with apt where it can). Nothing is downloaded: selenium is pointed at the
Debian driver and browser and told to stay offline. SASNN_SCREENSHOT=PATH also saves the
screenshot there (docs/web_page.png was made so).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.slow

if not (CHROMIUM.exists() and DRIVER.exists()):
    pytest.skip(f"BROWSER TEST SKIPPED: {CHROMIUM} or {DRIVER} is missing; install them with "
                "`apt-get install -y chromium chromium-driver`", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver",
                                reason="BROWSER TEST SKIPPED: selenium is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    import uvicorn

    from sasnn.web.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not instance.started:
        assert time.time() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must not fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1100", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(DRIVER)))
    yield driver
    driver.quit()


def wait_for(driver, condition, seconds: float, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.5).until(lambda d: condition(d))
    except Exception as exc:
        messages = driver.find_element("id", "messages").text
        raise AssertionError(f"timed out waiting for {what}; page messages: {messages!r}") from exc


def test_upload_rank_fit_and_overlay(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    from sasnn.io import example_data_path

    data = example_data_path("AOT_Microemulsion-Core_Contrast.xml")
    browser.get(server + "/")
    assert "sasnn" in browser.title
    chooser = browser.find_element(By.ID, "files")
    browser.execute_script("arguments[0].style.display = 'block'", chooser)  # hidden behind the drop zone
    chooser.send_keys(str(data))

    rows = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#item-0 .ranked tbody tr"), 60,
                    "the ranked list")
    assert len(rows) == 3
    assert rows[0].text.split()[1] == "core_shell_parallelepiped@hardsphere"  # the CLI's first candidate
    assert browser.find_element(By.CSS_SELECTOR, "#item-0 .plot-iq canvas")  # the data are plotted

    item = browser.find_element(By.ID, "item-0")
    browser.execute_script("arguments[0].value = 3", item.find_element(By.CSS_SELECTOR, ".fit-top"))
    item.find_element(By.CSS_SELECTOR, "button.fit").click()
    wait_for(browser, lambda d: item.get_attribute("data-fit-state") == "running", 30, "the fit to start")
    wait_for(browser, lambda d: item.get_attribute("data-fit-state") not in ("running", None), 900,
             "the fit to finish")
    state = item.find_element(By.CSS_SELECTOR, ".fit-state").text
    assert item.get_attribute("data-fit-state") == "done", state
    assert item.find_element(By.CSS_SELECTOR, ".plot-iq").get_attribute("data-fits") == "3"
    legend = item.find_element(By.CSS_SELECTOR, ".plot-iq .u-legend").text
    assert legend.count("fit ") == 3, legend
    assert item.find_element(By.CSS_SELECTOR, ".plot-res canvas")  # residuals below
    header = [th.text for th in item.find_elements(By.CSS_SELECTOR, ".ranked thead th")]
    assert header[-3:] == ["χ²ᵣ", "BIC", "weight"]
    assert item.find_elements(By.CSS_SELECTOR, ".parameters table.params tr")

    shot = tmp_path / "web_page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("SASNN_SCREENSHOT"):
        shutil.copy(shot, os.environ["SASNN_SCREENSHOT"])

    # the p(r) tab: Rg, I(0) and Dmax with Dmax found by the evidence, then with Dmax 90 Å
    item.find_element(By.CSS_SELECTOR, ".tabs button[data-tab=pr]").click()
    numbers = item.find_element(By.CSS_SELECTOR, ".pr-numbers")
    wait_for(browser, lambda d: "Rg (Å)" in numbers.text, 60, "the p(r) numbers")
    automatic = numbers.text
    dmax = item.find_element(By.CSS_SELECTOR, ".dmax")
    dmax.clear()
    dmax.send_keys("90")
    item.find_element(By.CSS_SELECTOR, ".run-pr").click()
    wait_for(browser, lambda d: "Rg (Å)" in numbers.text and numbers.text != automatic, 60,
             "the p(r) numbers with Dmax 90 Å")
    assert item.find_element(By.CSS_SELECTOR, ".plot-guinier canvas")


def test_a_bad_file_shows_its_message(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    bad = tmp_path / "entities.xml"
    bad.write_text("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")
    browser.get(server + "/")
    chooser = browser.find_element(By.ID, "files")
    browser.execute_script("arguments[0].style.display = 'block'", chooser)
    chooser.send_keys(str(bad))
    error = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .error"), 30, "the error")
    assert "entities.xml" in error[0].text and "entities" in error[0].text

    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"0" * (21 * 2**20))
    chooser.send_keys(str(huge))
    wait_for(browser, lambda d: "over the 20 MB limit" in d.find_element(By.ID, "messages").text, 30,
             "the size refusal")
