// channel_step.cu — fused per-step optical channel: every loss term, the mean transmittance,
// the background rate and the fading-sampler inputs in one pass over the steps.
// Twin: qsat/channel/budget.py: channel_step (same arguments, same output layout).
#include "channel.cuh"

// out[j * n + i]: column j of budget.OUTPUTS for step i (one contiguous row per output, so the
// stores of a warp coalesce); NaN where valid[i] == 0.
QSAT_GLOBAL void channel_step(const double* elevation_rad, const double* range_m, const double* sun_altitude_rad,
                              const double* moon_altitude_rad, const unsigned char* valid, const double* params,
                              const double* aperture_table, double* out, long long n) {
    QSAT_FOR(i, n) {
        if (!valid[i]) {
            const double qnan = nan("");
            for (int j = 0; j < QCH_N_OUT; ++j) out[j * n + i] = qnan;
            continue;
        }
        qch_step(elevation_rad[i], range_m[i], sun_altitude_rad[i], moon_altitude_rad[i], params, aperture_table,
                 out + i, n);
    }
}
