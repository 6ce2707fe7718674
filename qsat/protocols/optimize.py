"""Batched per-pass optimisation of the decoy BB84 source (vectorised, NumPy or CuPy).

For every pass at once, the finite-key length ℓ of :func:`~qsat.protocols.decoy_bb84.key_length`
is maximised over (p_X, μ1, μ2, p_μ1, p_μ2) with μ3 fixed, inside a box. The counts of a
candidate come from the pass's transmittance moments
(:func:`qsat.detection.wcp.counts_from_moments`), so a candidate costs O(J), not O(steps).

**The box.** A point u of the unit cube [0, 1]^5 maps to a feasible setting:

* p_X  = x_lo + u0 (x_hi - x_lo)                      (``bounds[0]``, inside (0, 1))
* μ1   = m_lo + u1 (m_hi - m_lo)                      (``bounds[1]``)
* μ2   = μ3 + (μ1 - 2 μ3)(0.02 + 0.96 u2)             (so μ3 < μ2 < μ1 - μ3: μ1 > μ2 + μ3)
* p_μ1 = q_lo + u3 (q_hi - q_lo)                      (``bounds[2]``, inside (0, 1))
* p_μ2 = (1 - p_μ1)(0.02 + 0.96 u4), p_μ3 = 1 - p_μ1 - p_μ2 ≥ 0.02 (1 - p_μ1) > 0

so every candidate satisfies Lim et al.'s conditions (PRA 89, 022307 (2014), after Eq. (3)).
A box that cannot (m_lo ≤ 2 μ3 leaves no μ2 with μ3 < μ2 < μ1 - μ3; q_hi = 1 or x_hi = 1
leaves p_μ3 = 0 or no test basis) is refused with a ``ValueError`` naming the bound.
Candidates leaving the cube are projected back onto it (each coordinate clipped to [0, 1]).

**The search** (per pass, all passes in one array program):

1. global sampling: ``global_samples`` (48) points of the cube, Philox draws keyed by
   (seed, pass index), so a pass's result does not depend on how passes are batched;
2. multi-start local search: Nelder-Mead (the adaptive coefficients of Gao & Han, Comput.
   Optim. Appl. 51, 259 (2012): reflection 1, expansion 1 + 2/n, contraction 3/4 - 1/(2n),
   shrink 1 - 1/n, n = 5) from the ``starts`` (2) best among those points and the user's
   own setting (projected onto the cube), initial simplex edge 0.1, ``iterations`` (100)
   iterations (two candidate evaluations each: the reflection, then the expansion or
   contraction it calls for);
3. polishing: Nelder-Mead again from the best point found, edge 0.02, ``polish_iterations`` (40).

The user's setting is evaluated as given and the best is only ever replaced by a better
candidate, so the result is never worse than the setting given, and a positive key once
found is never lost. Candidates without enough Z statistics (status ≠ 0) never win.

**Guarantee, measured.** Not a proof of global optimality: on the passes of
``benchmarks/bench_keys.py`` (and the test ``tests/protocols/test_optimize.py``) the
result is compared with scipy's differential evolution (several seeds, polished) on the
same box; docs/keys.md gives the measured gap (median and worst).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backend import array_namespace
from ..detection.wcp import MOMENT_LIMIT, PassMoments, counts_from_moments, terms_needed
from ..random import blocks, u01
from .decoy_bb84 import KeyResult, key_length

_TAG = 0x4B455953  # "KEYS": Philox tag of the optimiser's draws
N_PARAMS = 5
#: Share of the free range kept away from the edges by the μ2 and p_μ2 maps (0.02 … 0.98).
EDGE = 0.02


@dataclass(frozen=True)
class SourceSetting:
    """Decoy BB84 source settings, arrays with a leading pass dimension."""

    basis_probability_x: object      # (P,)
    mean_photon_numbers: object      # (P, 3)
    intensity_probabilities: object  # (P, 3)


def check_box(bounds, mu3: float) -> None:
    """Refuse a box that admits no feasible setting (see the module docstring)."""
    (pxl, pxh), (m1l, m1h), (pl, ph) = bounds
    if not 0.0 < pxl <= pxh < 1.0:
        raise ValueError(f"basis_probability_x bounds [{pxl}, {pxh}]: inside (0, 1) (1 leaves no test basis)")
    if not 0.0 < pl <= ph < 1.0:
        raise ValueError(f"intensity_probability bounds [{pl}, {ph}]: inside (0, 1) (p_mu1 = 1 leaves p_mu3 = 0)")
    if not 0.0 < m1l <= m1h:
        raise ValueError(f"mu1 bounds [{m1l}, {m1h}]: 0 < low <= high")
    if not m1l > 2.0 * mu3:
        raise ValueError(f"mu1 low bound {m1l} with mu3 = {mu3}: above 2 mu3 = {2 * mu3}, else no mu2 has "
                         "mu3 < mu2 < mu1 - mu3 (mu2 <= mu3 or mu1 <= mu2 + mu3)")


def _from_cube(u, mu3, bounds):
    xp = array_namespace(u)
    (pxl, pxh), (m1l, m1h), (pl, ph) = bounds
    px = pxl + u[..., 0] * (pxh - pxl)
    mu1 = m1l + u[..., 1] * (m1h - m1l)
    mu2 = mu3 + (mu1 - 2.0 * mu3) * (EDGE + (1.0 - 2.0 * EDGE) * u[..., 2])
    p1 = pl + u[..., 3] * (ph - pl)
    p2 = (1.0 - p1) * (EDGE + (1.0 - 2.0 * EDGE) * u[..., 4])
    mu = xp.stack([mu1, mu2, xp.broadcast_to(xp.asarray(mu3, dtype=xp.float64), mu1.shape)], axis=-1)
    p = xp.stack([p1, p2, 1.0 - p1 - p2], axis=-1)
    return px, mu, p


def _to_cube(px, mu, p, mu3, bounds):
    """The cube point of a setting (clipped onto the cube where the setting lies outside the box)."""
    xp = array_namespace(px, mu, p)
    (pxl, pxh), (m1l, m1h), (pl, ph) = bounds

    def frac(x, lo, hi):
        return xp.clip((x - lo) / (hi - lo) if hi > lo else xp.zeros_like(x), 0.0, 1.0)

    u2 = xp.clip(((mu[..., 1] - mu3) / xp.maximum(mu[..., 0] - 2.0 * mu3, 1e-12) - EDGE) / (1.0 - 2.0 * EDGE),
                 0.0, 1.0)
    u4 = xp.clip((p[..., 1] / xp.maximum(1.0 - p[..., 0], 1e-12) - EDGE) / (1.0 - 2.0 * EDGE), 0.0, 1.0)
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


def _nelder_mead(f, u0, f0, iterations: int, edge: float):
    """Batched Nelder-Mead maximisation of ``f`` ((P, C, 5) -> (P, C)) from (P, S, 5) starts.

    Sequential Nelder-Mead semantics per simplex, all simplices advanced together; points
    are projected onto the cube. The vertices are kept unsorted (only the best, the worst
    and the second-worst matter). Returns every simplex's best point (P, S, 5) and value (P, S).
    """
    xp = array_namespace(u0)
    n_pass, n_start, n = u0.shape
    alpha, beta, gamma, delta = 1.0, 1.0 + 2.0 / n, 0.75 - 0.5 / n, 1.0 - 1.0 / n
    eye = xp.eye(n, dtype=xp.float64)
    vertex = xp.arange(n + 1)
    # initial simplex: the start and one step of ``edge`` along each axis (inwards at the upper face)
    step = xp.where(u0[..., None, :] + edge * eye <= 1.0, edge, -edge) * eye      # (P, S, n, n)
    x = xp.concatenate([u0[..., None, :], u0[..., None, :] + step], axis=2)     # (P, S, n+1, n)
    fx = xp.concatenate([f0[..., None], f(x[:, :, 1:].reshape(n_pass, n_start * n, n))
                         .reshape(n_pass, n_start, n)], axis=2)
    for _ in range(iterations):
        i_worst = xp.argmin(fx, axis=2)
        is_worst = vertex == i_worst[..., None]                                   # (P, S, n+1)
        worst = xp.sum(xp.where(is_worst[..., None], x, 0.0), axis=2)
        f_worst = xp.min(fx, axis=2)
        f_best = xp.max(fx, axis=2)
        f_second = xp.min(xp.where(is_worst, xp.inf, fx), axis=2)
        centroid = (xp.sum(x, axis=2) - worst) / n
        xr = xp.clip(centroid + alpha * (centroid - worst), 0.0, 1.0)
        fr = f(xr)
        expand = fr > f_best
        outside = ~expand & (fr <= f_second) & (fr > f_worst)
        inside = ~expand & (fr <= f_worst)
        coef = xp.where(expand, beta, xp.where(outside, gamma, -gamma))
        x2 = xp.clip(centroid + coef[..., None] * (centroid - worst), 0.0, 1.0)
        f2 = f(x2)
        take_r = (expand & ~(f2 > fr)) | (~expand & (fr > f_second))
        take_2 = (expand & (f2 > fr)) | (outside & (f2 >= fr)) | (inside & (f2 > f_worst))
        shrink = (outside | inside) & ~take_2
        new = xp.where(take_2[..., None], x2, xp.where(take_r[..., None], xr, worst))
        f_new = xp.where(take_2, f2, xp.where(take_r, fr, f_worst))
        x = xp.where(is_worst[..., None], new[..., None, :], x)
        fx = xp.where(is_worst, f_new[..., None], fx)
        if bool(xp.any(shrink)):
            is_best = vertex == xp.argmax(fx, axis=2)[..., None]
            best = xp.sum(xp.where(is_best[..., None], x, 0.0), axis=2)
            xs = best[..., None, :] + delta * (x - best[..., None, :])
            fs = f(xs.reshape(n_pass, n_start * (n + 1), n)).reshape(n_pass, n_start, n + 1)
            move = shrink[..., None] & ~is_best
            x = xp.where(move[..., None], xs, x)
            fx = xp.where(move, fs, fx)
    k = xp.argmax(fx, axis=2)
    return (xp.take_along_axis(x, k[..., None, None], axis=2)[:, :, 0],
            xp.take_along_axis(fx, k[..., None], axis=2)[..., 0])


def optimize_decoy_bb84(moments: PassMoments, initial: SourceSetting, fixed: dict, bounds,
                        *, pass_index=None, seed: int = 0, global_samples: int = 48, starts: int = 2,
                        iterations: int = 100, polish_iterations: int = 40):
    """Maximise ℓ per pass; returns (SourceSetting, objective) with objective (P,).

    ``moments`` has one leading pass dimension P; ``initial`` holds the user's
    setting broadcast to P; ``fixed`` holds afterpulse_probability,
    intrinsic_qber, eps_sec, eps_cor, error_correction_efficiency, tail and
    min_z_counts; ``bounds`` = ((px_lo, px_hi), (mu1_lo, mu1_hi), (p_lo, p_hi)), the box of
    the module docstring (``ValueError`` if it admits no feasible setting). The objective is
    ℓ before flooring where the status is 0, else -inf. ``global_samples``, ``starts``,
    ``iterations`` and ``polish_iterations`` set the search (module docstring); zero for all
    evaluates the given setting only.
    """
    xp = array_namespace(moments.w)
    n_pass = int(moments.w.shape[0])
    pass_index = xp.arange(n_pass) if pass_index is None else xp.asarray(pass_index)
    mu3 = float(initial.mean_photon_numbers[0, 2]) if n_pass else 0.0
    check_box(bounds, mu3)
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
    best = _objective(_evaluate(moments, px0[:, None], mu0[:, None, :], p0[:, None, :], fixed, n_terms))[:, 0]
    if not n_pass:
        return SourceSetting(px0, mu0, p0), best

    def f(u):
        px, mu, p = _from_cube(u, mu3, bounds)
        return _objective(_evaluate(moments, px, mu, p, fixed, n_terms))

    rows = xp.arange(n_pass)
    u_given = _to_cube(px0, mu0, p0, mu3, bounds)
    cand_u, cand_f = [u_given[:, None, :]], [f(u_given[:, None, :])]
    if global_samples:
        u = _uniform(xp, n_pass, pass_index, global_samples * N_PARAMS, seed, 0).reshape(
            n_pass, global_samples, N_PARAMS)
        cand_u.append(u)
        cand_f.append(f(u))
    cand_u, cand_f = xp.concatenate(cand_u, axis=1), xp.concatenate(cand_f, axis=1)
    if starts and iterations:
        top = xp.argsort(-cand_f, axis=1)[:, :starts]
        u_loc, f_loc = _nelder_mead(f, xp.take_along_axis(cand_u, top[..., None], axis=1),
                                    xp.take_along_axis(cand_f, top, axis=1), iterations, 0.1)
        cand_u, cand_f = xp.concatenate([cand_u, u_loc], axis=1), xp.concatenate([cand_f, f_loc], axis=1)
    k = xp.argmax(cand_f, axis=1)
    u_best, f_best = cand_u[rows, k], cand_f[rows, k]
    if polish_iterations:
        u_pol, f_pol = _nelder_mead(f, u_best[:, None, :], f_best[:, None], polish_iterations, 0.02)
        better = f_pol[:, 0] > f_best
        u_best = xp.where(better[:, None], u_pol[:, 0], u_best)
        f_best = xp.where(better, f_pol[:, 0], f_best)
    # the given setting itself (exact, not its projection onto the cube) stays unless beaten
    found = f_best > best
    px, mu, p = _from_cube(u_best, mu3, bounds)
    return (SourceSetting(xp.where(found, px, px0), xp.where(found[:, None], mu, mu0),
                          xp.where(found[:, None], p, p0)), xp.where(found, f_best, best))
