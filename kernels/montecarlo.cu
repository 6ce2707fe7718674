// montecarlo.cu — fused Monte Carlo trial: transmittance realisation -> count sampling -> per-pass
// reduction. Element e = (trial t, pass j) of a chunk, e = t * n_passes + j; the inner loop walks the
// pass's steps, so every per-step sample stays in registers until it is reduced to the pass's
// conditional mean counts, which are then sampled (Poisson) and written: QMC_N_OUT doubles per element.
// Global indices (first_trial + t, first_pass + j) key the Philox counters, so a chunk draws exactly
// what the whole run draws for its elements. Math: montecarlo.cuh; twin: qsat/montecarlo/sampler.py.
#include "montecarlo.cuh"

// steps: (n_passes, n_steps, QMC_N_STEP_COLS); passes: (n_passes, QMC_N_PASS_COLS);
// params: QMC_N_PARAMS; out: (n_trials, n_passes, QMC_N_OUT).
QSAT_GLOBAL void montecarlo_trials(const double* steps, const double* passes, const double* params, double* out,
                                   long long n_trials, long long n_passes, long long n_steps,
                                   long long first_trial, long long first_pass, long long seed) {
    unsigned long long key = (unsigned long long)seed;
    QSAT_FOR(e, n_trials * n_passes) {
        long long t = e / n_passes;
        long long j = e - t * n_passes;
        qmc_element(steps + j * n_steps * QMC_N_STEP_COLS, passes + j * QMC_N_PASS_COLS, params,
                    out + e * QMC_N_OUT, first_pass + j, first_trial + t, key);
    }
}
