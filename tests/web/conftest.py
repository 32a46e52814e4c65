"""Fixtures of the web app's browser tests: one real node process and one headless Chromium per
module, a fresh browser context (its own storage) per test, and a page that fails the test on
any console error or uncaught exception."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.web.support import CHROMIUM, CHROMIUM_ARGS, registry_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with registry_node(tmp_path_factory.mktemp("web-node") / "data") as base:
        yield base


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class WatchedPage:
    """A page whose console errors and uncaught exceptions are collected."""

    def __init__(self, context: BrowserContext) -> None:
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda m: self.errors.append(f"console {m.text}") if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror {e}"))
        # The app asks before withdrawing or forgetting a key: the user says yes.
        self.page.on("dialog", lambda d: d.accept())


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    return browser.new_context(
        viewport={"width": 1100, "height": 900}, accept_downloads=True, **options
    )


@pytest.fixture
def watched(browser: Browser) -> Iterator[WatchedPage]:
    context = new_context(browser, locale="en-GB")
    watched = WatchedPage(context)
    yield watched
    context.close()
    assert watched.errors == [], "console errors: " + "; ".join(watched.errors)


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests put their screenshots: docs/web/ under ``make web-screenshots``
    (WEB_SCREENSHOTS=docs/web), else a temporary directory, so a test run changes no file of
    the repository."""
    target = os.environ.get("WEB_SCREENSHOTS")
    if target:
        path = Path(target).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")
