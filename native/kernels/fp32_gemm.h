// The two routes of gcrl::linear's float32 GEMMs and the choice between them
// (native/kernels/fp32_gemm.cc): OpenBLAS over row chunks (ATen's addmm/mm, as before) or one call
// to oneDNN's dnnl_sgemm — oneDNN by default, or per shape whichever was faster when first seen.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>

namespace gcrl {

// The GEMMs of a Linear y = x·Wᵀ + b with x (rows, in), W (out, in).
enum class Fp32Gemm { Forward, InputGrad, WeightGrad };  // y = x·Wᵀ + b;  dx = g·W;  dW = gᵀ·x

// Whether dnnl_sgemm was found in the process.
bool onednnSgemmAvailable();

// c = op(a)·op(b) + beta·c with dnnl_sgemm, op = transpose when ta / tb; a, b float32 2-d (copied
// only when their rows are not contiguous), c float32 2-d with contiguous rows, written in place.
void onednnMm(const at::Tensor& a, bool ta, const at::Tensor& b, bool tb, float beta, const at::Tensor& c);

// c = op(a)·op(b) with oneDNN's dnnl_gemm_bf16bf16f32: a, b bfloat16 2-d, c float32 2-d with
// contiguous rows, written in place; float32 accumulation, no rounding of the result. Returns false
// (c untouched) where that function is not in the process or not implemented for this CPU (oneDNN
// 2.x: without AVX-512), or for an empty product: the caller then takes ATen's bf16 GEMM.
bool onednnBf16Mm(const at::Tensor& a, bool ta, const at::Tensor& b, bool tb, const at::Tensor& c);

// Runs the GEMM `which` of a Linear (rows, in) → (rows, out) in `dtype` by its route: openblas()
// or onednn(), each of which writes the whole result. Other dtypes than float32 always take
// openblas(). In float32 the mode decides (GCRL_FP32_GEMM / gcrl::set_fp32_gemm): onednn (the
// default) or openblas forced, or auto: the first call for a (which, rows, in, out, intra-op
// threads, OpenBLAS threads) key runs both three times, alternating, keeps the faster (best of
// three) for the process and returns with the result of the last run in place. blasThreads:
// OpenBLAS's thread count (-1 when not OpenBLAS).
void runFp32Gemm(at::ScalarType dtype, Fp32Gemm which, int64_t rows, int64_t in, int64_t out, int64_t blasThreads, const std::function<void()>& openblas,
                 const std::function<void()>& onednn);

}  // namespace gcrl
