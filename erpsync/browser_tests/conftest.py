"""A real Chromium (Debian's, at /usr/bin/chromium) driven by Playwright against a live server."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ERPSYNC_CHROMIUM", "/usr/bin/chromium")

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
# between page actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Browser tests need Chromium at {CHROMIUM}: install it with 'apt-get install chromium'.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(width=…, height=…, **context options): a page of a browser context of its own, closed after the test."""
    contexts = []

    def make(width: int = 1400, height: int = 950, **options):
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def sign_in(page):
    def sign_in_as(username: str, password: str):
        page.goto("/login/")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return sign_in_as


@pytest.fixture
def screenshot(request, page):
    """Saves a screenshot into --screenshots DIR when that option is given."""
    folder = request.config.getoption("--screenshots")

    def take(name: str):
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)

    return take


@pytest.fixture
def demo(transactional_db):
    from django.core.management import call_command

    call_command("demo_load", verbosity=0)
