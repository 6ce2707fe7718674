// montecarlo.cu — fused Monte Carlo trial: transmittance realisation -> count sampling -> per-pass
// reduction. Element e = (trial t, row j) of a chunk, e = t * n_rows + j; a row is a pass (or, for
// dual-downlink BBM92, a pair of passes seen at once). The inner loop walks the row's steps, so
// every per-step sample stays in registers until it is reduced to the row's conditional mean
// counts, which are then sampled (Poisson) and written: QMC_N_OUT doubles per element. The global
// trial index, the row's pass indices and step offsets, and its global row index key the Philox
// counters, so a chunk draws exactly what the whole run draws for its elements.
// Two entries: montecarlo_trials (log-normal scintillation, Gaussian-beam pointing) and
// montecarlo_trials_elliptic (uplinks with the elliptic-beam PDT, params[QMC_FLAGS] & QMC_F_ELLIPTIC).
// Math: montecarlo.cuh; twin: qsat/montecarlo/sampler.py.
#include "montecarlo.cuh"

// consts, consts_b: (n_rows, n_steps, QMC_N_CONSTS) step constants (consts_b read in mode 2 only);
// rows: (n_rows, QMC_N_PASS_COLS); sums: (n_rows, QMC_N_SUMS); params: QMC_N_PARAMS; clear:
// (n_trials, n_rows, 2) weather outcomes of passes A and B, read when params[QMC_FLAGS] has
// QMC_F_CLEAR_GIVEN (else any array); out: (n_trials, n_rows, QMC_N_OUT).
#define QMC_KERNEL_ARGS                                                                                        \
    const double *consts, const double *consts_b, const double *rows, const double *sums, const double *params, \
        const double *clear, double *out, long long n_trials, long long n_rows, long long n_steps,              \
        long long first_trial, long long first_row, long long seed

QSAT_GLOBAL void montecarlo_trials(QMC_KERNEL_ARGS) {
    QSAT_FOR(e, n_trials * n_rows) {
        qmc_trial_element<qmc_arm>(e, consts, consts_b, rows, sums, params, clear, out, n_trials, n_rows, n_steps,
                                   first_trial, first_row, (unsigned long long)seed);
    }
}

QSAT_GLOBAL void montecarlo_trials_elliptic(QMC_KERNEL_ARGS) {
    QSAT_FOR(e, n_trials * n_rows) {
        qmc_trial_element<qmc_arm_eb>(e, consts, consts_b, rows, sums, params, clear, out, n_trials, n_rows,
                                      n_steps, first_trial, first_row, (unsigned long long)seed);
    }
}

#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__)
// Host build only: the same elements spread over n_threads OpenMP threads (serial when built without
// OpenMP). Every element depends on its own counters only, so the result does not depend on the
// number of threads or the schedule.
extern "C" void montecarlo_trials_host(QMC_KERNEL_ARGS, long long n_threads) {
    long long n = n_trials * n_rows;
    int elliptic = ((int)params[QMC_FLAGS] & QMC_F_ELLIPTIC) != 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 4) num_threads((int)(n_threads > 0 ? n_threads : 1))
#endif
    for (long long e = 0; e < n; ++e) {
        if (elliptic)
            qmc_trial_element<qmc_arm_eb>(e, consts, consts_b, rows, sums, params, clear, out, n_trials, n_rows,
                                          n_steps, first_trial, first_row, (unsigned long long)seed);
        else
            qmc_trial_element<qmc_arm>(e, consts, consts_b, rows, sums, params, clear, out, n_trials, n_rows,
                                       n_steps, first_trial, first_row, (unsigned long long)seed);
    }
    (void)n_threads;
}
#endif
