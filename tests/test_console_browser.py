"""The web console in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium) against a live server and the fake signal-cli: sign in, link a device (the QR code on
screen decodes to the link's ``sgnl://linkdevice`` URI, and the page changes by itself when the
phone scans it), register with a captcha, an incoming message counted, a failing webhook shown,
sign out; a read-only token's buttons are disabled and its submits refused.

Each page is photographed, on a laptop's and a phone's screen, into build/console-screenshots/.
Without the browser these tests fail, naming what to install (``make test`` installs it).
"""

import io
import os
import shutil
import time

import pytest
import zxingcpp
from helpers import ACCOUNT
from live_server import LiveServer
from PIL import Image
from processes import child_pids
from receiving_support import ROOT, WebhookTarget, queue_texts
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.fake_signal_cli("0.14.6")]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "build" / "console-screenshots"
TOKEN = "browser-Token_0123456789"
READ_ONLY = "browser-read-only-012345"
LINKED = "+4915100000555"
NEW_NUMBER = "+4915100000777"
CAPTCHA = "signalcaptcha://signal-hcaptcha.5fad97ac-7d06-4e44-b18a-b950b20148ff.registration.P1_eyJ0eXAiOiJKV1Qi"
LAPTOP = (1280, 900)
PHONE = (390, 844)
#: Chromium's options on this machine (no sandbox as root, no calls home on a closed network)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium, with a fresh profile, driven through Debian's chromedriver."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(
            f"The console's browser tests need Chromium and its driver; {', '.join(missing)} missing. Install "
            "Debian's packages: apt-get install chromium chromium-driver (`make browser` does, as root)."
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument(f"--window-size={LAPTOP[0]},{LAPTOP[1]}")
    # an explicit driver: Selenium Manager must not look for (or download) one
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_window_size(*LAPTOP)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name):
    """Photograph the page as a laptop and as a phone show it (build/console-screenshots/<name>-*.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
        driver.set_window_size(*size)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(size[0], max(size[1], min(height + 140, 4000)))
        driver.save_screenshot(str(SCREENSHOTS / f"{name}-{label}.png"))
    driver.set_window_size(*LAPTOP)


def wait(driver, condition, timeout=15):
    """Wait until ``condition`` holds for ``driver``; returns what it returned."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def fill(driver, field_id, text):
    """Type ``text`` into the field with ``field_id``, replacing what it held."""
    field = driver.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(text)
    return field


def sign_in(driver, server, token):
    """Open the console, land on the sign-in page, sign in with ``token`` by keyboard alone."""
    driver.get(f"{server.url}/console/")
    wait(driver, expected_conditions.presence_of_element_located((By.ID, "sign-in-form")))
    assert driver.current_url.startswith(f"{server.url}/console/sign-in")
    fill(driver, "token", token).send_keys(Keys.ENTER)
    wait(driver, expected_conditions.presence_of_element_located((By.ID, "signal-cli-heading")))


@pytest.fixture
def console(make_app, fake):
    """A live server of an app with tokens, the receiver's settings and a webhook that answers 503."""
    with WebhookTarget() as target:
        target.down = True
        app = make_app(
            SIGNAL_REST_API_TOKENS=f"{TOKEN} ro:{READ_ONLY}",
            SIGNAL_REST_RECEIVER=True,
            SIGNAL_REST_RECEIVE_ACCOUNTS=ACCOUNT,
            SIGNAL_REST_RECEIVE_WINDOW=0.2,
            SIGNAL_REST_WEBHOOK_URL=target.url,
            SIGNAL_REST_WEBHOOK_SECRET="browser-webhook-secret",
            SIGNAL_REST_LINK_TIMEOUT=60,
        )
        with LiveServer(app) as server:
            server.app = app
            yield server


def decode_qr(png):
    """The texts of the QR codes in a PNG screenshot."""
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_sign_in_link_register_inbox_webhook_and_sign_out(browser, console, fake):
    if SCREENSHOTS.is_dir():
        shutil.rmtree(SCREENSHOTS)
    browser.get(f"{console.url}/console/")
    screenshot(browser, "01-sign-in")
    # keyboard: the first Tab reaches the skip link
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "Skip to the content"
    sign_in(browser, console, TOKEN)
    assert browser.find_element(By.ID, "signal-cli-version").text == "0.14.6"
    assert ACCOUNT in browser.find_element(By.TAG_NAME, "main").text
    screenshot(browser, "02-accounts")

    # link a device: the QR code on screen is the link signal-cli printed
    browser.find_element(By.LINK_TEXT, "Link a device").click()
    fill(browser, "device_name", "Office laptop").send_keys(Keys.ENTER)
    qr = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "qr")))
    uri = browser.find_element(By.ID, "link-uri").text
    assert uri.startswith("sgnl://linkdevice?uuid=")
    screenshot(browser, "03-link-qr")
    assert decode_qr(qr.screenshot_as_png) == [uri]
    assert decode_qr(browser.get_screenshot_as_png()) == [uri]
    fake.scan_link(LINKED)
    linked = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "linked-as")))
    assert linked.text == f"linked as {LINKED}"
    assert not browser.find_element(By.ID, "link-waiting").is_displayed()
    assert browser.find_element(By.ID, "link-restart").is_displayed()
    screenshot(browser, "04-link-linked")
    assert fake.account(LINKED)["devices"][-1]["name"] == "Office laptop"

    # register a number: Signal wants a captcha first
    fake.add_account(NEW_NUMBER, registered=False, captcha_required=CAPTCHA, verification_code="123456")
    browser.find_element(By.LINK_TEXT, "Register").click()
    help_link = browser.find_element(By.LINK_TEXT, "https://signalcaptchas.org/registration/generate.html")
    assert help_link.get_attribute("href") == "https://signalcaptchas.org/registration/generate.html"
    fill(browser, "number", NEW_NUMBER)
    browser.find_element(By.CSS_SELECTOR, "#register-form button").click()
    error = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "error")))
    assert error.text.startswith("Signal requires a captcha.")
    screenshot(browser, "05-register-captcha")
    fill(browser, "captcha", CAPTCHA)
    browser.find_element(By.CSS_SELECTOR, "#register-form button").click()
    wait(browser, expected_conditions.visibility_of_element_located((By.ID, "verify-form")))
    screenshot(browser, "06-register-code")
    fill(browser, "code", "123-456").send_keys(Keys.ENTER)
    done = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "registered")))
    assert done.text.startswith(f"{NEW_NUMBER} is registered")
    assert fake.account(NEW_NUMBER)["registered"] is True

    # a message arrives, its webhook delivery fails
    queue_texts(fake, ACCOUNT, 1, "hello")
    receiver = console.app.extensions["signal_rest.receiver"]
    assert receiver.receive_once(ACCOUNT) == 1
    inbox = console.app.extensions["signal_rest.inbox"]
    for row in inbox.due_deliveries():
        receiver.deliverer.attempt(row)
    browser.find_element(By.LINK_TEXT, "Inbox and webhooks").click()
    section = browser.find_element(By.CSS_SELECTOR, f'section.inbox[data-account="{ACCOUNT}"]')
    assert section.find_element(By.CSS_SELECTOR, ".waiting").text == "1"
    assert "waiting: 1, after 1 failed attempts" in section.text
    hook = browser.find_element(By.CSS_SELECTOR, "table.webhooks tbody tr")
    assert "failing" in hook.get_attribute("class")
    assert hook.find_element(By.CSS_SELECTOR, ".failures").text == "1"
    assert hook.find_element(By.CSS_SELECTOR, ".last-error").text.startswith("HTTP 503 Service Unavailable")
    fill(browser, "recipient", "+4915100000002")
    browser.find_element(By.CSS_SELECTOR, "#test-message-form button").click()
    sent = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "sent")))
    assert sent.text.startswith("Sent to +4915100000002")
    screenshot(browser, "07-inbox-webhooks")

    browser.find_element(By.LINK_TEXT, "About").click()
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "browser-webhook-secret" not in page and TOKEN not in page
    assert "•••••• (set)" in page
    screenshot(browser, "08-about")

    browser.find_element(By.CSS_SELECTOR, ".sign-out button").click()
    wait(browser, expected_conditions.presence_of_element_located((By.ID, "sign-in-form")))
    assert "Signed out." in browser.find_element(By.TAG_NAME, "main").text
    browser.get(f"{console.url}/console/inbox")
    assert browser.current_url.startswith(f"{console.url}/console/sign-in")
    screenshot(browser, "09-signed-out")
    wait_for_no_children()


def test_a_read_only_token_cannot_submit(browser, console, fake):
    sign_in(browser, console, READ_ONLY)
    assert "read-only" in browser.find_element(By.ID, "signed-in-as").text
    browser.get(f"{console.url}/console/register")
    assert not browser.find_element(By.CSS_SELECTOR, "#register-form button").is_enabled()
    browser.get(f"{console.url}/console/link")
    assert browser.find_elements(By.ID, "link-form") == []
    screenshot(browser, "10-read-only-link")
    # a submit the page does not offer is refused all the same (the form, its CSRF token, sent by script)
    browser.get(f"{console.url}/console/register")
    browser.execute_script("document.querySelector('#register-form button').disabled = false")
    fill(browser, "number", NEW_NUMBER)
    browser.find_element(By.CSS_SELECTOR, "#register-form button").click()
    refused = wait(browser, expected_conditions.visibility_of_element_located((By.ID, "error")))
    assert refused.text.startswith("This token is read-only")
    assert "register" not in [run["command"] for run in fake.log()]


def wait_for_no_children(timeout=10):
    """The fake's ``link`` has ended and been reaped (the test's end checks no child is left)."""
    deadline = time.monotonic() + timeout
    while child_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
