"""The Monte Carlo's inputs from the pipeline's products: per-step, per-pass and scalar arrays.

Reads ``geometry`` and ``link`` (dims (pass, step)) and the ``passes`` table, the
``[protocol]``, ``[detector]`` and ``[montecarlo]`` sections (and ``[network.weather]``
when it gives monthly clear-sky probabilities), and packs what the kernel reads
(:data:`qsat.montecarlo.sampler.STEP_COLUMNS`, ``PASS_COLUMNS``, ``PARAMS``). The per-step
detection model is the keys stage's (:mod:`qsat.protocols.stage`): detector efficiency,
jitter-window fraction, excess loss and the elevation mask applied to the link's
transmittance; extraneous clicks from dark counts and background; the first-order dead-time
factor of the mean click rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..detection.detectors import DetectorConfig
from ..errors import QsatInputError
from ..protocols.bbm92 import SIFT_FRACTION
from .config import MonteCarloConfig
from .sampler import (FLAG_CLEAR_GIVEN, FLAG_ELLIPTIC, FLAGS, MODES, PARAMS, PASS_COLUMNS, SOURCE_COLUMNS,
                      STEP_COLUMNS, step_mean_statistics)


@dataclass
class CorrelatedWeather:
    """Keys of the spatially and temporally correlated weather of ``[network.weather]``.

    Per row, for pass A and pass B (dual-downlink BBM92; else B repeats A): the index of the
    pass's station in the scenario's ``ground_stations`` and the index of the weather window of
    its culmination, ``floor((t_culmination - start) / decorrelation_time)`` — the keys of the
    budget stage (:mod:`qsat.network.stage`), so a pass is clear in trial t of the Monte Carlo
    exactly when it is clear in weather trial t of the budget (same seed, same probability).
    """

    station: np.ndarray      # (n_rows, 2) int64
    window: np.ndarray       # (n_rows, 2) int64
    correlation: np.ndarray  # (n_stations, n_stations): exp(-d / correlation_length)

    def flags(self, seed: int, first_trial: int, n_trials: int, p0: int, p1: int, rows, xp=np):
        """(n_trials, p1 - p0, 2) float64 clear flags of rows [p0, p1) (``rows``: their PASS_COLUMNS)."""
        from ..backend import to_numpy
        from ..network.weather import clear_flags

        rows = to_numpy(rows)
        out = xp.empty((n_trials, p1 - p0, 2), dtype=xp.float64)
        for k, column in enumerate((0, 6)):  # clear-sky probability of pass A, of pass B
            out[..., k] = clear_flags(seed, first_trial, n_trials, self.station[p0:p1, k], self.window[p0:p1, k],
                                      rows[:, column], self.correlation, xp)
        return out


@dataclass
class MonteCarloInputs:
    """Everything a chunk needs: plain arrays (picklable, small) and the key settings."""

    steps: np.ndarray    # (n_passes, n_steps, len(STEP_COLUMNS))
    passes: np.ndarray   # (n_passes, len(PASS_COLUMNS))
    params: np.ndarray   # (len(PARAMS),)
    protocol: str        # "decoy-bb84" or "bbm92"
    key_settings: dict   # keyword arguments of the key functions (reduce.pass_results)
    pass_id: np.ndarray
    station: np.ndarray
    satellite: np.ndarray
    step_s: float
    sampled: tuple[str, ...]
    notes: list[str] = field(default_factory=list)
    steps_b: np.ndarray | None = None  # dual-downlink BBM92: pass B of each row (a pair of passes)
    row_coords: dict = field(default_factory=dict)  # extra coordinates of the rows (pass_a, pass_b)
    month: np.ndarray | None = None  # "YYYY-MM" of each row's (pass A's) rise, for monthly budgets
    weather: CorrelatedWeather | None = None  # [network.weather]: correlated outcomes (else independent)

    @property
    def n_passes(self) -> int:
        return self.steps.shape[0]

    def param(self, name: str) -> float:
        return float(self.params[PARAMS.index(name)])

    def digest(self) -> str:
        """SHA-256 of what the kernel reads (steps, rows, parameters) and of the key settings: a
        checkpoint resumes only onto the same numbers, whatever produced them (model or version)."""
        import hashlib
        import json

        h = hashlib.sha256()
        for a in (self.steps, self.passes, self.params, self.steps_b):
            if a is not None:
                h.update(str(a.shape).encode())
                h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
        h.update(json.dumps(self.key_settings, sort_keys=True, default=str).encode())
        return h.hexdigest()


def _column(ds, name, default=None):
    if name in ds:
        return np.asarray(ds[name].values, dtype=np.float64)
    if default is None:
        raise QsatInputError("link", f"no '{name}' variable", "the link stage's product (qsat.channel.stage)")
    return default


def _optimised_source(geometry, link, cfg, detector, step_s: float, seed: int, backend: str) -> np.ndarray:
    """(n_pass, len(SOURCE_COLUMNS)): the keys stage's per-pass optimum of the decoy-BB84 source
    (the same function on the same inputs, seed and backend)."""
    from ..backend import namespace
    from ..protocols.stage import dead_time_factor, detection_inputs, pass_blocks

    valid, eta, pdc = detection_inputs(geometry, link, cfg, detector)
    res = pass_blocks(eta * dead_time_factor(eta, pdc, valid, cfg, detector), valid, pdc, step_s, cfg, seed,
                      namespace(backend))
    return np.concatenate([res["mean_photon_numbers"], res["intensity_probabilities"],
                           res["basis_probability_x"][:, None]], axis=-1)


def _elliptic_link(link):
    """(t_rest, W_ST, theta_var, theta_cov) per step when the link was computed with ``fading = "elliptic_beam"``.

    ``t_rest`` is the static transmittance without the collection of the centred short-term beam
    (:func:`qsat.channel.ellipticbeam.elliptic_inputs`); the receive aperture comes from the link's
    attributes. None for any other fading law.
    """
    if link.attrs.get("fading") != "elliptic_beam":
        return None
    from ..channel.beam import annulus_fraction

    missing = [k for k in ("rx_aperture_radius_m", "rx_obscuration_ratio") if k not in link.attrs]
    if missing:
        raise QsatInputError("link", f"elliptic-beam product without attribute(s) {', '.join(missing)}",
                             "the link stage's product (qsat.channel.stage) of this qsat version")
    a, eps = float(link.attrs["rx_aperture_radius_m"]), float(link.attrs["rx_obscuration_ratio"])
    w_st = _column(link, "beam_radius_m")
    with np.errstate(invalid="ignore", divide="ignore"):
        t_rest = _column(link, "fade_t_static") / annulus_fraction(w_st, a, eps)
    return t_rest, w_st, _column(link, "eb_theta_var"), _column(link, "eb_theta_cov")


def clear_sky_probabilities(passes_table, mc: MonteCarloConfig, network=None, warn=None,
                            base_dir=None) -> np.ndarray:
    """Clear-sky probability of each pass, from the first source that has it:

    1. ``[montecarlo] clear_sky_probability`` (one value, or one per station);
    2. ``[network.weather]`` (its ``clear_sky`` table, else its climatology file), for the
       month of the pass's rise (:func:`qsat.network.weather.monthly_clear_sky`);
    3. the shipped climatology (``ephemerides/climate/cloud_climatology.csv``) for stations
       it lists;
    4. otherwise 1 (clear), with a warning naming the stations when weather is sampled.
    """
    stations = [str(s) for s in passes_table["station"]]
    given = mc.clear_sky_probability
    if isinstance(given, (int, float)):
        return np.full(len(stations), float(given))
    if isinstance(given, dict):
        missing = sorted({s for s in stations if s not in given})
        if missing:
            raise QsatInputError("montecarlo.clear_sky_probability", missing[0],
                                 f"a clear-sky probability for every station with passes ({', '.join(sorted(set(stations)))})")
        return np.array([given[s] for s in stations], dtype=np.float64)
    out = np.ones(len(stations))
    if not stations or "weather" not in mc.sample:
        return out
    import pandas as pd

    months = (pd.to_datetime(passes_table["rise_utc"], utc=True).dt.month.to_numpy() - 1
              if "rise_utc" in passes_table else None)
    names = sorted(set(stations))
    index = np.array([names.index(s) for s in stations])
    weather = getattr(network, "weather", None) if network is not None else None
    unknown = names
    if months is not None:
        from ..network import weather as climate

        if weather is not None:
            table, unknown = climate.monthly_clear_sky(names, weather, base_dir)
        else:
            shipped = climate.load_climatology()
            table = np.array([shipped.get(s.upper(), np.ones(12)) for s in names])
            unknown = [s for s in names if s.upper() not in shipped]
        out = table[index, months]
    if unknown and warn is not None:
        warn(f"montecarlo: weather is sampled but no clear-sky probability is known for {', '.join(unknown)} "
             "(set [montecarlo] clear_sky_probability or [network.weather] clear_sky); taken as always clear")
    return out


def scenario_stations(scenario) -> list[tuple[str, float, float]]:
    """(name, latitude_deg, longitude_deg) of the scenario's ground stations, in scenario order.

    The order and the coordinates key and correlate the weather draws as the budget stage does.
    """
    from ..orbits.stations import resolve_station

    stations = [resolve_station(spec, i) for i, spec in enumerate(scenario.ground_stations)]
    return [(s.name, float(s.latitude_deg), float(s.longitude_deg)) for s in stations]


def inputs_for_run(run, mc: MonteCarloConfig | None = None) -> MonteCarloInputs:
    """:func:`build_inputs` from a pipeline run after its link stage (``qsat montecarlo`` and the stage)."""
    sc = run.scenario
    mc = mc if mc is not None else (getattr(sc, "montecarlo", None) or MonteCarloConfig())
    return build_inputs(run.products["geometry"], run.products["link"], run.products["passes"], sc.protocol,
                        getattr(sc, "detector", None), mc, getattr(sc, "network", None), warn=run.warn,
                        base_dir=sc.base_dir, stations=scenario_stations(sc), start=sc.time.start, seed=sc.seed,
                        backend=run.backend)


def _correlated_weather(passes_table, network, stations, start, warn) -> tuple[np.ndarray, np.ndarray] | None:
    """(station index, window index) per pass for [network.weather], or None (independent weather)."""
    import pandas as pd

    weather = network.weather
    if stations is None or start is None or "culmination_utc" not in passes_table:
        if warn is not None:
            warn("montecarlo: [network.weather] is set but the scenario's stations or the passes' culmination "
                 "times were not given to build_inputs; weather sampled independently per pass")
        return None
    names = [s[0] for s in stations]
    index = {name: i for i, name in enumerate(names)}
    station = np.array([index[str(s)] for s in passes_table["station"]], dtype=np.int64)
    t0 = np.datetime64(start.replace(tzinfo=None), "ns")  # as the budget stage: a UTC start
    culm = pd.to_datetime(pd.Series(passes_table["culmination_utc"]), utc=True).dt.tz_convert(None)
    culm = culm.to_numpy(dtype="datetime64[ns]")
    window = np.floor((culm - t0) / np.timedelta64(1, "s") / weather.decorrelation_time).astype(np.int64)
    return station, window


def build_inputs(geometry, link, passes_table, protocol_cfg, detector_cfg: DetectorConfig | None,
                 mc: MonteCarloConfig, network=None, warn=None, base_dir=None, stations=None,
                 start=None, seed: int = 0, backend: str = "numpy") -> MonteCarloInputs:
    """Pack the products of the passes and link stages for :func:`qsat.montecarlo.sampler.sample_trials`.

    ``seed`` (the scenario's) seeds the per-pass source optimisation of ``[protocol] optimize``,
    run on ``backend`` as in the keys stage, so both stages choose the same source per pass.

    ``stations`` (``(name, latitude_deg, longitude_deg)`` in scenario order, :func:`scenario_stations`)
    and ``start`` (the scenario's start time) key the correlated weather of ``[network.weather]``.
    """
    if protocol_cfg is None:
        raise QsatInputError("protocol", "missing", "a [protocol] section for qsat montecarlo")
    cfg = protocol_cfg
    detector = (detector_cfg or DetectorConfig()).build()
    # as in the keys stage: the detector owns afterpulsing in scenario mode
    cfg = cfg.model_copy(update={"afterpulse_probability": detector.afterpulse_probability})
    step_s = float(geometry.attrs.get("step_s", 1.0))
    valid = np.asarray(geometry["valid"].values, dtype=bool)
    elev = np.nan_to_num(np.asarray(geometry["elevation_deg"].values, dtype=np.float64), nan=-90.0)
    trans = _column(link, "transmittance")
    valid = valid & (elev >= cfg.elevation_mask_deg) & np.isfinite(trans)
    t_static = _column(link, "fade_t_static", trans)
    w_eq = _column(link, "fade_w_eq_m", np.ones_like(trans))
    sx = _column(link, "fade_sigma_x_m", np.zeros_like(trans))
    sy = _column(link, "fade_sigma_y_m", np.zeros_like(trans))
    bias = _column(link, "fade_bias_m", np.zeros_like(trans))
    s_ln = _column(link, "fade_sigma_ln2", np.log1p(_column(link, "scintillation_index", np.zeros_like(trans))))
    bg = np.nan_to_num(_column(link, "background_cps", np.zeros_like(trans)), nan=0.0)
    theta_cov = np.zeros_like(trans)
    elliptic = _elliptic_link(link)
    if elliptic is not None:  # uplink fades from the elliptic-beam PDT: its inputs replace the Gaussian-beam ones
        t_static, w_eq, s_ln, theta_cov = elliptic
    valid &= np.isfinite(t_static) & np.isfinite(w_eq) & (w_eq > 0)

    def clean(a, fill=0.0):
        return np.where(valid, np.nan_to_num(a, nan=fill), fill)

    trans, t_static, w_eq, sx, sy, bias, s_ln, theta_cov = (
        clean(a) for a in (trans, t_static, w_eq, sx, sy, bias, s_ln, theta_cov))
    w_eq = np.where(valid, w_eq, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        point_mean = np.where(t_static > 0, trans / np.where(t_static > 0, t_static, 1.0), 1.0)
    factor = detector.efficiency * detector.window_fraction() * 10 ** (-cfg.excess_loss_db / 10)
    eta_static = t_static * factor
    pdc = np.where(valid, np.asarray(detector.extraneous_probability(bg)), 0.0)
    mode = MODES["bbm92-dual" if cfg.protocol == "bbm92" and cfg.dual_downlink else cfg.protocol]
    n_pass = valid.shape[0]
    source = np.zeros((n_pass, len(SOURCE_COLUMNS)))
    if mode == MODES["decoy-bb84"]:
        from ..protocols.stage import dead_time_factor

        # first-order dead time at the mean click rate, as in the keys stage
        dead = dead_time_factor(trans * factor, pdc, valid, cfg, detector)
        eta_static = eta_static * dead
        noise = pdc
        weight = np.where(valid, cfg.rep_rate_hz * step_s, 0.0)
        source[:] = np.concatenate([cfg.mean_photon_numbers, cfg.intensity_probabilities, [cfg.basis_probability_x]])
        if cfg.optimize:  # the keys stage's per-pass optimum: the same function on the same inputs
            source = _optimised_source(geometry, link, cfg, detector, step_s, seed, backend)
    else:
        noise = np.where(valid, pdc / detector.window_s * detector.n_detectors, 0.0)
        weight = np.where(valid, step_s, 0.0)
    steps = np.ascontiguousarray(np.stack([eta_static, point_mean, w_eq, sx, sy, bias, s_ln, noise, weight,
                                           theta_cov], axis=-1), dtype=np.float64)
    assert steps.shape[-1] == len(STEP_COLUMNS)
    n_step = valid.shape[1]
    idx = np.arange(n_step)
    last = np.where(valid.any(axis=1), np.max(np.where(valid, idx[None, :] + 1, 0), axis=1), 0)
    p_clear = clear_sky_probabilities(passes_table, mc, network, warn, base_dir)
    coords = geometry.coords
    pass_id = np.asarray(coords["pass"].values) if "pass" in coords else np.arange(n_pass)
    station = np.asarray([str(s) for s in passes_table["station"]]) if "station" in passes_table else np.full(n_pass, "")
    satellite = (np.asarray([str(s) for s in passes_table["satellite"]]) if "satellite" in passes_table
                 else np.full(n_pass, ""))
    steps_b, row_coords = None, {}
    month = None
    if "rise_utc" in passes_table:
        import pandas as pd

        month = pd.to_datetime(passes_table["rise_utc"], utc=True).dt.strftime("%Y-%m").to_numpy().astype(str)
    if mode == MODES["bbm92-dual"]:
        if elliptic is not None:
            raise QsatInputError("protocol.dual_downlink", True,
                                 "false for an elliptic-beam uplink ([link] fading = 'elliptic_beam'): a dual "
                                 "downlink sends both photons down from the satellite")
        steps, steps_b, passes, row_coords = _pairs(geometry, passes_table, valid, steps, p_clear, step_s,
                                                    pass_id, station)  # BBM92: no decoy source columns
        pass_id, station = np.arange(len(passes)), row_coords.pop("station_pair")
        satellite = satellite[passes[:, 2].astype(int)]
        month = month[passes[:, 2].astype(int)] if month is not None else None
    else:
        zero = np.zeros(n_pass)
        aperture, obscuration = ((float(link.attrs["rx_aperture_radius_m"]), float(link.attrs["rx_obscuration_ratio"]))
                                 if elliptic is not None else (0.0, 0.0))
        passes = np.ascontiguousarray(np.concatenate([np.stack(
            [p_clear, last.astype(np.float64), np.arange(n_pass, dtype=np.float64), zero, zero, zero, np.ones(n_pass),
             zero + aperture, zero + obscuration], axis=-1), source], axis=-1))
    assert passes.shape[-1] == len(PASS_COLUMNS)
    flags = sum(FLAGS[name] for name in mc.sample) | (FLAG_ELLIPTIC if elliptic is not None else 0)
    weather, weather_note = None, None
    if "weather" in mc.sample and getattr(network, "weather", None) is not None:
        keys = _correlated_weather(passes_table, network, stations, start, warn)
        if keys is not None:
            from ..network.weather import correlation_matrix

            station_of, window_of = keys
            rows_a, rows_b = passes[:, 2].astype(np.int64), passes[:, 4].astype(np.int64)
            if mode != MODES["bbm92-dual"]:
                rows_b = rows_a
            lat = np.array([s[1] for s in stations], dtype=np.float64)
            lon = np.array([s[2] for s in stations], dtype=np.float64)
            w = network.weather
            weather = CorrelatedWeather(station=np.stack([station_of[rows_a], station_of[rows_b]], axis=-1),
                                        window=np.stack([window_of[rows_a], window_of[rows_b]], axis=-1),
                                        correlation=correlation_matrix(lat, lon, w.correlation_length))
            flags |= FLAG_CLEAR_GIVEN
            weather_note = (f"weather correlated as [network.weather]: correlation length {w.correlation_length:g} m, "
                            f"decorrelation time {w.decorrelation_time:g} s")
    rho_t, v_t = step_mean_statistics(step_s, mc.turbulence_coherence_time)
    rho_p, v_p = step_mean_statistics(step_s, mc.pointing_coherence_time)
    values = {
        "mode": mode, "flags": flags, "rho_t": rho_t, "v_t": v_t, "rho_p": rho_p, "v_p": v_p,
        "afterpulse_probability": cfg.afterpulse_probability,
        "intrinsic_qber": cfg.intrinsic_qber, "pair_rate_hz": cfg.pair_rate_hz,
        "coincidence_window_s": cfg.coincidence_window_s, "source_qber": cfg.pair_source_qber,
        "eta_b": detector.efficiency, "noise_b_cps": detector.n_detectors * detector.dark_count_rate_cps,
        "sift_fraction": SIFT_FRACTION,
    }
    params = np.array([float(values[k]) for k in PARAMS], dtype=np.float64)
    key_settings = dict(eps_sec=cfg.eps_sec, eps_cor=cfg.eps_cor,
                        error_correction_efficiency=cfg.error_correction_efficiency)
    if mode == MODES["decoy-bb84"]:
        key_settings.update(tail=cfg.tail_bound, min_z_counts=cfg.min_z_counts)
    notes = [weather_note] if weather_note else []
    if not math.isclose(v_t, 1.0) or not math.isclose(v_p, 1.0):
        notes.append(f"step means of fades over {step_s:g} s steps: turbulence variance fraction {v_t:.3g}, "
                     f"pointing {v_p:.3g}")
    return MonteCarloInputs(steps=steps, passes=passes, params=params, protocol=cfg.protocol,
                            key_settings=key_settings, pass_id=pass_id, station=station, satellite=satellite,
                            step_s=step_s, sampled=tuple(mc.sample), notes=notes, steps_b=steps_b,
                            row_coords=row_coords, month=month, weather=weather)


def _pairs(geometry, passes_table, valid, steps, p_clear, step_s, pass_id, station):
    """Rows of dual-downlink BBM92: each pair of passes of one satellite over two stations at once.

    Pairs are the keys stage's (:func:`qsat.protocols.stage.pair_passes`); a row walks the
    steps both passes see (common ``time_utc``), pass A's inputs in ``steps``, pass B's in
    ``steps_b``; a step counts (weight ``step_s``) where both are valid. The row's draws are
    keyed by each pass's own index and step index, so pass A's fades in the pair are those its
    own index and steps select.
    """
    from ..protocols.stage import pair_passes

    pairs = pair_passes(passes_table.reset_index(drop=True), geometry)
    if not pairs:
        raise QsatInputError("protocol.dual_downlink", True,
                             "passes of one satellite over two stations at the same time (none in this scenario); "
                             "or dual_downlink = false for a downlink of one photon with its partner detected on board")
    times = np.asarray(geometry["time_utc"].values)
    spans = []
    for i, j in pairs:
        _, ia, jb = np.intersect1d(times[i][valid[i]], times[j][valid[j]], return_indices=True)
        si, sj = np.nonzero(valid[i])[0][ia], np.nonzero(valid[j])[0][jb]
        if np.any(sj - si != sj[0] - si[0]):
            raise QsatInputError("geometry", f"passes {pass_id[i]} and {pass_id[j]}",
                                 "passes on one time grid (the same step) for dual-downlink pairing")
        spans.append((i, j, int(si[0]), int(sj[0]), int(si[-1] - si[0] + 1)))
    width = max(n for *_, n in spans)
    rows_a = np.zeros((len(spans), width, steps.shape[-1]))
    rows_b = np.zeros_like(rows_a)
    rows_a[..., 2] = rows_b[..., 2] = 1.0  # w_eq of unused steps: finite
    columns = []
    for r, (i, j, a0, b0, n) in enumerate(spans):
        rows_a[r, :n] = steps[i, a0:a0 + n]
        rows_b[r, :n] = steps[j, b0:b0 + n]
        both = valid[i, a0:a0 + n] & valid[j, b0:b0 + n]
        rows_a[r, :n, 8] = np.where(both, step_s, 0.0)
        columns.append([p_clear[i], n, i, a0, j, b0, p_clear[j]] + [0.0] * (len(PASS_COLUMNS) - 7))
    coords = {"pass_a": ("pass", pass_id[[s[0] for s in spans]]), "pass_b": ("pass", pass_id[[s[1] for s in spans]]),
              "station_pair": np.array([f"{station[i]}+{station[j]}" for i, j, *_ in spans])}
    return (np.ascontiguousarray(rows_a), np.ascontiguousarray(rows_b),
            np.ascontiguousarray(np.array(columns, dtype=np.float64)), coords)
