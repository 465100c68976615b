"""What the browser tests share: serving the dashboard on loopback and driving Chromium.

Browser tests fail (never skip) when Chromium is missing: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright

from coprod.interchange import import_source
from coprod.settings import DEMO_DIR, PROJECT_ROOT
from coprod.store import Change, Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_store(path: Path) -> Path:
    with Store(path) as store:
        import_source(store, DEMO_DIR, Change("test", "import"))
    return path


@contextmanager
def serve(
    db: Path | str,
    log_path: Path,
    *,
    port: int | None = None,
    secrets: Path | None = None,
    address: str = "127.0.0.1",
) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port with COPROD_DB=db (a store file or a
    PostgreSQL URL); yields its URL.

    ``port``: serve on this port (say, one a secrets file's redirect_uri already names).
    ``secrets``: a secrets.toml to read instead of the usual ones (``--secrets.files``), for
    example one with an ``[auth]`` section. ``address``: what to bind, say "0.0.0.0" to take
    connections from other machines; the URL yielded is always the loopback one."""
    port = port or free_port()
    env = {**os.environ, "COPROD_DB": str(db)}
    command = [
        sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"),
        "--server.port", str(port), "--server.address", address,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    if secrets is not None:
        command += ["--secrets.files", str(secrets)]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    if process.poll() is not None:
                        pytest.fail(f"streamlit run stopped: see {log_path}")
                    if time.monotonic() > deadline:
                        pytest.fail("streamlit run did not start within 60 s")
                    time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


def launch(playwright: Playwright) -> Browser:
    assert Path(CHROMIUM).exists(), f"Chromium is missing at {CHROMIUM}: apt-get install chromium"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def settle(page: Page) -> None:
    """Wait until the script has finished running and the page has drawn its result.

    Before the first run starts the app also reads as "not running", so wait for the page's
    heading too: the frame (and its focus style) is drawn before every page's heading."""
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_timeout(400)
    page.wait_for_selector(READY, timeout=60_000)


def load(page: Page, url: str) -> None:
    page.goto(url)
    settle(page)


def assert_no_exception(page: Page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in page.inner_text("body")
