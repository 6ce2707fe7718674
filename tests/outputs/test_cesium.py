"""scene.czml in a real CesiumJS, in headless Chromium: no errors, the expected entities and clock.

Needs a Chromium (Debian: ``apt-get install chromium-headless-shell`` or ``chromium``) and
CesiumJS from the npm registry (``npm ci --prefix tests/outputs/cesium``, which ``.ci/run``
does where npm exists); the test skips where either is absent. The page
(``tests/outputs/cesium/index.html``) runs offline: no imagery or terrain service, the
Cesium build and the scene served from 127.0.0.1 by the test itself.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent / "cesium"
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "headless_shell")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _browser() -> str | None:
    for name in (os.environ.get("QSAT_CHROMIUM"), *BROWSERS):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cesium_build() -> Path | None:
    build = Path(os.environ.get("QSAT_CESIUM_BUILD", HERE / "node_modules" / "cesium" / "Build" / "Cesium"))
    return build if (build / "Cesium.js").is_file() else None


class _Handler(SimpleHTTPRequestHandler):
    """Serves the page, the scene and Cesium; takes the page's report on POST /result."""

    def __init__(self, *args, results: list, received: threading.Event, **kwargs):
        self.results, self.received = results, received
        super().__init__(*args, **kwargs)

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.results.append(json.loads(body))
        self.send_response(204)
        self.end_headers()
        self.received.set()

    def log_message(self, *args):  # keep the test's output clean
        pass


@pytest.mark.slow
def test_scene_loads_in_cesium(micius_out, tmp_path):
    browser, build = _browser(), _cesium_build()
    if browser is None:
        pytest.skip("no Chromium (apt-get install chromium-headless-shell)")
    if build is None:
        pytest.skip("no CesiumJS (npm ci --prefix tests/outputs/cesium)")
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(HERE / "index.html", site / "index.html")
    shutil.copy(micius_out / "scene.czml", site / "scene.czml")
    (site / "Cesium").symlink_to(build, target_is_directory=True)
    packets = json.loads((site / "scene.czml").read_text(encoding="utf-8"))
    culmination = pd.read_csv(micius_out / "passes.csv")["culmination_utc"][0]

    results, received = [], threading.Event()
    handler = partial(_Handler, directory=str(site), results=results, received=received)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html?at={culmination}"
    cmd = [browser, "--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
           "--window-size=1024,768", "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
           url]
    log = tmp_path / "chromium.log"
    with open(log, "w") as stderr:  # a file, not a pipe: Chromium's helper processes inherit it
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    try:
        got = received.wait(240)  # software WebGL on a shared CPU: generous, not a performance check
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the browser and its helpers (its own process group)
        proc.wait()
        server.shutdown()
        server.server_close()
    assert got, f"the page never reported back; Chromium said: {log.read_text()[-2000:]}"
    result = results[0]

    assert result["errors"] == [], result["errors"]
    assert result["frames"] >= 20
    assert sorted(result["entities"]) == sorted(p["id"] for p in packets if p["id"] != "document")
    assert {"satellite/Micius", "station/Xinglong", "link/0"} <= set(result["shown"])  # the link at culmination
    start, stop = packets[0]["clock"]["interval"].split("/")
    assert (result["start"], result["stop"]) == (start, stop)

    png = base64.b64decode(result["png"].split(",", 1)[1])
    assert png.startswith(PNG_SIGNATURE)
    screenshot = tmp_path / "cesium_scene.png"
    screenshot.write_bytes(png)
    matplotlib = pytest.importorskip("matplotlib.image")
    pixels = matplotlib.imread(screenshot)
    assert pixels.shape[0] >= 600 and pixels.shape[1] >= 800
    assert float(np.var(pixels[..., :3])) > 1e-4, "the scene rendered blank"
