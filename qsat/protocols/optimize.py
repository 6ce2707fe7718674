"""Batched per-pass optimisation of the decoy BB84 source (vectorised, NumPy or CuPy).

For every pass at once, the finite-key length ℓ of :func:`~qsat.protocols.decoy_bb84.key_length`
is maximised over (p_X, μ1, μ2, p_μ1, p_μ2) with μ3 fixed, inside a box. The
counts of a candidate come from the pass's transmittance moments
(:func:`qsat.detection.wcp.counts_from_moments`), so a candidate costs O(J), not
O(steps). The search is an elitist batched random local search: a Philox-seeded
global sample of the box, then rounds of shrinking perturbations around each
pass's best point. The user's own setting is always a candidate and the best is
only ever replaced by a better one, so the result is never worse than the
setting given, and a positive key once found is never lost. Random numbers are
keyed by (seed, pass index), so a pass's result does not depend on how passes
are batched.

Feasibility by construction: μ3 < μ2 < μ1 - μ3 (so μ1 > μ2 + μ3, Lim et al.
2014, condition of Eq. (3)); every intensity probability ≥ 2% of what p_μ1
leaves; p_X inside [low, high] ⊂ (0, 1), so the Z (test) basis is never empty.
Candidates without enough Z statistics (status ≠ 0) never win.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backend import array_namespace
from ..detection.wcp import MOMENT_LIMIT, PassMoments, counts_from_moments, terms_needed
from ..random import blocks, u01
from .decoy_bb84 import KeyResult, key_length

_TAG = 0x4B455953  # "KEYS": Philox tag of the optimiser's draws
N_PARAMS = 5


@dataclass(frozen=True)
class SourceSetting:
    """Decoy BB84 source settings, arrays with a leading pass dimension."""

    basis_probability_x: object      # (P,)
    mean_photon_numbers: object      # (P, 3)
    intensity_probabilities: object  # (P, 3)


def _from_cube(u, mu3, bounds):
    xp = array_namespace(u)
    (pxl, pxh), (m1l, m1h), (pl, ph) = bounds
    px = pxl + u[..., 0] * (pxh - pxl)
    mu1 = m1l + u[..., 1] * (m1h - m1l)
    mu2 = mu3 + (mu1 - 2.0 * mu3) * (0.02 + 0.96 * u[..., 2])
    p1 = pl + u[..., 3] * (ph - pl)
    p2 = (1.0 - p1) * (0.02 + 0.96 * u[..., 4])
    mu = xp.stack([mu1, mu2, xp.broadcast_to(xp.asarray(mu3, dtype=xp.float64), mu1.shape)], axis=-1)
    p = xp.stack([p1, p2, 1.0 - p1 - p2], axis=-1)
    return px, mu, p


def _to_cube(px, mu, p, mu3, bounds):
    xp = array_namespace(px, mu, p)
    (pxl, pxh), (m1l, m1h), (pl, ph) = bounds

    def frac(x, lo, hi):
        return xp.clip((x - lo) / (hi - lo) if hi > lo else xp.zeros_like(x), 0.0, 1.0)

    u2 = xp.clip(((mu[..., 1] - mu3) / xp.maximum(mu[..., 0] - 2.0 * mu3, 1e-12) - 0.02) / 0.96, 0.0, 1.0)
    u4 = xp.clip((p[..., 1] / xp.maximum(1.0 - p[..., 0], 1e-12) - 0.02) / 0.96, 0.0, 1.0)
    return xp.stack([frac(px, pxl, pxh), frac(mu[..., 0], m1l, m1h), u2,
                     frac(p[..., 0], pl, ph), u4], axis=-1)


def _uniform(xp, n_pass, pass_index, count, seed, stream):
    """(n_pass, count) uniforms in (0, 1), keyed by (seed, pass index, stream)."""
    local = xp.arange((count + 1) // 2, dtype=xp.uint64)
    index = (xp.asarray(pass_index, dtype=xp.uint64)[:, None] << xp.uint64(32)) | local[None, :]
    r = blocks(index.reshape(-1), seed, stream, _TAG)
    u = xp.concatenate([u01(r[0], r[1]).reshape(n_pass, -1), u01(r[2], r[3]).reshape(n_pass, -1)], axis=1)
    return u[:, :count]


def _evaluate(moments: PassMoments, px, mu, p, fixed: dict, n_terms: int) -> KeyResult:
    m = PassMoments(moments.pulses[:, None], moments.dark[:, None], moments.w[:, None, :],
                    moments.m[:, None, :], moments.max_transmittance[:, None])
    counts = counts_from_moments(m, mu, p, px, fixed["afterpulse_probability"], fixed["intrinsic_qber"],
                                 n_terms)
    return key_length(*counts, mu, p, eps_sec=fixed["eps_sec"], eps_cor=fixed["eps_cor"],
                      error_correction_efficiency=fixed["error_correction_efficiency"],
                      tail=fixed["tail"], min_z_counts=fixed["min_z_counts"])


def _objective(res: KeyResult):
    xp = array_namespace(res.key_length_raw)
    return xp.where(res.status == 0, res.key_length_raw, -xp.inf)


def optimize_decoy_bb84(moments: PassMoments, initial: SourceSetting, fixed: dict, bounds,
                        *, pass_index=None, seed: int = 0, global_samples: int = 48,
                        rounds: int = 24, population: int = 24):
    """Maximise ℓ per pass; returns (SourceSetting, objective) with objective (P,).

    ``moments`` has one leading pass dimension P; ``initial`` holds the user's
    setting broadcast to P; ``fixed`` holds afterpulse_probability,
    intrinsic_qber, eps_sec, eps_cor, error_correction_efficiency, tail and
    min_z_counts; ``bounds`` = ((px_lo, px_hi), (mu1_lo, mu1_hi), (p_lo, p_hi)).
    """
    xp = array_namespace(moments.w)
    n_pass = int(moments.w.shape[0])
    pass_index = xp.arange(n_pass) if pass_index is None else xp.asarray(pass_index)
    mu3 = float(initial.mean_photon_numbers[0, 2]) if n_pass else 0.0
    px0 = xp.asarray(initial.basis_probability_x, dtype=xp.float64)
    mu0 = xp.asarray(initial.mean_photon_numbers, dtype=xp.float64)
    p0 = xp.asarray(initial.intensity_probabilities, dtype=xp.float64)
    eta_max = float(xp.max(moments.max_transmittance)) if n_pass else 0.0
    x_max = eta_max * max(float(xp.max(mu0)) if n_pass else 0.0, bounds[1][1])
    if x_max > MOMENT_LIMIT:
        raise ValueError(f"transmittance x mu up to {x_max:.3g}: above the moment-series limit {MOMENT_LIMIT}")
    n_terms = terms_needed(x_max)
    if n_terms > moments.w.shape[-1]:
        raise ValueError(f"{moments.w.shape[-1]} moments given, {n_terms} needed for transmittance x mu "
                         f"up to {x_max:.3g}")
    best = _objective(_evaluate(moments, px0[:, None], mu0[:, None, :], p0[:, None, :], fixed,
                                n_terms))[:, 0]
    best_px, best_mu, best_p = px0, mu0, p0
    best_u = _to_cube(px0, mu0, p0, mu3, bounds)

    def consider(u):
        nonlocal best, best_px, best_mu, best_p, best_u
        px, mu, p = _from_cube(u, mu3, bounds)
        obj = _objective(_evaluate(moments, px, mu, p, fixed, n_terms))
        k = xp.argmax(obj, axis=1)
        rows = xp.arange(n_pass)
        cand = obj[rows, k]
        better = cand > best
        best = xp.where(better, cand, best)
        best_px = xp.where(better, px[rows, k], best_px)
        best_mu = xp.where(better[:, None], mu[rows, k], best_mu)
        best_p = xp.where(better[:, None], p[rows, k], best_p)
        best_u = xp.where(better[:, None], u[rows, k], best_u)

    if n_pass and global_samples:
        consider(_uniform(xp, n_pass, pass_index, global_samples * N_PARAMS, seed, 0)
                 .reshape(n_pass, global_samples, N_PARAMS))
    if n_pass:
        sigma = 0.2
        for r in range(rounds):
            step = 2.0 * _uniform(xp, n_pass, pass_index, population * N_PARAMS, seed, r + 1) - 1.0
            step = step.reshape(n_pass, population, N_PARAMS)
            # half the population moves one coordinate only (cheap line-search-like moves)
            axis = xp.arange(population) % (2 * N_PARAMS)
            mask = xp.where(axis[:, None] < N_PARAMS, (axis[:, None] == xp.arange(N_PARAMS)[None, :]) * 1.0, 1.0)
            consider(xp.clip(best_u[:, None, :] + sigma * step * mask[None], 0.0, 1.0))
            sigma *= 0.8
    return SourceSetting(best_px, best_mu, best_p), best
