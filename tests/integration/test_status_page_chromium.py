"""The status page in a real headless Chromium: screenshots and the rendered DOM.

meshwatch serves a SQLite store seeded with a week of hourly history for three SLOs (one
breached, with an alert and a remediation action) from uvicorn on 127.0.0.1; Chromium
(Debian `chromium`) takes screenshots (wide and phone-sized) and dumps the DOM it rendered.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshwatch.api.app import create_app
from meshwatch.engine.runtime import Runtime
from meshwatch.settings import Settings
from meshwatch.store import Store, make_engine, upgrade
from tests.support import png
from tests.support import report_history as h
from tests.support.app_thread import serving
from tests.support.binaries import require_binary
from tests.support.golden import updating

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs"
BREACHED_BADGE = (220, 38, 38)  # #dc2626, the breached state colour
BREACHED_ROW = (254, 242, 242)  # #fef2f2, the breached row background


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('chromium') / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    h.seed(store)
    app = create_app(
        Settings(grafana_url="http://127.0.0.1:3000"),
        store=store,
        runtime=Runtime(slos=h.SLOS),
        clock=lambda: h.END,
    )
    with serving(app) as url:
        yield url
    store.close()


class Chromium:
    def __init__(self, binary: str, profile: Path) -> None:
        self.binary = binary
        self.profile = profile

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            self.binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={self.profile}",
            *args,
        ]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=90, start_new_session=True, check=True
        )

    def screenshot(self, url: str, out: Path, width: int, height: int) -> Path:
        self._run(f"--screenshot={out}", f"--window-size={width},{height}", url)
        return out

    def dom(self, url: str) -> str:
        return self._run("--window-size=1280,2000", "--dump-dom", url).stdout


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Chromium:
    binary = require_binary("chromium", "/usr/bin/chromium")
    return Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))


def svgs(dom: str) -> list[tuple[str, int, int]]:
    """(kind, data-points, circles drawn) of every chart in the DOM."""
    found = []
    for match in re.finditer(
        r"<svg [^>]*data-kind=\"(\w+)\" data-points=\"(\d+)\".*?</svg>", dom, re.S
    ):
        circles = len(re.findall(r'<circle class="pt[ "]', match.group(0)))
        found.append((match.group(1), int(match.group(2)), circles))
    return found


def test_overview_screenshots(chromium: Chromium, base_url: str, tmp_path: Path) -> None:
    wide = chromium.screenshot(f"{base_url}/", tmp_path / "overview.png", 1280, 2000)
    narrow = chromium.screenshot(f"{base_url}/", tmp_path / "narrow.png", 390, 1600)
    assert png.size(wide) == (1280, 2000)
    assert png.size(narrow) == (390, 1600)
    assert wide.stat().st_size > 30_000 and narrow.stat().st_size > 20_000
    if updating():  # the README's screenshots are refreshed with the golden files
        shutil.copyfile(wide, DOCS / "status-page.png")
    assert png.size(DOCS / "status-page.png") == (1280, 2000)  # the README's screenshot


def test_breached_slo_stands_out_on_screen(
    chromium: Chromium, base_url: str, tmp_path: Path
) -> None:
    everything = png.read(chromium.screenshot(f"{base_url}/", tmp_path / "all.png", 390, 1600))
    healthy = png.read(chromium.screenshot(f"{base_url}/?state=ok", tmp_path / "ok.png", 390, 1600))
    red = everything.colours()
    assert red[BREACHED_BADGE] > 150, "no breached badge/border drawn"
    assert red[BREACHED_ROW] > 2_000, "no breached row background drawn"
    calm = healthy.colours(top=300)  # below the summary cards (the mesh card is breached)
    assert calm[BREACHED_ROW] == 0 and calm[BREACHED_BADGE] < 20


def test_overview_dom(chromium: Chromium, base_url: str) -> None:
    dom = chromium.dom(f"{base_url}/")
    states = {
        slo: cls
        for cls, slo in re.findall(r'<tr class="slo-row (state-\w+)" data-slo="([^"]+)"', dom)
    }
    assert states == {
        "checkout-availability": "state-breached",
        "checkout-latency": "state-ok",
        "frontend-availability": "state-ok",
    }
    assert "MeshwatchErrorBudgetBurn" in dom and "checkout-route" in dom
    assert 'href="http://127.0.0.1:3000/d/meshwatch-overview"' in dom
    assert "<script" not in dom


def test_slo_page_charts_have_their_points(
    chromium: Chromium, base_url: str, tmp_path: Path
) -> None:
    url = f"{base_url}/slos/checkout-availability"
    shot = chromium.screenshot(url, tmp_path / "slo.png", 1280, 2000)
    assert png.size(shot) == (1280, 2000) and shot.stat().st_size > 30_000
    if updating():  # the README's screenshots are refreshed with the golden files
        shutil.copyfile(shot, DOCS / "status-page-slo.png")
    narrow = chromium.screenshot(url, tmp_path / "slo-narrow.png", 390, 1600)
    assert png.size(narrow) == (390, 1600)
    dom = chromium.dom(url)
    # a week of hourly history: 168 budget points and 168 hourly SLIs, all drawn
    assert svgs(dom) == [("budget", 168, 168), ("sli", 168, 168)]
    # the incident hours (5 % errors against 99.9 %) are the SLI points marked bad
    sli_svg = dom[dom.index('data-kind="sli"') :]
    assert len(re.findall(r'<circle class="pt bad"', sli_svg.split("</svg>")[0])) == 3
    assert "state-breached" in dom


def test_service_page_charts(chromium: Chromium, base_url: str) -> None:
    dom = chromium.dom(f"{base_url}/services/checkout?range=24h")
    assert svgs(dom) == [("budget", 25, 25), ("sli", 24, 24), ("budget", 25, 25), ("sli", 24, 24)]
