// Vector helpers shared by gcrl's hand-written kernels (kernels.cc: attention; gelu.cc): GCC
// vector-extension types of W float lanes, the Cephes exp on them, bfloat16 loads and stores, and
// the per-CPU selection of the code (function multi-versioning for AVX2, a separate AVX-512
// variant chosen at run time), so one binary runs on every x86-64 CPU.
#pragma once

#include <c10/util/BFloat16.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace gcrl {

// The hot loops are compiled twice, for AVX2 + FMA (x86-64-v3) and for the baseline, and the
// loader picks one per CPU (GCC function multi-versioning), so the binary runs anywhere.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GCRL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
// The AVX-512 variants (64-byte vectors) carry this target and run only where useAvx512() says so.
#define GCRL_AVX512 1
#define GCRL_TARGET_V4 __attribute__((target("arch=x86-64-v4")))
#else
#define GCRL_CLONES
#define GCRL_AVX512 0
#endif

// Helpers of the cloned functions are inlined into them, so they are compiled for each clone's
// target too (a separate copy would be compiled for the baseline only).
#define GCRL_INLINE inline __attribute__((always_inline))

// Whether the AVX-512 variants run: the CPU has x86-64-v4's extensions (AVX512F/BW/CD/DQ/VL), and
// GCRL_AVX512=0 is not set (the switch that lets a test or a benchmark run both variants on one
// machine); the environment is read on every call, so a test can flip it.
inline bool useAvx512() {
#if GCRL_AVX512
  static const bool cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512vl");
  const char* env = std::getenv("GCRL_AVX512");
  return cpu && !(env != nullptr && std::strcmp(env, "0") == 0);
#else
  return false;
#endif
}

// W float lanes: F float, I int32, U uint32, H uint16 (a bfloat16's bits).
template <int W>
struct Lanes {
  typedef float F __attribute__((vector_size(4 * W)));
  typedef int32_t I __attribute__((vector_size(4 * W)));
  typedef uint32_t U __attribute__((vector_size(4 * W)));
  typedef uint16_t H __attribute__((vector_size(2 * W)));
};

// exp(x) on W lanes: Cephes' expf (x = n·ln2 + r, |r| ≤ ln2/2, a degree-6 polynomial for e^r, 2^n
// from the exponent bits; relative error ~1e-7), with floor(y) for y = x·log2e + ½ taken as
// trunc(y + 128) − 128 (y + 128 > 0 after the clamp: the vector extensions have no floor).
// x is clamped to [−87.3, 88]: below, the result is e^−87.3 ≈ 1e-38 instead of smaller.
template <int W>
GCRL_INLINE typename Lanes<W>::F expCephes(typename Lanes<W>::F x) {
  typedef typename Lanes<W>::F F;
  typedef typename Lanes<W>::I I;
  x = x < -87.3f ? F{} - 87.3f : x;
  x = x > 88.0f ? F{} + 88.0f : x;
  const I ni = __builtin_convertvector(x * 1.44269504088896341f + 128.5f, I) - 128;
  const F n = __builtin_convertvector(ni, F);
  const F r = x - n * 0.693359375f + n * 2.12194440e-4f;
  F q = F{} + 1.9875691500e-4f;
  q = q * r + 1.3981999507e-3f;
  q = q * r + 8.3334519073e-3f;
  q = q * r + 4.1665795894e-2f;
  q = q * r + 1.6666665459e-1f;
  q = q * r + 5.0000001201e-1f;
  q = q * r * r + r + 1.0f;
  const I bits = (ni + 127) << 23;
  F pow2;
  std::memcpy(&pow2, &bits, sizeof pow2);
  return q * pow2;
}

// W values from memory as float lanes: float32 as they are, bfloat16 widened (a bf16 value is the
// top half of its float32).
template <int W>
GCRL_INLINE typename Lanes<W>::F loadF(const float* p) {
  typename Lanes<W>::F v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int W>
GCRL_INLINE typename Lanes<W>::F loadF(const c10::BFloat16* p) {
  typename Lanes<W>::H h;
  std::memcpy(&h, p, sizeof h);
  const typename Lanes<W>::U u = __builtin_convertvector(h, typename Lanes<W>::U) << 16;
  typename Lanes<W>::F v;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

// W float lanes to memory: float32 as they are; bfloat16 rounded to nearest even as c10 does
// ((u + 0x7FFF + bit 16 of u) >> 16, NaN → 0x7FC0): the same bits as c10::BFloat16(x).
template <int W>
GCRL_INLINE void storeF(float* p, typename Lanes<W>::F v) {
  std::memcpy(p, &v, sizeof v);
}
template <int W>
GCRL_INLINE void storeF(c10::BFloat16* p, typename Lanes<W>::F v) {
  typedef typename Lanes<W>::U U;
  U u;
  std::memcpy(&u, &v, sizeof u);
  U r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  r = v != v ? U{} + 0x7FC0u : r;
  const typename Lanes<W>::H h = __builtin_convertvector(r, typename Lanes<W>::H);
  std::memcpy(p, &h, sizeof h);
}

}  // namespace gcrl
