"""The optical channel: per-step transmittance, fading and background for down- and uplinks.

Topic modules (each formula cited in its docstring): :mod:`.beam` (Gaussian beam, aperture
collection), :mod:`.atmosphere` (air mass, extinction), :mod:`.turbulence` (Cn2 profiles, r0,
theta0, Rytov variance, scintillation, beam wander), :mod:`.pointing` (Farid & Hranilovic),
:mod:`.ellipticbeam` (beam-wander and elliptic-beam PDT of uplinks and its sampler twin),
:mod:`.background` (sky radiance, counts), :mod:`.budget` (the per-step assembly and its
kernel twin), :mod:`.sampling` (fading sampler twin), :mod:`.config` (the ``[link]``
section), :mod:`.stage` (the pipeline stage), :mod:`.calibration` (the budget along a measured
curve and the fit of the named residual). Public entry points:

* :func:`qsat.channel.budget.link_budget` and :class:`qsat.channel.budget.LinkParameters`;
* :func:`qsat.channel.sampling.sample_transmittance`;
* :func:`qsat.channel.stage.compute_link` (geometry Dataset -> link Dataset);
* :func:`qsat.channel.calibration.budget_along_ranges` and :func:`qsat.channel.calibration.fit_residual`.
"""

# The scenario package imports this package's LinkConfig, and LinkConfig is built from the
# scenario's unit types: initialise qsat.scenario first so either import order works.
from .. import scenario as _scenario  # noqa: E402,F401
