"""``qsat calibrate SCENARIO --curve LOSS.csv``: fit the named residual loss to a measured curve.

Fits ``[link] residual_loss_db`` (:func:`qsat.channel.calibration.fit_residual`) to a measured
loss-vs-range curve of one station and prints it with what it leaves per point. The fitted
value is a calibration: it is validated only on another measurement (docs/channel.md).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import QsatInputError
from . import require_sections

#: Accepted range and loss columns of the curve file, with the factor to metres / dB.
RANGE_COLUMNS = {"range_m": 1.0, "range_km": 1e3, "distance": 1e3, "distance_km": 1e3}
LOSS_COLUMNS = ("loss_db", "loss")


def register(sub) -> None:
    p = sub.add_parser("calibrate", help="fit the named residual loss term to a measured loss curve",
                       description="Compare the scenario's [link] budget with a measured loss-vs-range curve "
                                   "of one ground station (detectors excluded) and fit one named term, "
                                   "[link] residual_loss_db (a constant in dB). Prints the value, its rms and "
                                   "the per-point residuals. A calibrated value is validated only on another "
                                   "measurement than the one it was fitted on.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML) with a [link] section")
    p.add_argument("--curve", type=Path, required=True,
                   help="CSV with a range column (range_m, range_km, or distance/distance_km in km) and a loss "
                        "column (loss_db or loss, dB); lines starting with # are comments")
    p.add_argument("--station", default=None, help="ground station of the curve (default: the scenario's first)")
    p.add_argument("--orbit-altitude", default="500 km",
                   help="circular-orbit altitude turning range into elevation (default: 500 km)")
    p.add_argument("--points", type=int, default=8, help="residuals to print, spread over the curve (default 8)")
    p.set_defaults(func=main)


def read_curve(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(range m, loss dB) from a curve file; one clear error for a missing file, column or bad value."""
    if not path.is_file():
        raise QsatInputError("--curve", str(path), "an existing CSV file")
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if line.strip() and not line.startswith("#")))
    header = {str(h).strip() for h in rows[0] if h} if rows else set()
    rcol = next((c for c in RANGE_COLUMNS if c in header), None)
    lcol = next((c for c in LOSS_COLUMNS if c in header), None)
    if rcol is None or lcol is None:
        raise QsatInputError("--curve", f"{path} (columns: {', '.join(sorted(header)) or 'none'})",
                             f"a range column ({', '.join(RANGE_COLUMNS)}) and a loss column "
                             f"({', '.join(LOSS_COLUMNS)})")
    rng, loss = [], []
    for i, row in enumerate(rows, start=2):
        try:
            rng.append(float(row[rcol]) * RANGE_COLUMNS[rcol])
            loss.append(float(row[lcol]))
        except (TypeError, ValueError):
            raise QsatInputError(f"--curve line {i}", f"{row[rcol]!r}, {row[lcol]!r}",
                                 "numbers in the range and loss columns") from None
    return np.array(rng), np.array(loss)


def main(args) -> int:
    from .. import scenario as scenario_mod
    from ..channel.calibration import check_curve, fit_residual
    from ..orbits.stations import resolve_station
    from ..units import to_si

    scenario = scenario_mod.load(args.scenario)
    require_sections(scenario, "calibrate", "link")
    rng, loss = check_curve(*read_curve(args.curve), name="--curve")
    specs = list(scenario.ground_stations)
    if args.station is not None:
        index = next((i for i, s in enumerate(specs) if s.name.upper() == args.station.upper()), None)
        if index is None:
            raise QsatInputError("--station", args.station,
                                 f"one of the scenario's ground stations ({', '.join(s.name for s in specs)})")
    elif specs:
        index = 0
    else:
        raise QsatInputError("ground_stations", "none", "the station of the curve in [[ground_stations]]")
    station = resolve_station(specs[index], index)
    orbit_m = to_si(args.orbit_altitude, "m", "--orbit-altitude", physical_type="length")
    if not 100e3 <= orbit_m <= 50000e3:
        raise QsatInputError("--orbit-altitude", args.orbit_altitude, "an orbit altitude between 100 km and 50000 km")
    if not args.points >= 1:
        raise QsatInputError("--points", args.points, "a positive number of residuals to print")
    cal = fit_residual(scenario.link, rng, loss, station.altitude_m, orbit_m, station.aperture_m,
                       station.obscuration_ratio, station.name)
    print(f"station {station.name}: {rng.size} points, {rng.min() / 1e3:.0f}-{rng.max() / 1e3:.0f} km")
    print(f"residual_loss_db = {cal.residual_loss_db:.2f}   # fitted: mean of measured - modelled loss")
    print(f"rms after the fit: {cal.rms_db:.2f} dB (what a constant residual cannot absorb)")
    print("range_km  measured_db  qsat_db  residual_db")
    for i in np.unique(np.linspace(0, rng.size - 1, min(args.points, rng.size)).round().astype(int)):
        print(f"{rng[i] / 1e3:8.1f}  {cal.measured_db[i]:11.2f}  {cal.model_db[i]:7.2f}  {cal.residuals_db[i]:+11.2f}")
    print("validated only on another measurement: put residual_loss_db under [link] and compare elsewhere")
    return 0
