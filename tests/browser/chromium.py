"""Headless Chromium for the browser tests, driven from the command line: no driver, no websocket library.

`dump_dom()` loads a page, lets its scripts run (virtual time) and returns the DOM as Chromium serialises it;
`screenshot()` saves a PNG. Interaction is scripted by the page's URL hash (the report supports
`#filter=...&q=...`) or by a copy of the page with a small driver script appended (`with_driver()`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium tries hosts it cannot reach (../shared/notes.md).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-default-apps", "--disable-sync", "--mute-audio", "--hide-scrollbars"]


def require_chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing. Install it with `.ci/debian-package.sh optional chromium '' chromium fonts-dejavu-core` "
                    "(Debian's chromium package; `.ci/run` does this in CI).")


def _run(args, timeout):
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        started = time.perf_counter()
        done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0:
        raise AssertionError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done, elapsed


def url_of(path, fragment=""):
    return Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")


def dump_dom(url, budget_ms=5000, timeout=120):
    """The DOM after the page's scripts ran, and how long Chromium took (seconds, start to exit)."""
    done, elapsed = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", url], timeout)
    return done.stdout, elapsed


def screenshot(url, out, size=(1400, 1000), budget_ms=5000, timeout=120):
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--virtual-time-budget={budget_ms}", f"--screenshot={out.resolve()}", f"--window-size={size[0]},{size[1]}", url], timeout)
    assert out.exists() and out.stat().st_size > 0, f"no screenshot written to {out}"
    return out


def with_driver(page, script, out):
    """A copy of `page` with `script` run after the page's own scripts: a user's clicks and keystrokes, scripted."""
    html = Path(page).read_text(encoding="utf-8")
    marker = "</body>"
    assert html.count(marker) == 1
    html = html.replace(marker, f"<script>{script}</script>\n{marker}")
    Path(out).write_text(html, encoding="utf-8")
    return out
