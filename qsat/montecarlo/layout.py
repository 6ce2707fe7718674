"""The layout of the fused Monte Carlo kernel's arrays, shared with ``kernels/montecarlo.cuh``.

Column names and orders of the per-step inputs and constants, the per-row inputs and sums, the
scalar parameters, the outputs, flag bits, modes and Philox tags. ``tests/montecarlo`` checks
them against the header's ``QMC_*`` macros.
"""

from __future__ import annotations

#: Per-step input columns (kernels/montecarlo.cuh QMC_*). With the elliptic-beam flag
#: (:data:`FLAG_ELLIPTIC`) ``eta_static`` excludes the collection of the centred short-term beam,
#: ``w_eq_m`` is that beam's radius W_ST, ``sigma_ln2`` and ``theta_cov`` are the variance and
#: covariance of ``Theta_i = ln(W_i^2 / W_ST^2)`` (:func:`qsat.channel.ellipticbeam.elliptic_inputs`)
#: and ``pointing_mean`` is not read; otherwise ``theta_cov`` is not read.
STEP_COLUMNS = ("eta_static", "pointing_mean", "w_eq_m", "sigma_x_m", "sigma_y_m", "bias_m",
                "sigma_ln2", "noise", "weight", "theta_cov")
#: Per-step constants the kernel reads (kernels/montecarlo.cuh QMC_C_*), from :func:`step_constants`.
STEP_CONSTANTS = ("eta", "x0", "ax", "ay", "kx", "ky", "st", "hs", "noise", "weight", "wa", "wb", "rho", "rc")
#: Per-row sums of the clicks without signal (kernels/montecarlo.cuh QMC_S_*), from :func:`row_sums`.
ROW_SUMS = ("r0", "e0")
#: Per-pass input columns.
#: ``aperture_radius_m`` and ``obscuration_ratio``: the receiver of pass A, read with
#: :data:`FLAG_ELLIPTIC` only (the elliptic-beam transmittance depends on lengths over the aperture).
#: ``mu1 ... basis_probability_x``: the decoy-BB84 source of the row's pass, the configured one or
#: the keys stage's per-pass optimum (``[protocol] optimize``); not read for BBM92.
PASS_COLUMNS = ("clear_sky_probability", "n_steps", "pass_a", "offset_a", "pass_b", "offset_b",
                "clear_sky_probability_b", "aperture_radius_m", "obscuration_ratio",
                "mu1", "mu2", "mu3", "p1", "p2", "p3", "basis_probability_x")
#: The decoy-BB84 source columns of :data:`PASS_COLUMNS`, in order.
SOURCE_COLUMNS = ("mu1", "mu2", "mu3", "p1", "p2", "p3", "basis_probability_x")
#: Scalar parameters, in the kernel's order.
PARAMS = ("mode", "flags", "rho_t", "v_t", "rho_p", "v_p", "afterpulse_probability", "intrinsic_qber",
          "pair_rate_hz", "coincidence_window_s", "source_qber", "eta_b", "noise_b_cps", "sift_fraction")
#: Output columns per (trial, pass). Decoy BB84: detections and errors per basis and intensity;
#: BBM92: entangled pairs, sifted events, errors among them, all coincidences.
N_OUT = 16
DECOY_OUTPUTS = ("n_x1", "n_x2", "n_x3", "n_z1", "n_z2", "n_z3", "m_x1", "m_x2", "m_x3", "m_z1", "m_z2", "m_z3")
BBM92_OUTPUTS = ("entangled_pairs", "sifted", "errors", "coincidences")
OUT_SUM_ETA, OUT_N_USED, OUT_CLEAR = 12, 13, 14

FLAGS = {"weather": 1, "turbulence": 2, "pointing": 4, "counts": 8}
#: Flag bit: the weather outcomes are given per (trial, row) (``clear`` argument; correlated weather).
FLAG_CLEAR_GIVEN = 16
#: Flag bit: uplink fades from the elliptic-beam PDT (``[link] fading = "elliptic_beam"``).
FLAG_ELLIPTIC = 32
MODES = {"decoy-bb84": 0, "bbm92": 1, "bbm92-dual": 2}

TAG_STEP = 0x4D430001
TAG_WEATHER = 0x4D430002
TAG_ORIENT = 0x4D430003
TAG_COUNTS = 0x4D430100
TAG_PAIR_COUNTS = 0x4D430200
