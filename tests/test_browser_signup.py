"""A person in a real browser: the hosted form on the local stack, the outbox, the confirmation
link and its button (P01: confirmed only after double opt-in; the GET alone changes nothing).

Headless Chromium from Debian's packages (`make test` installs chromium and chromium-driver when
they are missing), driven by Selenium with the system driver: nothing is downloaded.
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.stack import get_json, running_stack

PERSON = "browser.person@example.com"
BROWSER_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "install Debian's chromium and chromium-driver (make test does)"
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a browser
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in BROWSER_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def subscriber(local: dict[str, str]) -> dict:
    url = f"{local['api_url']}/v1/lists/{local['list_id']}/subscribers/{quote(PERSON)}"
    return get_json(url, {"Authorization": f"Bearer {local['api_key']}"})


def wait_for_confirmation_link(browser: webdriver.Chrome, outbox_url: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        browser.get(outbox_url)
        links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href*='/c/']")]
        if links:
            return links[0]
        time.sleep(0.5)
    pytest.fail("no confirmation mail reached the outbox")


def press_submit(browser: webdriver.Chrome) -> None:
    browser.find_element(By.CSS_SELECTOR, "form button[type='submit'], form input[type='submit']").click()


def wait_for_text(browser: webdriver.Chrome, text: str) -> None:
    """Wait for the page the click led to (page_source may still be the old page)."""
    WebDriverWait(browser, 15).until(lambda driver: text in driver.page_source.lower())


def test_p01_a_person_signs_up_in_a_browser_and_confirms_by_double_opt_in(browser, tmp_path):
    with running_stack(tmp_path) as stack:
        local = stack.details
        browser.get(local["form_url"])
        wait_for_text(browser, "demo newsletter")  # a loaded machine may hand back a blank page first
        browser.find_element(By.CSS_SELECTOR, "input[name='email']").send_keys(PERSON)
        browser.find_element(By.CSS_SELECTOR, "input[name='consent']").click()
        press_submit(browser)
        wait_for_text(browser, "check your inbox")

        browser.get(wait_for_confirmation_link(browser, local["outbox_url"]))
        assert subscriber(local)["status"] == "pending", "opening the link alone must change nothing"
        press_submit(browser)
        wait_for_text(browser, "is confirmed")

        confirmed = subscriber(local)
        assert confirmed["status"] == "confirmed"
        assert confirmed["consent"]["source"] == "form"
    assert stack.returncode == 0
