"""Figures: qsat.plots on synthetic products, qsat plot on a run's files, matplotlib optional."""

from __future__ import annotations

import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from qsat.cli import main
from qsat.errors import QsatInputError

from .conftest import ROOT
from .test_end_to_end import _png_checks


def test_import_qsat_never_imports_matplotlib():
    code = ("import sys, qsat, qsat.cli, qsat.outputs, qsat.export, qsat.pipeline; "
            "sys.exit(1 if 'matplotlib' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


mpl = pytest.importorskip("matplotlib")
from qsat import plots  # noqa: E402


@pytest.mark.parametrize("args, name", [(["keys.nc"], "series"), (["geometry.nc", "--pass", "0"], "sky"),
                                        (["passes.csv"], "overview"), (["link.nc", "--kind", "sky"], "sky2")])
def test_qsat_plot_cli(micius_out, tmp_path, capsys, args, name):
    out = tmp_path / f"{name}.png"
    assert main(["plot", str(micius_out / args[0]), *args[1:], "--out", str(out)]) == 0
    _png_checks(out)


@pytest.mark.parametrize("args, message", [
    (["nothere.nc"], "PRODUCT: .*nothere.nc; expected an existing product file"),
    (["summary.json"], "expected a product file: .nc or .zarr"),
    (["keys.nc", "--pass", "7"], r"--pass: 7; expected a pass id of .*keys.nc \(0..0\)"),
    (["link.nc", "--kind", "budget-daily"], "link.nc: no variable 'station_key_bits_daily'; expected a budget product"),
    (["passes.csv", "--kind", "sky"], "--kind: sky; expected 'overview' for a table"),
    (["keys.nc", "--kind", "distributions"], "keys.nc: no 'trial' dimension and no \\*_histogram variables; expected a Monte Carlo"),
])
def test_qsat_plot_bad_input(micius_out, tmp_path, capsys, args, message):
    assert main(["plot", str(micius_out / args[0]), *args[1:], "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err


def test_qsat_plot_out_must_be_png(micius_out, tmp_path, capsys):
    assert main(["plot", str(micius_out / "keys.nc"), "--out", str(tmp_path / "x.pdf")]) == 2
    assert "--out" in capsys.readouterr().err


def _budget():
    days = np.arange("2026-01-01", "2026-03-01", dtype="datetime64[D]").astype("datetime64[ns]")
    months = np.array(["2026-01", "2026-02"], dtype="datetime64[M]").astype("datetime64[ns]")
    rng = np.random.default_rng(1)
    trial, st, pair = 5, ["Graz", "Matera"], ["Vienna-Rome"]
    return xr.Dataset(
        {"station_key_bits_daily": (("trial", "day", "station"), rng.random((trial, days.size, 2)) * 1e6,
                                    {"units": "bit"}),
         "station_key_bits_monthly": (("trial", "month", "station"), rng.random((trial, 2, 2)) * 3e7, {"units": "bit"}),
         "pair_delivered_bits_monthly": (("trial", "month", "pair"), rng.random((trial, 2, 1)) * 1e7,
                                         {"units": "bit"})},
        coords={"trial": np.arange(trial), "day": days, "month": months, "station": st, "pair": pair})


@pytest.mark.parametrize("period", ["daily", "monthly"])
def test_budget_bars(tmp_path, period):
    _png_checks(plots.save(plots.budget_bars(_budget(), period), tmp_path / f"{period}.png"))


def test_distributions_and_errors(tmp_path):
    rng = np.random.default_rng(2)
    ds = xr.Dataset({"pass_key_bits": (("trial", "pass"), rng.lognormal(10, 1, (200, 3)), {"units": "bit"}),
                     "year_key_bits": (("trial",), rng.normal(1e9, 1e8, 200), {"units": "bit"})})
    _png_checks(plots.save(plots.distributions(ds), tmp_path / "mc.png"))
    with pytest.raises(QsatInputError, match="mc.zarr: no variable 'nope'"):
        plots.distributions(ds, ["nope"], source="mc.zarr")


def test_network_map(tmp_path):
    nodes = {"Graz": (47.07, 15.49, "station"), "Vienna": (48.21, 16.37, "user"), "Linz": (48.3, 14.3, "trusted"),
             "Nowhere": (None, None, "user")}
    fig = plots.network_map(nodes, [("Graz", "Linz", "fiber"), ("Linz", "Vienna", "fiber")])
    assert "Nowhere" in fig.axes[0].get_title()
    _png_checks(plots.save(fig, tmp_path / "map.png"))


def test_sky_plot_needs_geometry():
    with pytest.raises(QsatInputError, match="link.nc: no variable 'azimuth_deg'"):
        plots.sky_plot(xr.Dataset({"x": ("pass", [1.0])}, coords={"pass": [0]}), source="link.nc")


def test_run_without_matplotlib_records_a_warning(monkeypatch, tmp_path):
    import importlib.util

    from qsat.cli import run as run_cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    warnings = []
    run = SimpleNamespace(warn=warnings.append)
    assert run_cli._figures(run, tmp_path) == []
    assert warnings and "matplotlib is not installed" in warnings[0]  # Run.warn records it in provenance


def test_montecarlo_store_distributions(tmp_path, capsys):
    """The statistics ``qsat montecarlo`` writes (histograms over bins), drawn by ``qsat plot``."""
    reduce = pytest.importorskip("qsat.montecarlo.reduce")
    pytest.importorskip("zarr")
    rng = np.random.default_rng(0)
    trials, n = 200, 3
    samples = {"secret_key_bits": rng.lognormal(12, 0.5, (trials, n)), "sifted_bits": rng.lognormal(14, 0.3, (trials, n)),
               "errors": rng.random((trials, n)), "qber": rng.normal(0.02, 0.002, (trials, n)),
               "mean_transmittance": rng.random((trials, n)) * 1e-3, "clear": np.ones((trials, n)),
               "entangled_pairs": np.full((trials, n), np.nan)}
    ds = reduce.statistics(samples, np.arange(n), ["Graz", "Matera", "Graz"], ["S1"] * n, "decoy-bb84", 20)
    store = tmp_path / "mc.zarr"
    ds.to_zarr(store, zarr_format=2, consolidated=True)
    out = tmp_path / "mc.png"
    assert main(["plot", str(store), "--pass", "2", "--out", str(out)]) == 0
    _png_checks(out)
    with pytest.raises(QsatInputError, match="mc.zarr: no histogram 'nope'"):
        plots.distributions(ds, ["nope"], source="mc.zarr")


def test_empty_pass_table_is_an_input_error():
    import pandas as pd

    with pytest.raises(QsatInputError, match="passes.csv: no passes; expected a pass table with at least one pass"):
        plots.passes_overview(pd.DataFrame(columns=["rise_utc", "max_elevation_deg", "station"]), source="passes.csv")


def test_montecarlo_histograms_fill_their_panel_and_months_get_distinct_colours(tmp_path):
    """Stored bins start at 0; a budget far from 0 is drawn around its bins, twelve months in twelve colours."""
    edges = np.linspace(0.0, 2.1e11, 41)
    budget = np.zeros(40)
    budget[36:40] = [1, 10, 16, 13]
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    monthly = np.zeros((12, 40))
    for m in range(12):
        monthly[m, 20 + m:24 + m] = 5
    ds = xr.Dataset({"budget_secret_key_bits_histogram": (("bin",), budget),
                     "budget_secret_key_bits_bin_edges": (("bin_edge",), edges, {"units": "bit"}),
                     "month_budget_secret_key_bits_histogram": (("month", "bin"), monthly),
                     "month_budget_secret_key_bits_bin_edges": (("bin_edge",), edges, {"units": "bit"})},
                    coords={"month": months})
    fig = plots.distributions(ds)
    budget_ax, month_ax = fig.axes
    lo, hi = budget_ax.get_xlim()
    assert lo == pytest.approx(edges[34]) and hi == pytest.approx(edges[40])
    assert month_ax.get_xlim()[0] == pytest.approx(edges[18])
    colours = {tuple(np.round(patch.get_edgecolor(), 3)) for patch in month_ax.patches}
    assert len(month_ax.patches) == 12 and len(colours) == 12
    _png_checks(plots.save(fig, tmp_path / "mc.png"))
