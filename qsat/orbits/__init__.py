"""Orbits and passes: TLE/OMM elements, stations, pass finding, per-step geometry.

The public entry point is :func:`qsat.orbits.stage.compute_passes`; the pipeline
stage :func:`qsat.orbits.stage.run_stage` wraps it for ``qsat run``.
"""
