"""The HTML leaderboard in a real browser: headless Chromium over the DevTools protocol (no extra packages).

Chromium must be on PATH (Debian package ``chromium``; the CI script installs it).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import TEST_BUDGET_S
from test_leaderboard_store import make_record
from test_leaderboard_tables import records
from tim_bench.leaderboard.html import render_html
from tim_bench.leaderboard.publish import publish
from tim_bench.leaderboard.reference import load_references
from tim_bench.leaderboard.tables import build_tables


class HeadlessChromium:
    """One page in headless Chromium, driven over ``--remote-debugging-pipe`` (it reads fd 3, writes fd 4)."""

    def __init__(self, exe: str, url: str, timeout: float = TEST_BUDGET_S) -> None:
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()

        def wire() -> None:  # in the child: park both ends above 10, then dup2 them (inheritable) onto 3 and 4
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_child, from_child)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self._profile = tempfile.mkdtemp(prefix="tim-bench-chromium-")
        self._log = open(Path(self._profile) / "stderr.log", "w+b")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                      "--remote-debugging-pipe", f"--user-data-dir={self._profile}", "about:blank"],
                                     preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=self._log)
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._id = b"", 0
        target = self.send("Target.createTarget", url=url)["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        deadline = time.monotonic() + timeout
        loaded = f"document.readyState === 'complete' && location.href === {json.dumps(url)}"
        while not self.eval(loaded):  # the page starts as about:blank, itself already 'complete'
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading in {timeout} s")
            time.sleep(0.05)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and wait for its reply (events in between are dropped)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._in, 1 << 16)
                if not chunk:
                    self._log.seek(0)
                    raise RuntimeError(f"Chromium closed the DevTools pipe: {self._log.read()[-2000:]!r}")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def eval(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", self.session, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) at the centre of the first element matching ``selector``."""
        x, y = self.eval(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                         f" return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", self.session, type=kind, x=x, y=y, button="left", clickCount=1)

    def column(self, dataset: str, body: str, col: int) -> list[str]:
        """Text of column ``col`` in the ``body`` ("measured" or "reference") rows of one dataset's table."""
        return self.eval(f"Array.from(document.querySelectorAll('table[data-dataset=\"{dataset}\"] tbody.{body} tr'))"
                         f".map(r => r.cells[{col}].textContent)")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self._out)
        os.close(self._in)
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)


@pytest.fixture
def browser_for() -> Iterator[Any]:
    """Open a file in headless Chromium: ``browser_for(path)``; skips when Chromium is not installed."""
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        pytest.skip("headless Chromium not found; install the Debian package `chromium`")
    opened: list[HeadlessChromium] = []

    def open_page(path: Path) -> HeadlessChromium:
        opened.append(HeadlessChromium(exe, path.resolve().as_uri()))
        return opened[-1]

    yield open_page
    for browser in opened:
        browser.close()


def test_page_is_self_contained_and_links_pictures_relative_to_itself(tmp_path: Path) -> None:
    plots = tmp_path / "runs" / "a0" / "plots"
    plots.mkdir(parents=True)
    (plots / "curves.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    recs = [make_record("a0", work_dir=str(tmp_path / "runs" / "a0"))]
    page = render_html(build_tables(recs, load_references()), tmp_path / "site")
    assert '<a href="../runs/a0/plots/curves.png">curves</a>' in page
    assert "http://" not in page and "https://" not in page and "<script src" not in page


def test_rows_and_sorting_in_headless_chromium(tmp_path: Path, browser_for) -> None:
    out = publish(build_tables(records(), load_references()), "html", tmp_path / "index.html")
    browser = browser_for(out)
    assert browser.eval("document.querySelectorAll('table.leaderboard').length") == 2
    assert browser.column("AVE", "reference", 0) == ["[ref] tim_ave_omnivore_asf", "[ref] tim_ave_vgg"]
    # best visual first: AVE's main metric is the paper's, the visual-query head's accuracy
    assert browser.column("AVE", "measured", 0) == ["ave_a@aaaaaaa", "ave_b", "ave_a@ccccccc"]
    browser.click("table[data-dataset='AVE'] thead th:nth-child(5)")  # "fused": best first
    assert browser.column("AVE", "measured", 0) == ["ave_b", "ave_a@aaaaaaa", "ave_a@ccccccc"]
    browser.click("table[data-dataset='AVE'] thead th:nth-child(5)")  # again: reversed
    assert browser.column("AVE", "measured", 0) == ["ave_a@ccccccc", "ave_a@aaaaaaa", "ave_b"]
    browser.click("table[data-dataset='AVE'] thead th:nth-child(6)")  # "audio": ave_b has none, so it goes last
    assert browser.column("AVE", "measured", 0) == ["ave_a@aaaaaaa", "ave_a@ccccccc", "ave_b"]
    assert browser.column("AVE", "reference", 0) == ["[ref] tim_ave_omnivore_asf", "[ref] tim_ave_vgg"]  # never move
    assert browser.eval("document.querySelector(\"table[data-dataset='AVE'] thead th:nth-child(6)\")"
                        ".getAttribute('aria-sort')") == "descending"
