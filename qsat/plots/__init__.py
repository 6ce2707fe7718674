"""Figures of qsat's products (matplotlib, the optional ``plots`` extra).

Every function takes products (xarray Datasets, pandas tables) and returns a
:class:`matplotlib.figure.Figure` drawn on the Agg canvas: no pyplot, no global
backend switch, nothing shown on screen. :func:`save` writes it as PNG.
``import qsat`` never imports matplotlib; this package imports it on first use.

* :func:`sky_plot` — a pass on the sky (azimuth/elevation, polar);
* :func:`pass_series` — a pass over time: elevation and range, each loss term,
  count rates, QBER, key rate — whatever the products contain;
* :func:`passes_overview` — every pass: maximum elevation and key;
* :func:`budget_bars` — daily or monthly key per station and delivered key per user pair;
* :func:`distributions` — Monte Carlo distributions (histograms over trials);
* :func:`network_map` — stations, users, trusted nodes and links on longitude/latitude;
* :func:`standard_figures` — the set ``qsat run`` writes beside its data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import QsatInputError

DPI = 110
#: Loss terms of the link product, in the order they are drawn.
LOSS_TERMS = ("loss_geometric_db", "loss_atmosphere_db", "loss_turbulence_db", "loss_pointing_db",
              "loss_optics_db", "loss_total_db")


def figure(width_in: float = 7.0, height_in: float = 5.0):
    """A new Figure on the Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png")
    return path


def _need(ds, names, what: str, source: str):
    missing = [n for n in names if n not in ds.variables]
    if missing:
        raise QsatInputError(source, f"no variable {missing[0]!r}", what)


def pass_index(ds, pass_id: int | None, source: str = "product") -> int:
    """Position of ``pass_id`` on the ``pass`` dimension (default: the pass with most valid steps)."""
    ids = np.asarray(ds["pass"].values)
    if ids.size == 0:
        raise QsatInputError(source, "no passes", "a product with at least one pass")
    if pass_id is None:
        if "pass_secret_key_bits" in ds:
            return int(np.nanargmax(np.nan_to_num(ds["pass_secret_key_bits"].values.astype(float), nan=-1)))
        if "valid" in ds:
            return int(np.argmax(ds["valid"].values.sum(axis=-1)))
        return 0
    hits = np.nonzero(ids == pass_id)[0]
    if hits.size == 0:
        raise QsatInputError("--pass", pass_id, f"a pass id of {source} ({ids.min()}..{ids.max()})")
    return int(hits[0])


def _title(ds, i: int) -> str:
    parts = [f"pass {int(ds['pass'].values[i])}"]
    for c in ("satellite", "station"):
        if c in ds.coords:
            parts.append(str(ds[c].values[i]))
    return " · ".join(parts)


def _valid(ds, i):
    if "valid" in ds:
        return np.asarray(ds["valid"].values[i], dtype=bool)
    return np.ones(ds.sizes["step"], dtype=bool)


def sky_plot(geometry, pass_id: int | None = None, keys=None, source: str = "geometry"):
    """The pass's track on the sky: azimuth clockwise from north, elevation from the rim (0°) to
    the centre (90°); coloured by the step's key rate when ``keys`` is given, else by time."""
    _need(geometry, ("azimuth_deg", "elevation_deg"), "a geometry product (geometry.nc) with azimuth_deg "
          "and elevation_deg", source)
    i = pass_index(geometry, pass_id, source)
    ok = _valid(geometry, i)
    az = np.radians(geometry["azimuth_deg"].values[i][ok])
    el = geometry["elevation_deg"].values[i][ok]
    fig = figure(6.0, 6.0)
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    ax.set_rlim(90, 0)
    ax.set_rticks([80, 60, 40, 20])
    ax.set_yticklabels(["80°", "60°", "40°", "20°"], fontsize=8)
    ax.set_thetagrids(range(0, 360, 45), ["N", "NE", "E", "SE", "S", "SW", "W", "NW"])
    if keys is not None and "key_rate_asymptotic_bps" in keys:
        color, label = keys["key_rate_asymptotic_bps"].values[i][ok], "key rate (asymptotic) [bit/s]"
    else:
        color, label = np.arange(ok.sum()) * float(geometry.attrs.get("step_s", 1.0)), "time since rise [s]"
    sc = ax.scatter(az, el, c=color, s=6, cmap="viridis")
    ax.plot(az[:1], el[:1], "o", color="tab:green", label="rise")
    ax.plot(az[-1:], el[-1:], "s", color="tab:red", label="set")
    ax.legend(loc="lower left", bbox_to_anchor=(-0.1, -0.1), fontsize=8)
    fig.colorbar(sc, ax=ax, shrink=0.7, label=label)
    ax.set_title(f"Sky track, {_title(geometry, i)}", fontsize=10)
    return fig


def pass_series(geometry=None, link=None, keys=None, pass_id: int | None = None, source: str = "product"):
    """One pass over time, one panel per kind of quantity present in the products."""
    products = [p for p in (geometry, link, keys) if p is not None]
    if not products:
        raise QsatInputError(source, "no product", "a geometry, link or keys product")
    base = products[0]
    i = pass_index(keys if keys is not None else base, pass_id, source)
    pid = int(base["pass"].values[i])
    ok = _valid(base, i)
    step_s = float(base.attrs.get("step_s", 1.0))
    t = np.arange(base.sizes["step"])[ok] * step_s
    for p in products:
        if "time_utc" in p:
            times = p["time_utc"].values[i][ok]
            t = (times - times[0]) / np.timedelta64(1, "s")
            break
    panels = []
    if geometry is not None and "elevation_deg" in geometry:
        panels.append("geometry")
    if link is not None and any(n in link for n in LOSS_TERMS):
        panels.append("loss")
    if keys is not None and "click_rate_cps" in keys:
        panels.append("counts")
    if keys is not None and "qber" in keys:
        panels.append("qber")
    if keys is not None and "key_rate_asymptotic_bps" in keys:
        panels.append("key")
    if not panels:
        raise QsatInputError(source, "no plottable variable", "elevation_deg (geometry), loss_*_db (link) or "
                             "click_rate_cps / qber / key_rate_asymptotic_bps (keys)")
    fig = figure(7.5, 1.9 * len(panels) + 0.6)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, panel in zip(axes, panels):
        if panel == "geometry":
            ax.plot(t, geometry["elevation_deg"].values[i][ok], color="tab:blue")
            ax.set_ylabel("elevation [deg]")
            if "slant_range_m" in geometry:
                ax2 = ax.twinx()
                ax2.plot(t, geometry["slant_range_m"].values[i][ok] / 1e3, color="tab:gray", ls="--")
                ax2.set_ylabel("range [km]", color="tab:gray")
        elif panel == "loss":
            for name in LOSS_TERMS:
                if name in link:
                    y = link[name].values[i][ok]
                    ax.plot(t, y, lw=2.0 if name == "loss_total_db" else 1.2,
                            label=name.removeprefix("loss_").removesuffix("_db"))
            ax.set_ylabel("loss [dB]")
            ax.legend(fontsize=7, ncol=3)
        elif panel == "counts":
            ax.semilogy(t, keys["click_rate_cps"].values[i][ok], label="clicks")
            if "sifted_rate_cps" in keys:
                ax.semilogy(t, keys["sifted_rate_cps"].values[i][ok], label="sifted")
            ax.set_ylabel("rate [1/s]")
            ax.legend(fontsize=7)
        elif panel == "qber":
            ax.plot(t, 100 * keys["qber"].values[i][ok], color="tab:red")
            ax.set_ylabel("QBER [%]")
        elif panel == "key":
            ax.plot(t, keys["key_rate_asymptotic_bps"].values[i][ok], color="tab:green")
            ax.set_ylabel("key rate [bit/s]")
            if "pass_secret_key_bits" in keys:
                ax.set_title(f"finite-key secret key of the pass: {int(keys['pass_secret_key_bits'].values[i]):,} bit",
                             fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("time since rise [s]")
    fig.suptitle(f"Pass time series, {_title(base, i)}" if "pass" in base.coords else f"pass {pid}", fontsize=10)
    return fig


def passes_overview(passes, source: str = "passes"):
    """Every pass: maximum elevation against rise time, and its key where the table has one."""
    import pandas as pd

    for col in ("rise_utc", "max_elevation_deg", "station"):
        if col not in passes:
            raise QsatInputError(source, f"no column {col!r}", "a pass table (passes.csv / passes.parquet)")
    if len(passes) == 0:
        raise QsatInputError(source, "no passes", "a pass table with at least one pass")
    t = pd.to_datetime(passes["rise_utc"], utc=True).dt.tz_convert(None)
    has_key = "secret_key_bits" in passes and passes["secret_key_bits"].notna().any()
    fig = figure(8.0, 5.0 if has_key else 3.2)
    axes = fig.subplots(2 if has_key else 1, 1, sharex=True, squeeze=False)[:, 0]
    for station, group in passes.groupby("station", sort=True):
        idx = group.index
        axes[0].plot(t[idx], group["max_elevation_deg"], "o", ms=4, label=str(station))
        if has_key:
            axes[1].plot(t[idx], group["secret_key_bits"].astype(float), "o", ms=4, label=str(station))
    axes[0].set_ylabel("max elevation [deg]")
    axes[0].legend(fontsize=7, ncol=4)
    if has_key:
        axes[1].set_ylabel("secret key per pass [bit]")
        axes[1].set_yscale("symlog", linthresh=1.0)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("rise time (UTC)")
    fig.suptitle(f"{len(passes)} passes", fontsize=10)
    return fig


def _p50(var):
    return var.median("trial") if "trial" in var.dims else var


def budget_bars(budget, period: str = "daily", source: str = "budget"):
    """Key per station (stacked bars, P50 over weather trials) per day or month, and the key
    delivered to each user pair (per settle interval, or per month) where the network has demands."""
    name = f"station_key_bits_{period}"
    _need(budget, (name,), f"a budget product (budget.nc) with {name}", source)
    st = _p50(budget[name])
    time_dim = "day" if period == "daily" else "month"
    x = np.asarray(budget[time_dim].values)
    pair_var = "pair_delivered_bits_monthly" if period == "monthly" else "pair_delivered_bits"
    pairs = pair_var in budget and budget.sizes.get("pair", 0) > 0
    fig = figure(8.0, 6.0 if pairs else 3.6)
    axes = fig.subplots(2 if pairs else 1, 1, squeeze=False)[:, 0]
    width = 0.8 if period == "daily" else 25.0
    bottom = np.zeros(len(x))
    for j, station in enumerate(budget["station"].values):
        y = st.isel(station=j).values.astype(float)
        axes[0].bar(x, y, width=width, bottom=bottom, label=str(station), align="edge", linewidth=0)
        bottom += y
    axes[0].set_ylabel(f"key per {'day' if period == 'daily' else 'month'} [bit]")
    axes[0].legend(fontsize=7, ncol=4)
    axes[0].set_title("secret key held at the stations (median over weather trials)", fontsize=9)
    if pairs:
        pv = _p50(budget[pair_var])
        px = np.asarray(budget[pv.dims[0]].values)
        if period == "monthly":
            span_d, what = 25.0, "per month"
        else:  # per settle interval of the key stores
            span_d = 0.8 * float(budget.attrs.get("settle_interval_s", 86400.0)) / 86400.0
            what = f"per {float(budget.attrs.get('settle_interval_s', 86400.0)) / 3600:g} h interval"
        n = budget.sizes["pair"]
        for j, pair in enumerate(budget["pair"].values):
            axes[1].bar(px + np.timedelta64(int(j * span_d / n * 86400), "s"), pv.isel(pair=j).values,
                        width=span_d / n, label=str(pair), align="edge")
        axes[1].set_ylabel(f"delivered {what} [bit]")
        axes[1].legend(fontsize=7)
        axes[1].set_title("key delivered to user pairs (median over weather trials)", fontsize=9)
    for ax in axes:
        ax.grid(alpha=0.3, axis="y")
    return fig


def line_colours(n: int) -> list:
    """``n`` distinct colours: the default cycle up to 10, tab20 up to 20, then a colour map."""
    import matplotlib

    if n <= 10:
        return [f"C{j}" for j in range(n)]
    if n <= 20:
        tab20 = matplotlib.colormaps["tab20"]  # its ten hues first, then their light shades
        return [tab20(j) for j in [*range(0, 20, 2), *range(1, 20, 2)][:n]]
    return [matplotlib.colormaps["viridis"](j / (n - 1)) for j in range(n)]


def occupied_range(counts, edges) -> tuple[float, float]:
    """x-limits around the bins that hold trials (any line), with a margin of two bins.

    The stored bins run from min(0, smallest value) to the largest, so a key that never
    comes near 0 would otherwise sit squeezed at the far end of an axis starting at 0.
    """
    counts = np.asarray(counts).reshape(-1, len(edges) - 1).sum(axis=0)
    held = np.nonzero(counts > 0)[0]
    if held.size == 0:
        return float(edges[0]), float(edges[-1])
    lo, hi = edges[held[0]], edges[held[-1] + 1]
    margin = 2 * (edges[1] - edges[0])
    return float(max(edges[0], lo - margin)), float(min(edges[-1], hi + margin))


def _histogram_names(ds) -> list[str]:
    return [n[: -len("_histogram")] for n in ds.data_vars
            if n.endswith("_histogram") and f"{n[: -len('_histogram')]}_bin_edges" in ds]


def distributions(ds, variables=None, source: str = "montecarlo", bins: int = 40, pass_id: int | None = None):
    """Monte Carlo distributions, one panel per quantity (up to four), P5/P50/P95 marked.

    Two layouts are understood: the statistics of ``qsat montecarlo`` (``NAME_histogram`` over
    ``bin`` with ``NAME_bin_edges`` and ``NAME_quantile``; per-pass quantities are drawn for
    ``pass_id``, default the pass with the largest mean key, per-station ones one line per
    station), or raw values over a ``trial`` dimension (pooled over the other dimensions).
    """
    hist = _histogram_names(ds)
    if hist:
        names = list(variables) if variables else sorted(hist, key=lambda n: (not n.startswith("budget"), n))[:4]
        for n in names:
            if n not in hist:
                raise QsatInputError(source, f"no histogram {n!r}", f"one of {', '.join(hist)}")
    elif "trial" in ds.dims:
        names = list(variables) if variables else [n for n, v in ds.data_vars.items()
                                                   if "trial" in v.dims and v.dtype.kind in "fiu"][:4]
        for n in names:
            if n not in ds:
                raise QsatInputError(source, f"no variable {n!r}", f"one of {', '.join(map(str, ds.data_vars))}")
        if not names:
            raise QsatInputError(source, "no numeric variable over 'trial'", "a Monte Carlo product")
    else:
        raise QsatInputError(source, "no 'trial' dimension and no *_histogram variables",
                             "a Monte Carlo product (mc.zarr from qsat montecarlo, or variables over trials)")
    fig = figure(7.0, 2.4 * len(names) + 0.4)
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, n in zip(axes, names):
        units = ds[f"{n}_bin_edges" if hist else n].attrs.get("units", "")
        label = n
        if hist:
            counts, edges = ds[f"{n}_histogram"], np.asarray(ds[f"{n}_bin_edges"].values, dtype=float)
            quant = ds.get(f"{n}_quantile")
            if "pass" in counts.dims:
                if pass_id is None and "pass_secret_key_bits_mean" in ds:
                    i = int(np.nanargmax(ds["pass_secret_key_bits_mean"].values))
                else:
                    i = pass_index(ds, pass_id, source)
                counts = counts.isel({"pass": i})
                quant = quant.isel({"pass": i}) if quant is not None else None
                label = f"{n}, {_title(ds, i)}"
            extra = [d for d in counts.dims if d != "bin"]
            if extra:  # e.g. per station or month: one line each, each its own colour
                labels = ds[extra[0]].values
                for j, (name, colour) in enumerate(zip(labels, line_colours(len(labels)))):
                    ax.stairs(counts.isel({extra[0]: j}).values, edges, label=str(name), color=colour)
                ax.legend(fontsize=7, ncol=2 if len(labels) > 6 else 1)
            else:
                ax.stairs(counts.values, edges, fill=True, alpha=0.7)
                if quant is not None and quant.ndim == 1:
                    for q, ls in zip(quant.values, (":", "-", ":")):
                        ax.axvline(q, color="k", ls=ls, lw=1)
            ax.set_xlim(*occupied_range(counts.values, edges))
        else:
            v = np.asarray(ds[n].values, dtype=float).ravel()
            v = v[np.isfinite(v)]
            ax.hist(v, bins=bins, color="tab:blue", alpha=0.8)
            if v.size:
                for q, ls in zip(np.percentile(v, [5, 50, 95]), (":", "-", ":")):
                    ax.axvline(q, color="k", ls=ls, lw=1)
        ax.set_xlabel(f"{label} [{units}]" if units else label, fontsize=8)
        ax.set_ylabel("trials")
    fig.suptitle("Monte Carlo distributions (lines: P5, P50, P95)", fontsize=10)
    return fig


def _schematic_positions(placed: dict, unplaced: list, links) -> dict:
    """Positions for nodes without coordinates: around an already placed fiber neighbour
    (repeatedly, so chains hang off their station), else in a row below the map."""
    pos = {n: (v[0], v[1]) for n, v in placed.items()}
    lats = [v[0] for v in pos.values()] or [0.0]
    lons = [v[1] for v in pos.values()] or [0.0]
    radius = max(1.0, 0.08 * max(max(lats) - min(lats), max(lons) - min(lons), 1.0))
    todo = list(unplaced)
    children: dict[str, int] = {}
    while todo:
        progress = False
        for name in list(todo):
            anchor = next((b if a == name else a for a, b, _ in links
                           if name in (a, b) and (b if a == name else a) in pos), None)
            if anchor is None:
                continue
            k = children.get(anchor, 0)
            children[anchor] = k + 1
            angle = np.radians(45.0 + 70.0 * k)
            pos[name] = (pos[anchor][0] + radius * np.sin(angle), pos[anchor][1] + radius * np.cos(angle))
            todo.remove(name)
            progress = True
        if not progress:
            for k, name in enumerate(todo):
                pos[name] = (min(lats) - 2 * radius, min(lons) + k * 2 * radius)
            break
    return {n: pos[n] for n in unplaced}


def network_map(nodes: dict, links=(), title: str = "network"):
    """Nodes ``{name: (latitude_deg, longitude_deg, kind)}`` and links ``[(a, b, kind)]`` on lon/lat.

    Nodes without coordinates (None) are drawn hollow at schematic positions beside their
    fiber neighbour, and named in the title.
    """
    style = {"station": ("^", "tab:blue"), "trusted": ("s", "tab:orange"), "user": ("o", "tab:green"),
             "untrusted": ("x", "tab:gray")}
    fig = figure(7.5, 5.0)
    ax = fig.add_subplot()
    placed = {n: v for n, v in nodes.items() if v[0] is not None and v[1] is not None}
    unplaced = sorted(set(nodes) - set(placed))
    where = {n: (v[0], v[1]) for n, v in placed.items()}
    where.update(_schematic_positions(placed, unplaced, links))
    for (a, b, kind) in links:
        if a in where and b in where:
            fiber = kind in ("fiber", "given")
            ax.plot([where[a][1], where[b][1]], [where[a][0], where[b][0]], ls="-" if fiber else "--",
                    color="tab:gray" if fiber else "tab:purple", lw=1.2, zorder=1)
    seen = set()
    for name, (lat, lon) in where.items():
        kind = nodes[name][2]
        marker, color = style.get(kind, ("D", "tab:red"))
        hollow = name in unplaced
        ax.plot(lon, lat, marker, color=color, ms=8, mfc="white" if hollow else color, zorder=2,
                label=kind if kind not in seen else None)
        seen.add(kind)
        ax.annotate(name + (" *" if hollow else ""), (lon, lat), textcoords="offset points", xytext=(4, 4),
                    fontsize=8)
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    ax.grid(alpha=0.3)
    if seen:
        ax.legend(fontsize=8)
    note = f"\n* no coordinates, drawn beside its fiber neighbour: {', '.join(unplaced)}" if unplaced else ""
    ax.set_title(title + note, fontsize=9)
    ax.set_aspect("equal", adjustable="datalim")
    return fig


def network_nodes(run) -> tuple[dict, list]:
    """Nodes and links of a run's network: stations from the pass engine, nodes from ``[network]``."""
    sc = run.scenario
    result = run.context.get("pass_result")
    if result is not None:
        stations = result.stations
    else:
        from ..orbits.stations import resolve_station

        stations = [resolve_station(s, i) for i, s in enumerate(sc.ground_stations)]
    nodes = {s.name: (s.latitude_deg, s.longitude_deg, "station") for s in stations}
    links = []
    net = getattr(sc, "network", None)
    if net is not None:
        for n in net.nodes:
            nodes[n.name] = (n.latitude_deg, n.longitude_deg, n.kind)
        links = [(f.a, f.b, "fiber") for f in net.fiber_links]
    return nodes, links


#: at most this many passes get their own sky plot and time series in ``qsat run``
MAX_PASS_FIGURES = 3


def standard_figures(run, out_dir: Path) -> list[Path]:
    """The figures ``qsat run`` writes: per-pass sky plots and time series (the passes with
    most key, else highest), the pass overview, budget bars, Monte Carlo distributions and
    the network map, each where its products exist."""
    import pandas as pd
    import xarray as xr

    out_dir = Path(out_dir)
    p = run.products
    geometry, link, keys = run.dataset("geometry"), run.dataset("link"), run.dataset("keys")
    written = []
    passes = p.get("passes")
    if isinstance(passes, pd.DataFrame) and len(passes):
        written.append(save(passes_overview(passes), out_dir / "passes_overview.png"))
        col = "secret_key_bits" if "secret_key_bits" in passes and passes["secret_key_bits"].notna().any() \
            else "max_elevation_deg"
        best = passes.sort_values(col, ascending=False, kind="stable")["pass_id"].head(MAX_PASS_FIGURES)
        for pid in (int(x) for x in best):
            if isinstance(geometry, xr.Dataset):
                written.append(save(sky_plot(geometry, pid, keys), out_dir / f"pass_{pid}_sky.png"))
            if any(isinstance(d, xr.Dataset) for d in (geometry, link, keys)):  # none: qsat run --no-series
                written.append(save(pass_series(geometry, link, keys, pid), out_dir / f"pass_{pid}_series.png"))
    budget = p.get("budget")
    if isinstance(budget, xr.Dataset):
        for period in ("daily", "monthly"):
            if f"station_key_bits_{period}" in budget:
                written.append(save(budget_bars(budget, period), out_dir / f"budget_{period}.png"))
    for name, product in p.items():
        if isinstance(product, xr.Dataset) and name != "budget" and (
                "trial" in product.dims or _histogram_names(product)):
            written.append(save(distributions(product, source=name), out_dir / f"{name}_distributions.png"))
    if getattr(run.scenario, "network", None) is not None:
        nodes, links = network_nodes(run)
        written.append(save(network_map(nodes, links, title=f"network of {run.scenario.name}"),
                            out_dir / "network_map.png"))
    return written


__all__ = ["sky_plot", "pass_series", "passes_overview", "budget_bars", "distributions", "network_map",
           "network_nodes", "standard_figures", "save", "figure", "pass_index"]
