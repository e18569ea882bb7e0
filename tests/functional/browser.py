"""Headless Chromium for the explorer's tests, driven by Selenium through
chromedriver (Debian's chromium, chromium-driver and python3-selenium, which
scripts/install-deps.sh installs). One browser serves the whole session
(conftest's `browser` fixture); its screenshots are kept in
tests/artifacts/screenshots/ (git-ignored), this run's only."""
import json
import os

import pytest

from conftest import WAIT_S, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SCREENSHOTS = os.path.join(HERE, "..", "artifacts", "screenshots")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The flags this machine's Chromium needs headless (no network beyond loopback).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-extensions",
                  "--window-size=1280,1100"]


def start_browser(tmp_path_factory):
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        pytest.skip(f"browser tests: python3-selenium is missing ({e}); "
                    "scripts/install-deps.sh installs it")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.skip(f"browser tests: {path} is missing; scripts/install-deps.sh installs "
                        "Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except WebDriverException as e:
        pytest.skip(f"browser tests: Chromium cannot start: {e.msg}")
    driver.set_page_load_timeout(WAIT_S)
    os.makedirs(SCREENSHOTS, exist_ok=True)
    for old in os.listdir(SCREENSHOTS):  # the folder shows this run's pages only
        if old.endswith(".png"):
            os.unlink(os.path.join(SCREENSHOTS, old))
    yield Browser(driver)
    driver.quit()


class Browser:
    def __init__(self, driver):
        from selenium.webdriver.common.by import By
        self.driver = driver
        self.by = By

    def open(self, url):
        self.driver.get(url)
        # a marker that a reload would wipe: the page must update without one
        self.driver.execute_script("window.__noReload = true")

    def reset(self):
        self.driver.get("about:blank")
        self.driver.get_log("browser")
        self.driver.get_log("performance")

    def not_reloaded(self):
        return self.driver.execute_script("return window.__noReload === true")

    def go(self, fragment):
        self.driver.execute_script("location.hash = arguments[0]", fragment)

    def find(self, css):
        return self.driver.find_element(self.by.CSS_SELECTOR, css)

    def finds(self, css):
        return self.driver.find_elements(self.by.CSS_SELECTOR, css)

    def text(self, css):
        """The element's visible text, or None; read in one step, since the
        page replaces what it redraws."""
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : null",
            css)

    def wait(self, condition, what):
        return wait_until(condition, what, timeout=WAIT_S, interval=0.1)

    def wait_text(self, css, expected):
        return self.wait(lambda: self.text(css) == expected, f"{css} to show {expected!r} "
                         f"(shows {self.text(css)!r})")

    def type(self, css, text):
        element = self.find(css)
        element.clear()
        element.send_keys(text)

    def click(self, css):
        """Clicks, again if the page redrew the element in between."""
        from selenium.common.exceptions import StaleElementReferenceException

        def clicked():
            try:
                self.find(css).click()
                return True
            except StaleElementReferenceException:
                return False
        self.wait(clicked, f"a click on {css}")

    def screenshot(self, name):
        path = os.path.join(SCREENSHOTS, name)
        assert self.driver.save_screenshot(path), path
        return path

    def errors(self):
        """Console messages of level SEVERE since the last call (a blocked
        load, a Content-Security-Policy violation, an uncaught exception)."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def requested_urls(self, origin):
        """Every URL that a document of origin asked for since the last call
        (Chromium's own pages, such as its new tab page, are not ours)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if (message["method"] == "Network.requestWillBeSent" and
                    params.get("documentURL", "").startswith(origin + "/")):
                urls.append(params["request"]["url"])
        return urls


def assert_clean(browser, origin):
    """No error in the console (a Content-Security-Policy violation, a
    failed load, an exception), and nothing asked for outside the node."""
    assert browser.errors() == []
    urls = browser.requested_urls(origin)
    assert any(u.startswith(origin + "/api/") for u in urls), urls
    outside = [u for u in urls if not u.startswith(origin + "/") and not u.startswith("data:")]
    assert outside == [], f"the page loaded from elsewhere: {outside}"
