"""Fixtures of the key manager tests: a real budget product, real certificates, and the real
server (``python -m qsat kme serve``) started on 127.0.0.1 with a free port, called with httpx."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import qsat
from qsat.kme.certs import make_certificates

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "relay.toml"
SAES = {"beijing-app": "Beijing", "vienna-app": "Vienna", "urumqi-app": "Urumqi", "tianjin-app": "Tianjin",
        "vienna-backup": "Vienna"}
ENV = {**os.environ, "PYTHONPATH": str(Path(qsat.__file__).resolve().parents[1])}


def cli(*args, cwd=None, timeout=120):
    """``python -m qsat ARGS``: (exit code, stdout, stderr)."""
    out = subprocess.run([sys.executable, "-m", "qsat", *map(str, args)], capture_output=True, text=True,
                         cwd=cwd, env=ENV, timeout=timeout)
    return out.returncode, out.stdout, out.stderr


def config_text(**settings) -> str:
    head = "".join(f"{k} = {v!r}\n" if not isinstance(v, str) else f'{k} = "{v}"\n' for k, v in settings.items())
    return head + "".join(f'[[saes]]\nid = "{sae}"\nnode = "{node}"\n' for sae, node in SAES.items())


@pytest.fixture(scope="session")
def products(tmp_path_factory):
    """budget.nc (+ its schedule) of ``relay.toml``, written by ``qsat budget``."""
    out = tmp_path_factory.mktemp("products")
    code, stdout, stderr = cli("budget", SCENARIO, "--out", out / "budget.nc")
    assert code == 0, stderr
    return out / "budget.nc"


@pytest.fixture(scope="session")
def supply(products):
    """The supply the server replays (trial: the median one)."""
    from qsat.kme.supply import load_supply

    return load_supply(products, SCENARIO)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A test CA with the KME's and every SAE's certificate, plus a stranger (same CA, not an SAE)
    and an impostor (another CA, an SAE's name)."""
    out = tmp_path_factory.mktemp("certs")
    make_certificates(out, [*SAES, "stranger"])
    make_certificates(out / "other-ca", ["vienna-app"])
    return out


def client(certs: Path, sae: str | None, base_url: str, *, ca_dir: Path | None = None) -> httpx.Client:
    """An httpx client that trusts the test CA and presents ``sae``'s certificate (none if None)."""
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    if sae is not None:
        folder = ca_dir or certs
        ctx.load_cert_chain(str(folder / f"{sae}.pem"), str(folder / f"{sae}.key"))
    return httpx.Client(base_url=base_url, verify=ctx, timeout=60.0)


class Server:
    """``qsat kme serve`` in a subprocess; ``url`` once it announced itself."""

    def __init__(self, budget: Path, certs: Path, workdir: Path, *, config: str, speed: float = 0.0,
                 start: str | None = "end", db: Path | None = None, extra=()):
        self.workdir = workdir
        self.config_path = workdir / "kme.toml"
        self.config_path.write_text(config)
        self.db = db or workdir / "kme.sqlite"
        self.metrics = workdir / "kme_metrics.nc"
        args = [sys.executable, "-m", "qsat", "kme", "serve", str(budget), "--scenario", str(SCENARIO),
                "--config", str(self.config_path), "--certs", str(certs), "--db", str(self.db),
                "--metrics", str(self.metrics), "--port", "0", "--speed", str(speed), *extra]
        if start == "end":
            args += ["--start", "2016-12-21T00:00:00Z"]
        elif start is not None:
            args += ["--start", start]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        self.lines = []
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("qsat kme: serving "):
                self.url = line.split()[-1]
                break
        else:
            raise AssertionError("server did not start: " + "".join(self.lines) + self.proc.stderr.read())

    def stop(self, sig=signal.SIGTERM) -> int:
        """Stop (SIGTERM: graceful, writes the metrics; SIGKILL: a crash) and wait."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=60)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()
        self.lines.append(out)
        self.stderr = err
        return self.proc.returncode


@pytest.fixture
def start_server(products, certs, tmp_path):
    """Start servers (stopped at the end of the test)."""
    started = []

    def start(config: str | None = None, **kwargs) -> Server:
        workdir = kwargs.pop("workdir", None) or tmp_path / f"server{len(started)}"
        workdir.mkdir(exist_ok=True)
        server = Server(products, certs, workdir, config=config or config_text(), **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.returncode is None:
            server.stop(signal.SIGKILL)
