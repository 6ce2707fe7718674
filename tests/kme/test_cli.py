"""``qsat kme`` on the command line: certificates, bad input (one line, exit 2), the metrics product
and its figure."""

from __future__ import annotations

import json
import sqlite3

import pytest

from qsat.cli import main

from .conftest import SCENARIO, SAES, config_text


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "kme.toml"
    path.write_text(config_text())
    return path


def test_certs_writes_a_ca_the_kme_and_one_certificate_per_sae(tmp_path, config, capsys):
    from cryptography import x509

    code, out, _ = _run(capsys, "kme", "certs", "--config", config, "--out", tmp_path / "c", "--host", "kme.local")
    assert code == 0 and "5 SAE certificates" in out
    ca = x509.load_pem_x509_certificate((tmp_path / "c" / "ca.pem").read_bytes())
    kme = x509.load_pem_x509_certificate((tmp_path / "c" / "kme.pem").read_bytes())
    names = kme.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kme.local" in names.get_values_for_type(x509.DNSName)
    for sae in SAES:
        cert = x509.load_pem_x509_certificate((tmp_path / "c" / f"{sae}.pem").read_bytes())
        assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == sae
        assert cert.issuer == ca.subject
        cert.verify_directly_issued_by(ca)


def _serve_args(products, certs, config, *extra):
    return ["kme", "serve", products, "--scenario", SCENARIO, "--config", config, "--certs", certs, *extra]


@pytest.mark.parametrize("change, expect", [
    (("--speed", "-1"), "--speed: -1.0; expected simulated seconds per second >= 0"),
    (("--port", "70000"), "--port: 70000; expected a port number from 0 to 65535"),
    (("--trial", "6"), "--trial: 6; expected a weather trial of budget.nc: 0 to 5"),
    (("--start", "2017-01-01T00:00:00Z"), "--start: 2017-01-01T00:00:00Z; expected a time inside the budget's window"),
    (("--start", "yesterday"), "--start: yesterday; expected an ISO 8601 UTC time"),
])
def test_bad_serve_options_are_one_line_and_exit_2(products, certs, config, capsys, change, expect):
    code, _, err = _run(capsys, *_serve_args(products, certs, config, *change))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"qsat: error: {expect}")


@pytest.mark.parametrize("text, expect", [
    ('key_size = 100\n[[saes]]\nid = "a"\nnode = "Beijing"\n', "key_size: 100; expected a whole number of bytes"),
    ('[[saes]]\nid = "no spaces"\nnode = "Beijing"\n', "saes[0].id: no spaces; expected 1 to 64 letters"),
    ('[[saes]]\nid = "a"\nnode = "Paris"\n', "saes[0].node: Paris; expected an end of a user pair of the budget"),
    ('[[saes]]\nid = "a"\nnode = "Beijing"\ncolour = 1\n', "saes[0].colour: 1; expected no such key here"),
    ('max_key_count = 0\n[[saes]]\nid = "a"\nnode = "Beijing"\n', "max_key_count: 0; expected"),
    ('[[saes]]\nid = "a"\nnode = "Beijing"\n[[saes]]\nid = "a"\nnode = "Vienna"\n',
     "saes[1].id: a; expected an SAE ID not used by another SAE"),
    ("key_size = [\n", "TOML syntax error"),
])
def test_bad_configuration_names_the_field(products, certs, tmp_path, capsys, text, expect):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, _, err = _run(capsys, *_serve_args(products, certs, path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert expect in err


def test_missing_files_are_input_errors(products, certs, config, tmp_path, capsys):
    code, _, err = _run(capsys, *_serve_args(products, tmp_path, config))
    assert code == 2 and "--certs" in err and "ca.pem" in err
    code, _, err = _run(capsys, *_serve_args(tmp_path / "none.nc", certs, config))
    assert code == 2 and "BUDGET" in err
    not_a_db = tmp_path / "notes.sqlite"
    not_a_db.write_text("not a database\n" * 100)
    code, _, err = _run(capsys, *_serve_args(products, certs, config, "--db", not_a_db))
    assert code == 2 and err.startswith("qsat: error: --db:")
    code, _, err = _run(capsys, "kme", "metrics", "--db", tmp_path / "none.sqlite", "--out", tmp_path / "m.nc")
    assert code == 2 and "--db" in err


def test_a_busy_port_is_an_input_error(products, certs, config, tmp_path, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, _, err = _run(capsys, *_serve_args(products, certs, config, "--port", port, "--db", tmp_path / "k.sqlite"))
    assert code == 2 and f"--port: {port}; expected a free port on 127.0.0.1" in err


def test_metrics_product_and_its_figure(start_server, certs, tmp_path, capsys):
    """``qsat kme metrics`` reads a running server's key store; ``qsat plot`` draws the product."""
    server = start_server()
    out = tmp_path / "m.nc"
    code, _, err = _run(capsys, "kme", "metrics", "--db", server.db, "--out", out)
    assert code == 0, err
    assert server.stop() == 0
    for product in (out, server.metrics):
        code, _, err = _run(capsys, "plot", product, "--out", tmp_path / f"{product.stem}.png")
        assert code == 0, err
        assert (tmp_path / f"{product.stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with sqlite3.connect(server.db) as db:
        info = json.loads(db.execute("SELECT value FROM meta WHERE name='info'").fetchone()[0])
    assert info["provenance"]["scenario_name"] == "kme-test-relay"


def test_the_command_names_the_missing_extra(monkeypatch, capsys, config, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "aiohttp" else real(name, *a))
    code, _, err = _run(capsys, "kme", "certs", "--config", config, "--out", tmp_path)
    assert code == 2 and "pip install 'qsat[kme]'" in err


def test_qsat_imports_and_helps_without_the_extra():
    """``import qsat`` and ``qsat --help`` never need aiohttp or cryptography."""
    import subprocess
    import sys

    from .conftest import ENV

    code = ("import sys; sys.modules['aiohttp'] = None; sys.modules['cryptography'] = None\n"
            "import qsat, qsat.kme, qsat.kme.supply, qsat.kme.store\n"
            "from qsat.cli import main\n"
            "main(['--help'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "kme" in out.stdout
