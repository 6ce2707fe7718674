// montecarlo.cu — fused Monte Carlo trial: transmittance realisation -> count sampling -> per-pass
// reduction. Element e = (trial t, row j) of a chunk, e = t * n_rows + j; a row is a pass (or, for
// dual-downlink BBM92, a pair of passes seen at once). The inner loop walks the row's steps, so
// every per-step sample stays in registers until it is reduced to the row's conditional mean
// counts, which are then sampled (Poisson) and written: QMC_N_OUT doubles per element. The global
// trial index, the row's pass indices and step offsets, and its global row index key the Philox
// counters, so a chunk draws exactly what the whole run draws for its elements.
// Math: montecarlo.cuh; twin: qsat/montecarlo/sampler.py.
#include "montecarlo.cuh"

// steps, steps_b: (n_rows, n_steps, QMC_N_STEP_COLS) (steps_b read in mode 2 only);
// rows: (n_rows, QMC_N_PASS_COLS); params: QMC_N_PARAMS; out: (n_trials, n_rows, QMC_N_OUT).
QSAT_GLOBAL void montecarlo_trials(const double* steps, const double* steps_b, const double* rows,
                                   const double* params, double* out, long long n_trials, long long n_rows,
                                   long long n_steps, long long first_trial, long long first_row, long long seed) {
    unsigned long long key = (unsigned long long)seed;
    int dual = (int)params[QMC_MODE] == 2;
    QSAT_FOR(e, n_trials * n_rows) {
        long long t = e / n_rows;
        long long j = e - t * n_rows;
        long long offset = j * n_steps * QMC_N_STEP_COLS;
        qmc_element(steps + offset, dual ? steps_b + offset : steps, rows + j * QMC_N_PASS_COLS, params,
                    out + e * QMC_N_OUT, first_row + j, first_trial + t, key);
    }
}
