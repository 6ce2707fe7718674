"""Detection: detector models and presets, expected and sampled photon-count statistics.

* :mod:`~qsat.detection.detectors` — detector parameters and presets (Si SPAD, InGaAs SPAD, SNSPD);
* :mod:`~qsat.detection.wcp` — weak-coherent-pulse decoy source: click and error probabilities;
* :mod:`~qsat.detection.spdc` — entangled-pair source: coincidences, accidentals, QBER, CHSH;
* :mod:`~qsat.detection.sampling` — sampled counts (Philox; NumPy twin of ``kernels/counts.cu``).
"""
