"""Count sampling: the kernel's host build equals its NumPy twin; the twin is Poisson (mean, variance, KS)."""

import numpy as np
import pytest
from scipy import stats

from qsat.backend import gpu_available
from qsat.detection.sampling import sample_counts, sample_poisson, sample_poisson_kernel


def test_host_kernel_equals_twin():
    lam = np.concatenate([np.array([0.0, 1e-9, 0.5, 9.999, 10.0, 10.5, 1e3, 1e6, 3.7e8]),
                          np.random.default_rng(0).lognormal(1.0, 2.5, 20000)])
    twin = sample_poisson(lam, seed=12345, stream=7, tag=3)
    host = sample_poisson_kernel(lam, seed=12345, stream=7, tag=3)
    np.testing.assert_array_equal(host, twin)
    assert np.all(twin >= 0)


@pytest.mark.parametrize("lam", [0.3, 4.0, 12.0, 250.0, 1e5])
def test_twin_is_poisson(lam):
    n = 40000
    x = sample_poisson(np.full(n, lam), seed=99, stream=1, tag=5)
    # mean and variance within 5 standard errors (var of the sample variance ≈ (2λ² + λ)/n)
    assert abs(x.mean() - lam) < 5 * np.sqrt(lam / n)
    assert abs(x.var() - lam) < 5 * np.sqrt((2 * lam**2 + lam) / n)
    # Kolmogorov distance to the Poisson CDF below the 1% critical value (conservative for discrete laws)
    k = np.arange(x.min(), x.max() + 1)
    ecdf = np.searchsorted(np.sort(x), k, side="right") / n
    assert np.max(np.abs(ecdf - stats.poisson.cdf(k, lam))) < 1.63 / np.sqrt(n)


def test_samples_depend_on_index_not_chunking():
    lam = np.linspace(0.1, 5e3, 1000)
    whole = sample_poisson(lam, seed=1, stream=2, tag=0)
    assert np.array_equal(whole[:10], sample_poisson(lam[:10], seed=1, stream=2, tag=0))
    assert not np.array_equal(whole, sample_poisson(lam, seed=2, stream=2, tag=0))


def test_sample_counts_errors_binomial_split():
    n = np.full(20000, 400.0)
    m = np.full(20000, 8.0)
    det, err = sample_counts(n, m, seed=4)
    assert np.all(err <= det)
    assert abs(det.mean() - 400) < 5 * np.sqrt(400 / 20000)
    assert abs(err.mean() / det.mean() - 0.02) < 0.002


@pytest.mark.gpu
def test_gpu_kernel_equals_twin():
    assert gpu_available()
    import cupy

    lam = np.random.default_rng(1).lognormal(1.0, 2.5, 100000)
    twin = sample_poisson(lam, seed=5, stream=0, tag=1)
    gpu = sample_poisson_kernel(cupy.asarray(lam), seed=5, stream=0, tag=1)
    mismatches = int(np.count_nonzero(cupy.asnumpy(gpu) != twin))
    assert mismatches <= 2  # last-bit exp/log/lgamma differences at an acceptance boundary only
