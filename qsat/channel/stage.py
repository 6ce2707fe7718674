"""Pipeline stage ``link``: the per-step channel of every pass (product ``link``).

Reads ``run.products["geometry"]`` (dims ``(pass, step)``, ``valid`` mask, elevation, range,
Sun and Moon altitudes) and the ``[link]`` section; writes ``run.products["link"]``, a
Dataset with the same dims holding every term of :data:`qsat.channel.budget.OUTPUTS` with
``units`` and ``long_name``. Passes are grouped by station (altitude, aperture), since the
link constants depend on them.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from ..backend import to_numpy
from .budget import OUTPUTS, LinkParameters, channel_step
from .config import DefaultsWarning
from .ellipticbeam import ELLIPTIC_COLUMNS, elliptic_inputs, sample_elliptic_beam

#: units and long names of the product's variables.
VARIABLES = {
    "loss_geometric_db": ("dB", "diffraction loss: transmit truncation, receive-aperture collection, field-stop clipping of the diffraction-limited image"),
    "loss_atmosphere_db": ("dB", "atmospheric extinction along the slant path"),
    "loss_turbulence_db": ("dB", "mean turbulence loss: seeing clipped by the field stop, tilt-removed with receiver.tip_tilt_correction (downlink); long-term beam spread and wander (uplink)"),
    "loss_pointing_db": ("dB", "mean pointing loss: transmitter jitter and bias, receiver tracking jitter"),
    "loss_optics_db": ("dB", "fixed optical factors: transmit and receive optics, filter transmission, fiber coupling, "
                             "calibrated residual (attribute residual_loss_db)"),
    "loss_total_db": ("dB", "sum of the loss terms"),
    "transmittance": ("1", "mean end-to-end transmittance from the transmitter to the detector input (detector efficiency excluded)"),
    "background_cps": ("photons/s", "background photon rate at the detector input (after receiver optics and filter, before detector efficiency)"),
    "r0_m": ("m", "Fried parameter along the slant path at the link wavelength"),
    "rytov_variance": ("1", "Rytov variance (point receiver)"),
    "scintillation_index": ("1", "scintillation index at the receive aperture (aperture-averaged for downlinks)"),
    "isoplanatic_angle_rad": ("rad", "isoplanatic angle along the slant path"),
    "air_mass": ("1", "relative optical air mass (Kasten & Young 1989)"),
    "beam_radius_m": ("m", "1/e^2 beam radius at the receiver (short-term radius for uplinks)"),
    "fade_t_static": ("1", "fading-sampler input: transmittance without the random pointing factor"),
    "fade_w_eq_m": ("m", "fading-sampler input: equivalent beam width of Farid & Hranilovic"),
    "fade_sigma_x_m": ("m", "fading-sampler input: beam displacement rms along x at the receiver"),
    "fade_sigma_y_m": ("m", "fading-sampler input: beam displacement rms along y at the receiver"),
    "fade_bias_m": ("m", "fading-sampler input: pointing bias at the receiver"),
    "fade_sigma_ln2": ("1", "fading-sampler input: log-irradiance variance (log-normal law)"),
    "fade_inv_alpha": ("1", "fading-sampler input: 1/alpha of the gamma-gamma law"),
    "fade_inv_beta": ("1", "fading-sampler input: 1/beta of the gamma-gamma law"),
}

#: Added when ``[link] fading = "elliptic_beam"`` (uplinks): statistics of the elliptic-beam PDT.
ELLIPTIC_VARIABLES = {
    "transmittance_elliptic_mean": ("1", "mean transmittance over the elliptic-beam PDT (Vasylyev, Semenov & Vogel "
                                         "2016; beam wander, broadening and shape), sampled"),
    "transmittance_elliptic_p05": ("1", "5th percentile of the transmittance over the elliptic-beam PDT, sampled"),
    "eb_theta_var": ("1", "elliptic-beam model: variance of Theta_i = ln(W_i^2 / <W^2>)"),
    "eb_theta_cov": ("1", "elliptic-beam model: covariance of Theta_1 and Theta_2"),
}

#: Realisations per step behind ``transmittance_elliptic_mean`` / ``_p05`` (the 5th percentile of
#: 1024 draws has a standard error of about 0.7 percentage points of probability).
ELLIPTIC_SAMPLES = 1024
_ELLIPTIC_CHUNK = 1 << 18  # samples per sampler call (memory bound)


def _station_table(scenario) -> dict[str, tuple[float | None, float | None]]:
    """station name -> (aperture_m, obscuration_ratio), resolved through the orbit package's catalog."""
    table = {}
    try:
        from ..orbits.stations import resolve_station
    except ImportError:  # pragma: no cover - orbit package absent
        resolve_station = None
    for i, spec in enumerate(scenario.ground_stations):
        if resolve_station is not None:
            st = resolve_station(spec, i)
            table[spec.name] = (st.aperture_m, st.obscuration_ratio)
        else:
            table[spec.name] = (spec.aperture, spec.obscuration_ratio)
    return table


def compute_link(geometry: xr.Dataset, cfg, stations: dict | None = None, backend: str = "numpy",
                 warn=None, seed: int = 0, elliptic_samples: int = ELLIPTIC_SAMPLES,
                 warn_defaults=None, first_pass: int = 0) -> xr.Dataset:
    """The ``link`` Dataset for a geometry Dataset and a ``LinkConfig``.

    ``stations`` maps station name -> (aperture_m, obscuration_ratio) for downlinks whose
    receiver aperture is not set in ``[link.receiver]``. ``warn(message)`` records warnings;
    ``warn_defaults(message)`` (default: ``warn``) the one saying which loss terms come from
    qsat's defaults (:meth:`.config.LinkConfig.defaulted_terms`).
    With ``cfg.fading == "elliptic_beam"`` (uplinks) the variables of :data:`ELLIPTIC_VARIABLES`
    are added, sampled with ``elliptic_samples`` realisations per step from ``seed`` (Philox
    sample index ``(pass * n_step + step) * elliptic_samples + j``, stream 0). ``first_pass``: the
    window's index of the first pass of ``geometry`` when it is one group of a window's passes
    (padded to the window's step width), so that its draws are those of the whole-window run.
    """
    warn = warn or (lambda message: None)
    stations = stations or {}
    warn_defaults = warn_defaults or warn
    npass, nstep = geometry.sizes["pass"], geometry.sizes["step"]
    if "station_altitude_m" in geometry.coords:
        altitude = np.asarray(geometry["station_altitude_m"].values, dtype=np.float64)
    else:
        altitude = np.zeros(npass)
        warn("link: the geometry has no station_altitude_m coordinate; station altitude taken as 0 m "
             "(atmospheric extinction overestimated for elevated sites)")
    names = [str(s) for s in geometry["station"].values] if "station" in geometry.coords else [""] * npass
    defaulted = list(dict.fromkeys(t for name in dict.fromkeys(names) for t in cfg.defaulted_terms(name or None)))
    if defaulted:
        warn_defaults("link: the budget takes these loss terms from qsat's typical defaults, not from the scenario "
                      f"(docs/channel.md, Defaults): {'; '.join(defaulted)}; state the hardware's values")
    valid = np.asarray(geometry["valid"].values, dtype=bool)

    def column(name, scale=1.0):
        return np.asarray(geometry[name].values, dtype=np.float64) * scale

    el = column("elevation_deg", math.pi / 180.0)
    rng = column("slant_range_m")
    sun = column("sun_altitude_deg", math.pi / 180.0) if "sun_altitude_deg" in geometry else np.full_like(el, -math.pi / 2)
    moon = column("moon_altitude_deg", math.pi / 180.0) if "moon_altitude_deg" in geometry else np.full_like(el, -math.pi / 2)
    broken = valid & ~(np.isfinite(el) & np.isfinite(rng) & np.isfinite(sun) & np.isfinite(moon))
    if broken.any():
        warn(f"link: {int(broken.sum())} valid steps have non-finite geometry; their channel terms are NaN")
    # padded (and broken) steps are masked out; give the kernels finite numbers to skip over
    el, rng, sun, moon = (np.ascontiguousarray(np.where(np.isfinite(a), a, 0.0)) for a in (el, rng, sun, moon))
    compute = valid & ~broken

    out = np.full((npass, nstep, len(OUTPUTS)), np.nan)
    elliptic = cfg.fading == "elliptic_beam"
    eb_in = np.full((npass, nstep, len(ELLIPTIC_COLUMNS)), np.nan) if elliptic else None
    groups: dict[tuple, list[int]] = {}
    for i in range(npass):
        ap, ob = stations.get(names[i], (None, None))
        groups.setdefault((float(altitude[i]), ap, ob, names[i] or None), []).append(i)
    for (alt, ap, ob, name), idx in groups.items():
        params = LinkParameters.from_config(cfg, station_altitude_m=alt, station_aperture_m=ap, station_obscuration=ob,
                                            station_name=name)
        sel = np.array(idx)
        args = [np.ascontiguousarray(a[sel].reshape(-1)) for a in (el, rng, sun, moon)]
        v = np.ascontiguousarray(compute[sel].reshape(-1))
        if backend == "cupy":
            from .device import channel_step_gpu

            res = channel_step_gpu(*args, v, params)
        else:
            res = channel_step(*args, v, params)
        out[sel] = to_numpy(res).reshape(len(idx), nstep, len(OUTPUTS))
        if elliptic:
            rows = out[sel].reshape(-1, len(OUTPUTS))
            eb_in[sel] = elliptic_inputs(rows, args[1], params).reshape(len(idx), nstep, len(ELLIPTIC_COLUMNS))

    data = {}
    for j, name in enumerate(OUTPUTS):
        units, long_name = VARIABLES[name]
        data[name] = (("pass", "step"), out[:, :, j], {"units": units, "long_name": long_name})
    if elliptic:
        for name, values in zip(ELLIPTIC_VARIABLES, _elliptic_statistics(eb_in, seed, elliptic_samples, backend,
                                                                        first_row=first_pass * nstep)):
            units, long_name = ELLIPTIC_VARIABLES[name]
            data[name] = (("pass", "step"), values, {"units": units, "long_name": long_name})
    data["valid"] = (("pass", "step"), valid, geometry["valid"].attrs)
    coords = {k: v for k, v in geometry.coords.items()}
    if "time_utc" in geometry:
        coords["time_utc"] = geometry["time_utc"]
    bad = compute & ~np.all(np.isfinite(out[:, :, :8]), axis=-1)
    if bad.any():
        warn(f"link: {int(bad.sum())} valid steps have non-finite channel terms")
    attrs = {"title": "qsat per-step optical channel", "direction": cfg.direction,
             "wavelength_m": cfg.wavelength, "fading": cfg.fading,
             "transmittance_definition": VARIABLES["transmittance"][1],
             "background_definition": VARIABLES["background_cps"][1],
             "residual_loss_db": float(cfg.residual_loss_db),
             "defaulted_terms": "; ".join(defaulted) or "none"}
    if "step_s" in geometry.attrs:
        attrs["step_s"] = geometry.attrs["step_s"]
    if elliptic:
        attrs["elliptic_samples"] = int(elliptic_samples)
        attrs["elliptic_seed"] = str(seed)
        # the uplink's receiver (on board: one for every station), which the Monte Carlo's
        # elliptic-beam fades need alongside the per-step inputs
        rx = LinkParameters.from_config(cfg)
        attrs["rx_aperture_radius_m"] = float(rx.rx_radius_m)
        attrs["rx_obscuration_ratio"] = float(rx.rx_obscuration)
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _elliptic_statistics(inputs: np.ndarray, seed: int, n_samples: int, backend: str = "numpy",
                         first_row: int = 0):
    """Mean and 5th percentile of the elliptic-beam PDT per step, and its Theta variance/covariance.

    ``first_row``: the Philox step index of ``inputs``' first (pass, step) row in the window.

    On the ``cupy`` backend the draws come from ``kernels/fading.cu: elliptic_sample`` (same
    counters as the twin, so the same numbers up to rounding).
    """
    if backend == "cupy":
        from .device import sample_elliptic_gpu

        def sample(rows, first):
            return to_numpy(sample_elliptic_gpu(rows, n_samples, seed, first_step=first))
    else:
        def sample(rows, first):
            return sample_elliptic_beam(rows, n_samples, seed, first_step=first)

    shape = inputs.shape[:-1]
    flat = inputs.reshape(-1, inputs.shape[-1])
    mean = np.full(flat.shape[0], np.nan)
    p05 = np.full(flat.shape[0], np.nan)
    rows = np.nonzero(np.all(np.isfinite(flat), axis=1))[0]
    per_call = max(1, _ELLIPTIC_CHUNK // n_samples)
    # contiguous runs of valid rows keep the Philox index of a step independent of the chunking
    breaks = np.nonzero(np.diff(rows) != 1)[0] + 1
    for run in np.split(rows, breaks):
        for start in range(0, run.size, per_call):
            part = run[start:start + per_call]
            if part.size == 0:
                continue
            draws = sample(flat[part], first_row + int(part[0]))
            mean[part] = draws.mean(axis=1)
            p05[part] = np.percentile(draws, 5.0, axis=1)
    var = flat[:, ELLIPTIC_COLUMNS.index("theta_var")]
    cov = flat[:, ELLIPTIC_COLUMNS.index("theta_cov")]
    return mean.reshape(shape), p05.reshape(shape), var.reshape(shape), cov.reshape(shape)


def run_stage(run) -> None:
    """Pipeline stage: adds product ``link`` from ``geometry`` and the scenario's ``[link]``."""
    if "geometry" not in run.products:
        from ..errors import QsatError

        raise QsatError("the link stage needs the per-step geometry of the passes stage")
    run.products["link"] = link_of(run, run.products["geometry"])


def link_of(run, geometry: xr.Dataset, first_pass: int = 0) -> xr.Dataset:
    """The ``link`` Dataset of ``geometry`` (all of a run's passes, or one group of them starting at
    the window's pass ``first_pass``) under the run's ``[link]``, warnings recorded in the run."""
    run.data_versions["atmosphere_tables"] = "ephemerides/atmosphere (2026-11-26)"
    return compute_link(geometry, run.scenario.link, _station_table(run.scenario), backend=run.backend,
                        warn=run.warn, seed=run.scenario.seed,
                        warn_defaults=lambda message: run.warn(message, DefaultsWarning), first_pass=first_pass)
