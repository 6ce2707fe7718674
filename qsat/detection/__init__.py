"""Detection: detector models and presets, expected and sampled photon-count statistics.

* :mod:`~qsat.detection.detectors` — detector parameters and presets (Si SPAD, InGaAs SPAD, SNSPD);
* :mod:`~qsat.detection.wcp` — weak-coherent-pulse decoy source: click and error probabilities;
* :mod:`~qsat.detection.spdc` — entangled-pair source: coincidences, accidentals, QBER, CHSH;
* :mod:`~qsat.detection.sampling` — sampled counts (Philox; NumPy twin of ``kernels/counts.cu``).
"""

# The scenario package imports this package's config sections; importing it first keeps
# that cycle well ordered whichever module a user imports first.
from .. import scenario as _scenario  # noqa: E402,F401
