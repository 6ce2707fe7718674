// qsat_cuda.cuh — one source, two builds.
//
// Every qsat kernel is written once and compiled twice:
//   * for the GPU by CuPy (NVRTC) at run time, and by nvcc to PTX in CI;
//   * for the host by g++ (CI, no GPU), where each __global__ kernel becomes an
//     extern "C" function that loops over all elements, so the *same* kernel body
//     is checked against its NumPy twin on every machine.
// Kernels must therefore be element-wise: use QSAT_FOR for the element loop and
// QSAT_HD for the math functions they call (QSAT_HD_MEMBER for member functions).
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define QSAT_HD __host__ __device__ __forceinline__
#define QSAT_HD_MEMBER __host__ __device__ __forceinline__  // member functions (functors)
#define QSAT_GLOBAL extern "C" __global__
// Grid-stride loop over n elements.
#define QSAT_FOR(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)blockDim.x * gridDim.x)
#else
#include <math.h>
#include <stdint.h>
#define QSAT_HD static inline
#define QSAT_HD_MEMBER inline
#define QSAT_GLOBAL extern "C"
#define QSAT_FOR(i, n) for (long long i = 0; i < (long long)(n); ++i)
#endif

#if defined(__CUDACC_RTC__)
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef int int32_t;
typedef long long int64_t;
#elif defined(__CUDACC__)
#include <stdint.h>
#endif

#define QSAT_PI 3.14159265358979323846

// sin and cos of one argument: one range reduction on the GPU (sincos gives the results of sin()
// and cos() themselves), the two calls on the host.
QSAT_HD void qsat_sincos(double x, double* s, double* c) {
#if defined(__CUDA_ARCH__)
    sincos(x, s, c);
#else
    *s = sin(x);
    *c = cos(x);
#endif
}
