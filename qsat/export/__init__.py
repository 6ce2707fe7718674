"""Exports for planning tools: a CZML scene for Cesium and CCSDS OEM ephemerides.

``qsat run`` calls :func:`write_exports`, which writes ``scene.czml`` (:mod:`.czml`) and
``ephemerides.oem`` (:mod:`.oem`) beside the data, sampled every :data:`STEP_S` from the
element sets the run propagated. Long windows are cut to their first :data:`CZML_MAX_DAYS`
(scene) and :data:`OEM_MAX_DAYS` (ephemerides); the cut is written into each file and
``summary.json``; :func:`qsat.export.oem.write_oem` and :func:`qsat.export.czml.build` take
any span.
"""

from __future__ import annotations

from pathlib import Path

STEP_S = 60.0
CZML_MAX_DAYS = 3.0
OEM_MAX_DAYS = 7.0


def write_exports(run, out_dir: Path) -> list[Path]:
    """``scene.czml`` and ``ephemerides.oem`` of a run (needs the passes stage's satellites)."""
    from . import czml, oem
    from .ephemeris import export_window

    result = run.context.get("pass_result")
    if result is None:
        return []
    out_dir = Path(out_dir)
    sc = run.scenario
    written = []
    start, stop, cut = export_window(sc.time.start, sc.time.duration, CZML_MAX_DAYS)
    note = (f"Covers the first {CZML_MAX_DAYS:g} days of the {sc.time.duration / 86400:g}-day window."
            if cut else "")
    passes, geometry, keys = _scene_passes(run.products.get("passes"), run.dataset("geometry"),
                                           run.dataset("keys"), stop)
    packets = czml.build(result.satellites, result.stations, start, stop, step_s=STEP_S, passes=passes,
                         geometry=geometry, keys=keys, name=sc.name, note=note)
    written.append(czml.write_czml(packets, out_dir / "scene.czml"))
    start, stop, cut = export_window(sc.time.start, sc.time.duration, OEM_MAX_DAYS)
    comments = [f"qsat scenario {sc.name}, sha256 {sc.digest()}",
                f"states every {STEP_S:g} s from the run's SGP4 element sets"]
    if cut:
        comments.append(f"covers the first {OEM_MAX_DAYS:g} days of the {sc.time.duration / 86400:g}-day window")
    written.append(oem.write_oem(result.satellites, out_dir / "ephemerides.oem", start, stop, STEP_S, comments))
    return written


def _scene_passes(passes, geometry, keys, stop):
    """The passes that rise before the scene's ``stop`` and their per-step rows: all the scene
    draws, and all it reads of a window's geometry streamed to its file."""
    import numpy as np
    import pandas as pd

    if passes is None or geometry is None or len(passes) == 0:
        return passes, geometry, keys
    stop = pd.Timestamp(stop)
    stop = stop.tz_localize("UTC") if stop.tz is None else stop
    passes = passes[(pd.to_datetime(passes["rise_utc"], utc=True) <= stop).to_numpy()]
    rows = np.searchsorted(np.asarray(geometry["pass"].values), passes["pass_id"].to_numpy())
    return passes, geometry.isel({"pass": rows}), None if keys is None else keys.isel({"pass": rows})


__all__ = ["write_exports", "STEP_S", "CZML_MAX_DAYS", "OEM_MAX_DAYS"]
