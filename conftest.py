import uuid

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Tests run with the immediate task backend whatever the environment says, and a fast password hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate-limit counters and cached pages live in the shared (database) cache, as in production. Every test starts
    # with none: its own key prefix, so nothing is read from the database here and rows that a transactional test
    # committed are never seen by the next one.
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"},
    }
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def sign_in():
    """sign_in(client, student) signs `client` in to the portal the real way: a fresh link, posted."""
    from django.urls import reverse

    from students.services import make_sign_in_token

    def sign_in_as(client, student):
        response = client.post(reverse("students:sign_in", args=[make_sign_in_token(student)]))
        assert response.status_code == 302
        return client

    return sign_in_as


def pytest_collection_modifyitems(config, items):
    """Skip tests marked postgres_only unless the database is PostgreSQL."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


# Browser tests (Playwright driving Debian's Chromium; `playwright install` is never used).
import os  # noqa: E402
from pathlib import Path  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session; skipped (failed on CI) when /usr/bin/chromium is missing."""
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls from a thread with a
    # running loop unless told that it is fine (the standard setting for pytest-django + Playwright).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def phone(browser):
    """A fresh page in a 390×844 phone viewport (touch, 2× pixels), closed after the test."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves a full-page PNG to screenshots/<name>.png (gitignored) and returns its path."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        # caret="initial": hiding the caret makes Playwright set style attributes, which the CSP blocks and reports.
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    return take


# Accessibility and layout checks for the browser tests (axe-core is vendored inside axe-playwright-python).
PAGE_SCREENSHOTS = SCREENSHOTS / "pages"
_AXE_FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def axe_check():
    """axe_check(page) runs axe-core on the page and fails the test on serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page) -> None:
        results = axe.run(page)
        failing = [v for v in results.response["violations"] if v.get("impact") in _AXE_FAILING_IMPACTS]
        if failing:
            report = "\n".join(
                f"- {v['id']} ({v['impact']}): {v['help']}\n"
                + "\n".join(f"    {' '.join(map(str, node['target']))}" for node in v["nodes"][:5])
                for v in failing
            )
            pytest.fail(f"axe found serious/critical violations on {page.url}:\n{report}", pytrace=False)

    return check


_page_screenshots_taken: list[Path] = []


@pytest.fixture(scope="session")
def page_screenshot():
    """page_screenshot(page, "catalog") saves screenshots/pages/catalog-<w>x<h>.png (full page) and returns its path.
    caret="initial": hiding the caret makes Playwright set style attributes, which the CSP blocks and reports."""
    PAGE_SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        size = page.viewport_size
        path = PAGE_SCREENSHOTS / f"{name}-{size['width']}x{size['height']}.png"
        page.screenshot(path=str(path), full_page=True, caret="initial")
        _page_screenshots_taken.append(path)
        return path

    return take


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say where this run's page screenshots went, so CI logs (and people) can find them."""
    if _page_screenshots_taken:
        terminalreporter.write_sep("-", "page screenshots")
        terminalreporter.write_line(f"{len(_page_screenshots_taken)} screenshots in {PAGE_SCREENSHOTS}")
