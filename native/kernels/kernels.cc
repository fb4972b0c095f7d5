// Custom training kernels, registered with libtorch's dispatcher as operators of the `gcrl`
// namespace, so TypeScript calls them through the same generic path as ATen operators
// (src/torch/kernels.ts). Each is a torch::autograd::Function with a hand-written backward.
// Arguments are validated in TypeScript; the TORCH_CHECKs here only turn a would-be native abort
// into a JS error.
//
// gcrl::linear(Tensor x, Tensor weight, Tensor? bias, int chunk_rows, bool bf16) -> Tensor
//   y = x·Wᵀ + b for x (..., in), W (out, in), b (out). Same function as aten::linear, but every
//   GEMM of forward and backward runs over at most chunk_rows rows of the flattened x at a time:
//   OpenBLAS runs the tall-skinny products of a transformer on 25,088 tokens (25088×128 · 128×384)
//   several times slower as one call than in cache-sized row blocks (ENGINE-FACTS.md).
//   bf16 = true is mixed precision with autocast's dtype flow: x float32 or bfloat16, W and b
//   float32 masters, y bfloat16 (oneDNN's bf16 GEMM where the CPU has it, float32 accumulation);
//   dx in x's dtype, dW and db float32 (see linearBf16Forward).
//   When OpenBLAS runs single-threaded (gcrl::set_blas_threads(1)), the chunks run in parallel
//   over libtorch's intra-op threads, each GEMM on one thread.
//   float32 (not bf16, not float64): each of the three GEMMs runs by the route of fp32_gemm.cc —
//   one oneDNN dnnl_sgemm call over all rows (the default where dnnl_sgemm is in the process), these
//   OpenBLAS chunks, or per shape the faster of the two (GCRL_FP32_GEMM / gcrl::set_fp32_gemm).
//
// gcrl::set_blas_threads(int n) -> bool, gcrl::get_blas_threads() -> int
//   OpenBLAS's own thread count (false / -1 when the BLAS is not OpenBLAS).
//
// gcrl::attention(Tensor qkv, int heads, bool causal) -> Tensor
//   Float32, float64 or bfloat16 (bf16 in and out only: the work, the softmax and the saved
//   probabilities in float32; see Compute<S>).
//   Multi-head softmax attention within each of N sequences of length L, read straight from the
//   packed output of the qkv Linear, qkv (N, L, 3d) laid out [q | k | v] with heads contiguous in
//   each, and written straight into (N, L, d) with heads concatenated: the same function as
//   src/model/attention.ts's reference (softmax(q·kᵀ / √dh [causal]) · v per head) without the
//   permute copies around two batched matmuls. Axial attention has short sequences (L = 28), so
//   each (sequence, head) pair is one small task: its q, k, v copied into padded contiguous
//   buffers, the products as register-tiled small GEMMs, the softmax with a vectorized exp, all
//   in L1/L2, pairs spread over the intra-op threads. Saves qkv and the probabilities P (N, heads, L, L)
//   for the backward pass:
//     dP = dy·vᵀ,  dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √dh,  dq = dS·k,  dk = dSᵀ·q,  dv = Pᵀ·dy.
//   The loops come in two widths, the same bits either way: 64-byte register tiles where the CPU
//   has AVX-512 (x86-64-v4), 32-byte ones elsewhere (AVX2 + FMA, or the baseline).
//
// gcrl::attention_avx512() -> bool
//   Whether gcrl::attention runs its AVX-512 tiles here (vec_math.h's useAvx512(): the CPU, and
//   GCRL_AVX512=0 to keep the 32-byte tiles).
#include "fp32_gemm.h"
#include "vec_math.h"

#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/torch.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace gcrl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// OpenBLAS's own thread pool, found at run time (libblas.so.3 may be OpenBLAS or another BLAS).
// With it at one thread, gcrl::linear spreads its row chunks over libtorch's intra-op (OpenMP)
// threads instead, so the two pools do not take turns spinning on the same cores.
using BlasSetThreads = void (*)(int);
using BlasGetThreads = int (*)();

BlasSetThreads blasSetThreads() {
  static auto f = reinterpret_cast<BlasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return f;
}

BlasGetThreads blasGetThreads() {
  static auto f = reinterpret_cast<BlasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return f;
}

// OpenBLAS's thread count, or -1 when the BLAS is not OpenBLAS.
int64_t getBlasThreads() {
  auto get = blasGetThreads();
  return get == nullptr ? -1 : get();
}

// Sets OpenBLAS's thread count; false when the BLAS is not OpenBLAS.
bool setBlasThreads(int64_t n) {
  TORCH_CHECK(n >= 1, "gcrl::set_blas_threads: n must be >= 1");
  auto set = blasSetThreads();
  if (set == nullptr) return false;
  set(static_cast<int>(n));
  return true;
}

// The row ranges of the chunks: about `rows` each, and a multiple of the intra-op thread count when
// the chunks run in parallel so every thread gets the same share.
std::vector<std::pair<int64_t, int64_t>> chunkRanges(int64_t n, int64_t rows, bool parallel) {
  int64_t count = (n + rows - 1) / rows;
  if (parallel) {
    const int64_t t = at::get_num_threads();
    count = std::max<int64_t>(1, (count + t - 1) / t * t);
    count = std::min(count, n);
  }
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t c = 0; c < count; ++c) {
    const int64_t s = n * c / count, e = n * (c + 1) / count;
    if (e > s) out.emplace_back(s, e - s);
  }
  return out;
}

// Runs f(start, len) for every chunk: in parallel over the intra-op threads when OpenBLAS runs
// single-threaded (each GEMM then runs on the calling thread), else one after another (each GEMM
// uses the BLAS's own threads).
template <typename F>
void forChunks(int64_t n, int64_t rows, F f) {
  const bool parallel = at::get_num_threads() > 1 && getBlasThreads() == 1;
  const auto ranges = chunkRanges(n, rows, parallel);
  if (!parallel) {
    for (const auto& [s, len] : ranges) f(s, len, 0);
    return;
  }
  at::parallel_for(0, static_cast<int64_t>(ranges.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) f(ranges[c].first, ranges[c].second, at::get_thread_num());
  });
}

// Σ over the rows of g (n, c) bfloat16 → float32 (c,), defined with the vectorized loops below.
at::Tensor columnSumBf16(const at::Tensor& g);

// The bf16 path of gcrl::linear (autocast's dtype flow): x (n, in) float32 or bfloat16, weight
// (out, in) and bias float32 master copies → y (n, out) bfloat16. x is cast to bf16 once if it is
// float32 (a LayerNorm's output), W and b once per call (once per training step: each Linear runs
// once per step); the bf16 copies of x and W are saved for backward, which reuses them. oneDNN's
// bf16 GEMM (through aten::addmm/mm where the CPU has AVX512-BF16 / AMX; ATen's own bf16 GEMM
// elsewhere) accumulates in float32 and rounds each output once. y and dx = g·W are written in
// row chunks as in float32 (measured on an AVX512-BF16 EPYC, under load, 50176-row products: y
// 1.2–1.8× faster in 4096-row chunks than as one call for 128→384 and 128→512, equal for 512→128;
// dx equal, 1.7× faster for 512→128); dW = gᵀ·x is one call over all n rows. Where oneDNN's
// dnnl_gemm_bf16bf16f32 is in the process and implemented for the CPU (fp32_gemm.cc), dW, and dx
// of a float32 x, come from it in float32, unrounded (bench/native/bf16-gemm-routes.cc, 2 threads:
// dW 1.11–1.23×, dx 1.01–1.18× ATen's bf16 GEMM before its cast); elsewhere ATen's bf16 products,
// cast. db = Σ g accumulated in float32 by columnSumBf16 (ATen's bf16 sum over rows with a float32
// result ran at 0.6–0.7 GB/s for 384- and 512-wide g, a fifth of a bf16 step).
at::Tensor linearBf16Forward(AutogradContext* ctx, const at::Tensor& x2, const at::Tensor& weight, const at::Tensor& bias, int64_t rows) {
  const at::Tensor xb = x2.scalar_type() == at::kBFloat16 ? x2 : x2.to(at::kBFloat16);
  const at::Tensor wb = weight.to(at::kBFloat16);
  const at::Tensor bb = bias.to(at::kBFloat16);
  const at::Tensor wt = wb.t();
  at::Tensor y = at::empty({xb.size(0), weight.size(0)}, xb.options());
  forChunks(xb.size(0), rows, [&](int64_t s, int64_t len, int) {
    at::Tensor ys = y.narrow(0, s, len);
    at::addmm_out(ys, bb, xb.narrow(0, s, len), wt);
  });
  ctx->save_for_backward({xb, wb});
  ctx->saved_data["xdtype"] = x2.scalar_type();
  ctx->saved_data["rows"] = rows;
  return y;
}

variable_list linearBf16Backward(AutogradContext* ctx, const at::Tensor& gIn, const std::vector<int64_t>& shape) {
  auto saved = ctx->get_saved_variables();
  const at::Tensor& xb = saved[0];
  const at::Tensor& wb = saved[1];
  const int64_t out = wb.size(0), n = xb.size(0);
  const int64_t rows = ctx->saved_data["rows"].toInt();
  const at::Tensor g = gIn.reshape({n, out}).to(at::kBFloat16).contiguous();
  const at::ScalarType xdtype = ctx->saved_data["xdtype"].toScalarType();
  at::Tensor gx, gw, gb;
  if (ctx->needs_input_grad(0)) {
    // A float32 x (a LayerNorm's output) gets its float32 dx straight from oneDNN's float32
    // accumulator; a bf16 x, or where that GEMM is missing, the bf16 product, cast.
    bool done = false;
    if (xdtype == at::kFloat) {
      gx = at::empty({n, wb.size(1)}, xb.options().dtype(at::kFloat));
      done = onednnBf16Mm(g, false, wb, false, gx);
    }
    if (!done) {
      gx = at::empty({n, wb.size(1)}, xb.options());
      forChunks(n, rows, [&](int64_t s, int64_t len, int) {
        at::Tensor gs = gx.narrow(0, s, len);
        at::mm_out(gs, g.narrow(0, s, len), wb);
      });
      gx = gx.to(xdtype);
    }
    gx = gx.view(shape);
  }
  if (ctx->needs_input_grad(1)) {
    // dW = gᵀ·x over all n rows, accumulated and returned in float32 (not rounded to bf16 first).
    gw = at::empty({out, xb.size(1)}, xb.options().dtype(at::kFloat));
    if (!onednnBf16Mm(g, true, xb, false, gw)) gw = at::mm(g.t(), xb).to(at::kFloat);
  }
  if (ctx->needs_input_grad(2)) gb = columnSumBf16(g);
  return {gx, gw, gb, at::Tensor(), at::Tensor()};
}

class ChunkedLinear : public torch::autograd::Function<ChunkedLinear> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            int64_t rows, bool bf16) {
    const int64_t in = weight.size(1), out = weight.size(0);
    TORCH_CHECK(x.dim() >= 1 && x.size(-1) == in, "gcrl::linear: x's last dim must be ", in);
    TORCH_CHECK(rows >= 1, "gcrl::linear: chunk_rows must be >= 1");
    at::Tensor x2 = x.reshape({-1, in});
    const int64_t n = x2.size(0);
    ctx->saved_data["bf16"] = bf16;
    ctx->saved_data["shape"] = x.sizes().vec();
    std::vector<int64_t> yshape = x.sizes().vec();
    yshape.back() = out;
    if (bf16) return linearBf16Forward(ctx, x2, weight, bias, rows).view(yshape);
    at::Tensor wt = weight.t();
    at::Tensor y = at::empty({n, out}, x.options());
    const auto openblas = [&] {
      forChunks(n, rows, [&](int64_t s, int64_t len, int) {
        at::Tensor ys = y.narrow(0, s, len);
        at::addmm_out(ys, bias, x2.narrow(0, s, len), wt);
      });
    };
    // The route of fp32_gemm.cc (float32) or the OpenBLAS chunks; oneDNN's y starts as the bias rows.
    runFp32Gemm(x2.scalar_type(), Fp32Gemm::Forward, n, in, out, getBlasThreads(), openblas, [&] {
      y.copy_(bias.expand({n, out}));
      onednnMm(x2, false, weight, true, 1.f, y);
    });
    ctx->save_for_backward({x2, weight});
    ctx->saved_data["rows"] = rows;
    return y.view(yshape);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    if (ctx->saved_data["bf16"].toBool()) return linearBf16Backward(ctx, grads[0], ctx->saved_data["shape"].toIntVector());
    auto saved = ctx->get_saved_variables();
    const at::Tensor& x2 = saved[0];
    const at::Tensor& weight = saved[1];
    const int64_t rows = ctx->saved_data["rows"].toInt();
    const int64_t out = weight.size(0), in = weight.size(1), n = x2.size(0);
    at::Tensor g = grads[0].reshape({n, out});
    at::Tensor gx, gw, gb;
    // Each GEMM by the route of fp32_gemm.cc in float32, by the OpenBLAS chunks otherwise.
    const at::ScalarType dtype = x2.scalar_type();
    const int64_t blas = getBlasThreads();
    if (ctx->needs_input_grad(0)) {
      gx = at::empty({n, in}, x2.options());
      const auto openblas = [&] {
        forChunks(n, rows, [&](int64_t s, int64_t len, int) {
          at::Tensor gs = gx.narrow(0, s, len);
          at::mm_out(gs, g.narrow(0, s, len), weight);
        });
      };
      runFp32Gemm(dtype, Fp32Gemm::InputGrad, n, in, out, blas, openblas, [&] { onednnMm(g, false, weight, false, 0.f, gx); });
      gx = gx.view(ctx->saved_data["shape"].toIntVector());
    }
    if (ctx->needs_input_grad(1)) {
      const auto openblas = [&] {
        // dW = Σ_chunks gᵀ·x, one partial sum per thread.
        at::Tensor partial = at::zeros({at::get_num_threads(), out, in}, weight.options());
        forChunks(n, rows, [&](int64_t s, int64_t len, int tid) { partial.select(0, tid).addmm_(g.narrow(0, s, len).t(), x2.narrow(0, s, len)); });
        gw = partial.size(0) == 1 ? partial.select(0, 0) : partial.sum(0);
      };
      runFp32Gemm(dtype, Fp32Gemm::WeightGrad, n, in, out, blas, openblas, [&] {
        gw = at::empty({out, in}, weight.options());
        onednnMm(g, true, x2, false, 0.f, gw);  // one GEMM over all n rows: K = n
      });
    }
    if (ctx->needs_input_grad(2)) gb = g.sum(0);
    return {gx, gw, gb, at::Tensor(), at::Tensor()};
  }
};

// GCRL_CLONES, GCRL_INLINE, the AVX-512 variants' target and the vector helpers: vec_math.h.

// dst[0..n) = src[0..n), converted (bfloat16 ↔ float: a shift, or a round to nearest even): a loop
// the compiler vectorizes and inlines (memcpy of 32 floats is a call).
template <typename S, typename D>
GCRL_INLINE void copyRow(const S* __restrict src, D* __restrict dst, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) dst[c] = static_cast<D>(static_cast<float>(src[c]));
}
template <>
GCRL_INLINE void copyRow<double, double>(const double* __restrict src, double* __restrict dst, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) dst[c] = src[c];
}

// float → bfloat16, 8 at a time (storeF: c10's round to nearest even on vector-extension
// integers): the scalar conversion (a branch per element for NaN) did not vectorize and took a
// fifth of the attention backward. Same bits as c10::BFloat16(x).
template <>
GCRL_INLINE void copyRow<float, c10::BFloat16>(const float* __restrict src, c10::BFloat16* __restrict dst, int64_t n) {
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) storeF<8>(dst + c, loadF<8>(src + c));
  for (; c < n; ++c) dst[c] = c10::BFloat16(src[c]);
}

// acc[0..c) += Σ_{i < rows} p[i][0..c), in row order.
GCRL_CLONES void addRowsF32(const float* __restrict p, int64_t rows, int64_t c, float* __restrict acc) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < c; ++j) acc[j] += p[i * c + j];
}

// acc[0..c) += Σ_{i < rows} g[i][0..c), g bfloat16 rows of c (as raw bits: a bf16 value is the
// top half of its float32). The loop over a row vectorizes (widen, shift, add).
GCRL_CLONES void addRowsBf16(const uint16_t* __restrict g, int64_t rows, int64_t c, float* __restrict acc) {
  for (int64_t i = 0; i < rows; ++i) {
    const uint16_t* __restrict row = g + i * c;
    for (int64_t j = 0; j < c; ++j) {
      const uint32_t bits = static_cast<uint32_t>(row[j]) << 16;
      float v;
      std::memcpy(&v, &bits, sizeof v);
      acc[j] += v;
    }
  }
}

// Σ over the rows of g (n, c) bfloat16 → float32 (c,): rows in blocks of kSumRows, each block's
// partial sum over its rows in order (blocks spread over the intra-op threads), then the partials
// added in block order, so the result does not depend on the thread count. ATen's
// sum(g, 0, dtype=float32) ran at 0.6–0.7 GB/s for 384- and 512-wide bf16 g on one thread (2.2
// GB/s for 128 wide; float32 input: 8 GB/s).
at::Tensor columnSumBf16(const at::Tensor& gIn) {
  constexpr int64_t kSumRows = 256;
  const at::Tensor g = gIn.contiguous();
  TORCH_CHECK(g.dim() == 2 && g.scalar_type() == at::kBFloat16, "gcrl: columnSumBf16 takes a 2-d bfloat16 tensor");
  const int64_t n = g.size(0), c = g.size(1);
  const int64_t blocks = (n + kSumRows - 1) / kSumRows;
  at::Tensor out = at::zeros({c}, g.options().dtype(at::kFloat));
  if (blocks == 0 || c == 0) return out;
  at::Tensor partial = at::zeros({blocks, c}, out.options());
  const auto* gp = reinterpret_cast<const uint16_t*>(g.data_ptr<c10::BFloat16>());
  float* pp = partial.data_ptr<float>();
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kSumRows, rows = std::min(kSumRows, n - r0);
      addRowsBf16(gp + r0 * c, rows, c, pp + b * c);
    }
  });
  addRowsF32(pp, blocks, c, out.data_ptr<float>());
  return out;
}

// exp for the softmax. float: vec_math.h's expCephes on 8 lanes (Cephes' expf, branch-free, so
// the loops over a row of scores run as whole vectors: std::exp does not vectorize without
// -ffast-math, which would break the −∞ handling elsewhere, and a scalar version with a bit cast
// did not vectorize either). Arguments here are ≤ 0 (scores minus their row maximum); below −87.3
// the result is clamped to e^−87.3 ≈ 1e-38, against weights ≥ 1/L of the row's maximum. double:
// std::exp, so the float64 gradient checks see the exact function.
typedef Lanes<8>::F Vec8f;
typedef Lanes<8>::I Vec8i;

// pi[j] = exp(si[j]·scale − m) for j < jn, 0 for jn ≤ j < Lp → Σ_j pi[j]. Lp a multiple of 8 (float:
// whole vectors) or of anything (double: scalar, with std::exp).
template <typename T>
GCRL_INLINE T softmaxRowExp(const T* si, T* pi, T scale, T m, int64_t jn, int64_t Lp) {
  T sum = 0;
  for (int64_t j = 0; j < Lp; ++j) {
    pi[j] = j < jn ? std::exp(si[j] * scale - m) : T(0);
    sum += pi[j];
  }
  return sum;
}

template <>
GCRL_INLINE float softmaxRowExp<float>(const float* si, float* pi, float scale, float m, int64_t jn, int64_t Lp) {
  const Vec8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
  Vec8f acc = {};
  for (int64_t j = 0; j < Lp; j += 8) {
    Vec8f sv;
    std::memcpy(&sv, si + j, sizeof sv);
    Vec8f e = expCephes<8>(sv * scale - m);
    e = (lane + static_cast<int32_t>(j)) < static_cast<int32_t>(jn) ? e : Vec8f{};
    std::memcpy(pi + j, &e, sizeof e);
    acc += e;
  }
  float sum = 0;
  for (int c = 0; c < 8; ++c) sum += acc[c];
  return sum;
}

// Prefetches `count` elements from `base` on, one request per 64-byte line. The pairs of a
// sequence (its heads) read the same (L, 3d) block of qkv, each head a 64-byte slice of every row:
// loading them on demand left the kernel waiting on memory for a third of its time. The first
// head of a sequence prefetches the whole next sequence (3d·L contiguous elements; 21.5 KB for the
// reference model in bf16): measured against prefetching the next pair's slices, 5–10% less time
// per attention call in float32 (one thread, under load).
template <typename S>
GCRL_INLINE void prefetchBlock(const S* base, int64_t count) {
  const char* p = reinterpret_cast<const char*>(base);
  const int64_t bytes = count * static_cast<int64_t>(sizeof(S));
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
}

// Σ_j a[j]·b[j] over n (a multiple of 8) as 8 interleaved partial sums in an explicit vector,
// added in a fixed order at the end. The same bits for any n padded with zeros, on every variant:
// as an `omp simd` reduction (or an array of 8 partials) GCC vectorized it differently for
// AVX-512 (over 16 j at a time, for rows of 128 or more) than for AVX2.
template <typename T>
GCRL_INLINE T rowDot8(const T* __restrict a, const T* __restrict b, int64_t n) {
  typedef T V8 __attribute__((vector_size(8 * sizeof(T))));
  V8 part = {};
  for (int64_t j = 0; j < n; j += 8) {
    V8 x, y;
    std::memcpy(&x, a + j, sizeof x);
    std::memcpy(&y, b + j, sizeof y);
    part += x * y;
  }
  return ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]));
}

struct AttentionShape {
  int64_t n, len, d, heads, dh;
  bool causal;
};

// Small GEMMs in registers. Axial attention multiplies matrices of 28 × 32: too small for BLAS
// calls (3,584 pairs per block), and a plain loop nest is bound by the latency of accumulating
// through memory. gemmTile keeps an MR × NR block of C in registers (float: 4 × 16 = 8 AVX2
// registers, or 4 × 32 = 8 AVX-512 ones) while it runs over k; smallGemm covers C with such tiles.

// VB: the bytes of one vector register the tiles are written for: 32 (AVX2, and two SSE registers
// on the baseline clone) or 64 (the AVX-512 variant, below). A tile row is NR / (VB / sizeof T)
// vectors.
template <typename T, int VB>
struct Tile {
  static constexpr int W = VB / static_cast<int>(sizeof(T));  // lanes per vector
  // float: 2 vectors per row (16 or 32 columns), 4 rows; double: 16 columns, 2 rows of 4 AVX2
  // vectors or 4 rows of 2 AVX-512 ones.
  static constexpr int NR = sizeof(T) == 4 ? 2 * W : 16;
  static constexpr int MR = sizeof(T) == 4 || VB == 64 ? 4 : 2;
};

// C (rows × NR, ldc) = A (rows × K, lda) · B (K × NR, ldb), rows ≤ MR (a constant for the full tile).
// The accumulators are GCC vector-extension values of VB bytes (32: one AVX2 register, two SSE ones
// on the baseline clone; 64: one AVX-512 register), MR × NR / (VB / sizeof T) of them, so they
// stay in registers across the k loop: as plain arrays under `omp simd` the compiler kept them on
// the stack. Every element sums its k terms in order, one multiply-add each (fused where the clone
// has FMA), so the AVX2 and AVX-512 variants give the same bits.
template <typename T, int ROWS, int VB>
GCRL_INLINE void gemmTile(const T* __restrict A, int64_t lda, const T* __restrict B, int64_t ldb, T* __restrict C, int64_t ldc, int64_t K) {
  constexpr int W = Tile<T, VB>::W, NV = Tile<T, VB>::NR / W;
  typedef T Vec __attribute__((vector_size(VB)));
  Vec acc[ROWS][NV];
  for (int r = 0; r < ROWS; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = Vec{};
  for (int64_t k = 0; k < K; ++k) {
    Vec b[NV];
    for (int v = 0; v < NV; ++v) std::memcpy(&b[v], B + k * ldb + v * W, sizeof(Vec));
    for (int r = 0; r < ROWS; ++r) {
      const T a = A[r * lda + k];
      for (int v = 0; v < NV; ++v) acc[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < ROWS; ++r)
    for (int v = 0; v < NV; ++v) std::memcpy(C + r * ldc + v * W, &acc[r][v], sizeof(Vec));
}

// C (M × N, ldc) = A (M × K, lda) · B (K × N, ldb), row-major; N a multiple of Tile<T, VB>::NR.
template <typename T, int VB>
GCRL_INLINE void smallGemm(const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc, int64_t M, int64_t N, int64_t K) {
  constexpr int MR = Tile<T, VB>::MR, NR = Tile<T, VB>::NR;
  for (int64_t j = 0; j < N; j += NR) {
    int64_t i = 0;
    for (; i + MR <= M; i += MR) gemmTile<T, MR, VB>(A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, K);
    for (; i < M; ++i) gemmTile<T, 1, VB>(A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, K);
  }
}

inline int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Per (sequence, head) pair, q, k, v (strided by 3d in qkv) are copied into contiguous buffers,
// zero-padded to Lp = L and Dp = dh rounded up to NR columns, and the products run as small GEMMs:
// S = q·kᵀ, y = P·v (forward); dP = dy·vᵀ, dq = dS·k, dk = dSᵀ·q, dv = Pᵀ·dy (backward). The
// padding is zero, so padded columns of a product are zero and padded rows are never copied out.
// Everything stays in L1 / L2 (float, L = 28, dh = 32: under 40 KB per pair).

// Forward of the pairs [begin, end): fills p (N, heads, L, L) and y (N, L, d). S is the storage
// type of qkv and y (float, double, or bfloat16), T the compute type (float for bfloat16: the
// products, softmax and P in float32, bf16 only on the way in and out).
template <typename S, typename T, int VB>
GCRL_INLINE void attentionForwardImpl(const S* qkv, T* p, S* y, AttentionShape s, int64_t begin, int64_t end) {
  const int64_t L = s.len, d = s.d, dh = s.dh, row = 3 * d;
  const int64_t Lp = roundUp(L, Tile<T, VB>::NR), Dp = roundUp(dh, Tile<T, VB>::NR);
  const T scale = T(1) / std::sqrt(static_cast<T>(dh));
  std::vector<T> buf(static_cast<size_t>(L * dh + dh * Lp + Lp * Dp + 2 * L * Lp + L * Dp), T(0));
  T* q = buf.data();     // (L, dh)
  T* kt = q + L * dh;    // (dh, Lp): kt[c·Lp + j] = k_j[c], zero for j ≥ L
  T* v = kt + dh * Lp;   // (Lp, Dp), zero-padded
  T* sc = v + Lp * Dp;   // (L, Lp): scores
  T* pr = sc + L * Lp;   // (L, Lp): probabilities, zero for masked and padded j
  T* yl = pr + L * Lp;   // (L, Dp)
  for (int64_t pair = begin; pair < end; ++pair) {
    const int64_t n = pair / s.heads, h = pair % s.heads;
    const S* base = qkv + n * L * row + h * dh;
    if (h == 0 && n + 1 < s.n) prefetchBlock(qkv + (n + 1) * L * row, L * row);
    for (int64_t j = 0; j < L; ++j) {
      const S* src = base + j * row;
      copyRow(src, q + j * dh, dh);
      for (int64_t c = 0; c < dh; ++c) kt[c * Lp + j] = static_cast<T>(src[d + c]);
      copyRow(src + 2 * d, v + j * Dp, dh);
    }
    smallGemm<T, VB>(q, dh, kt, Lp, sc, Lp, L, Lp, dh);  // S = q·kᵀ (unscaled)
    T* pp = p + pair * L * L;
    for (int64_t i = 0; i < L; ++i) {
      const int64_t jn = s.causal ? i + 1 : L;
      const T* si = sc + i * Lp;
      T* pi = pr + i * Lp;
      // Over the whole padded row (Lp, a multiple of the vector width) with j ≥ jn selected out, so
      // the loops run as whole vectors: over jn alone, most of a causal row's exps fell into the
      // scalar remainder. Masked and padded entries are exactly 0.
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j < jn; ++j) m = std::max(m, si[j] * scale);
      const T inv = T(1) / softmaxRowExp(si, pi, scale, m, jn, Lp);
#pragma omp simd
      for (int64_t j = 0; j < Lp; ++j) pi[j] *= inv;
      copyRow(pi, pp + i * L, L);
    }
    smallGemm<T, VB>(pr, Lp, v, Dp, yl, Dp, L, Dp, Lp);  // y = P·v
    S* yy = y + n * L * d + h * dh;
    for (int64_t i = 0; i < L; ++i) copyRow(yl + i * Dp, yy + i * d, dh);
  }
}

// Backward of the pairs [begin, end): writes their slices of g (N, L, 3d); together the pairs
// write every element of g once. qkv, gy and g in the storage type S, p and the work in T.
template <typename S, typename T, int VB>
GCRL_INLINE void attentionBackwardImpl(const S* qkv, const T* p, const S* gy, S* g, AttentionShape s, int64_t begin, int64_t end) {
  const int64_t L = s.len, d = s.d, dh = s.dh, row = 3 * d;
  const int64_t Lp = roundUp(L, Tile<T, VB>::NR), Dp = roundUp(dh, Tile<T, VB>::NR);
  const T scale = T(1) / std::sqrt(static_cast<T>(dh));
  std::vector<T> buf(static_cast<size_t>(2 * Lp * Dp + dh * Lp + L * Dp + 4 * Lp * Lp + 3 * Lp * Dp), T(0));
  T* q = buf.data();     // (Lp, Dp) zero-padded: B of dk = dSᵀ·q
  T* k = q + Lp * Dp;    // (Lp, Dp) zero-padded: B of dq = dS·k
  T* vt = k + Lp * Dp;   // (dh, Lp): vt[c·Lp + j] = v_j[c]
  T* gyl = vt + dh * Lp; // (L, Dp): this head's dy, zero-padded
  T* ds = gyl + L * Dp;  // (Lp, Lp): dP, then dS; zero outside L × jn
  T* dst = ds + Lp * Lp; // (Lp, Lp): dSᵀ
  T* pl = dst + Lp * Lp; // (Lp, Lp): P, zero-padded
  T* pt = pl + Lp * Lp;  // (Lp, Lp): Pᵀ
  T* dq = pt + Lp * Lp;  // (Lp, Dp) each
  T* dk = dq + Lp * Dp;
  T* dv = dk + Lp * Dp;
  for (int64_t pair = begin; pair < end; ++pair) {
    const int64_t n = pair / s.heads, h = pair % s.heads;
    const S* base = qkv + n * L * row + h * dh;
    const T* pp = p + pair * L * L;
    const S* gyy = gy + n * L * d + h * dh;
    if (h == 0 && n + 1 < s.n) {
      prefetchBlock(qkv + (n + 1) * L * row, L * row);
      prefetchBlock(gy + (n + 1) * L * d, L * d);
    }
    for (int64_t j = 0; j < L; ++j) {
      const S* src = base + j * row;
      copyRow(src, q + j * Dp, dh);
      copyRow(src + d, k + j * Dp, dh);
      for (int64_t c = 0; c < dh; ++c) vt[c * Lp + j] = static_cast<T>(src[2 * d + c]);
      copyRow(gyy + j * d, gyl + j * Dp, dh);
      copyRow(pp + j * L, pl + j * Lp, L);
    }
    smallGemm<T, VB>(gyl, Dp, vt, Lp, ds, Lp, L, Lp, dh);  // dP = dy·vᵀ
    for (int64_t i = 0; i < L; ++i) {
      const T* pi = pl + i * Lp;
      T* di = ds + i * Lp;
      // Over the whole padded row: P is exactly 0 at masked (j ≥ jn) and padded entries, so they
      // add nothing to r and get dS = 0, and the loops run as whole vectors.
      const T r = rowDot8(pi, di, Lp);
#pragma omp simd
      for (int64_t j = 0; j < Lp; ++j) di[j] = pi[j] * (di[j] - r) * scale;  // dS
    }
    for (int64_t i = 0; i < L; ++i)
      for (int64_t j = 0; j < L; ++j) {
        dst[j * Lp + i] = ds[i * Lp + j];
        pt[j * Lp + i] = pl[i * Lp + j];
      }
    smallGemm<T, VB>(ds, Lp, k, Dp, dq, Dp, L, Dp, L);     // dq = dS·k
    smallGemm<T, VB>(dst, Lp, q, Dp, dk, Dp, L, Dp, L);    // dk = dSᵀ·q
    smallGemm<T, VB>(pt, Lp, gyl, Dp, dv, Dp, L, Dp, L);   // dv = Pᵀ·dy
    S* gbase = g + n * L * row + h * dh;
    for (int64_t j = 0; j < L; ++j) {
      copyRow(dq + j * Dp, gbase + j * row, dh);
      copyRow(dk + j * Dp, gbase + j * row + d, dh);
      copyRow(dv + j * Dp, gbase + j * row + 2 * d, dh);
    }
  }
}

// The attention loops per CPU: the AVX-512 variant (x86-64-v4: 64-byte tiles, twice the columns
// per register, e.g. AVX-512 on AMD Zen 4/5 and Intel Skylake-SP and later) where useAvx512()
// says so, else the 32-byte tiles, compiled for AVX2 + FMA and for the baseline (GCRL_CLONES). The
// same operations in the same order per element, so the AVX2 and AVX-512 variants compute the same
// bits.
template <typename S, typename T>
GCRL_CLONES void attentionForward32(const S* qkv, T* p, S* y, AttentionShape s, int64_t begin, int64_t end) {
  attentionForwardImpl<S, T, 32>(qkv, p, y, s, begin, end);
}
template <typename S, typename T>
GCRL_CLONES void attentionBackward32(const S* qkv, const T* p, const S* gy, S* g, AttentionShape s, int64_t begin, int64_t end) {
  attentionBackwardImpl<S, T, 32>(qkv, p, gy, g, s, begin, end);
}
#if GCRL_AVX512
template <typename S, typename T>
GCRL_TARGET_V4 void attentionForward64(const S* qkv, T* p, S* y, AttentionShape s, int64_t begin, int64_t end) {
  attentionForwardImpl<S, T, 64>(qkv, p, y, s, begin, end);
}
template <typename S, typename T>
GCRL_TARGET_V4 void attentionBackward64(const S* qkv, const T* p, const S* gy, S* g, AttentionShape s, int64_t begin, int64_t end) {
  attentionBackwardImpl<S, T, 64>(qkv, p, gy, g, s, begin, end);
}
#endif

template <typename S, typename T>
void attentionForwardPairs(bool avx512, const S* qkv, T* p, S* y, AttentionShape s, int64_t begin, int64_t end) {
#if GCRL_AVX512
  if (avx512) return attentionForward64<S, T>(qkv, p, y, s, begin, end);
#endif
  attentionForward32<S, T>(qkv, p, y, s, begin, end);
}
template <typename S, typename T>
void attentionBackwardPairs(bool avx512, const S* qkv, const T* p, const S* gy, S* g, AttentionShape s, int64_t begin, int64_t end) {
#if GCRL_AVX512
  if (avx512) return attentionBackward64<S, T>(qkv, p, gy, g, s, begin, end);
#endif
  attentionBackward32<S, T>(qkv, p, gy, g, s, begin, end);
}

AttentionShape attentionShape(const at::Tensor& qkv, int64_t heads, bool causal) {
  TORCH_CHECK(qkv.dim() == 3 && qkv.size(2) % 3 == 0, "gcrl::attention: qkv must be (N, L, 3d)");
  const int64_t d = qkv.size(2) / 3;
  TORCH_CHECK(heads >= 1 && d % heads == 0, "gcrl::attention: heads must divide d");
  return {qkv.size(0), qkv.size(1), d, heads, d / heads, causal};
}

// Pairs per parallel task: enough work (≈ L²·dh multiply-adds each) to amortise the task.
int64_t attentionGrain(const AttentionShape& s) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, s.len * s.len * s.dh)); }

// The compute type of a storage type: float for bfloat16 (and float), double for double.
template <typename S>
struct Compute {
  using type = S;
};
template <>
struct Compute<c10::BFloat16> {
  using type = float;
};

class Attention : public torch::autograd::Function<Attention> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& qkvIn, int64_t heads, bool causal) {
    const AttentionShape s = attentionShape(qkvIn, heads, causal);
    const at::Tensor qkv = qkvIn.contiguous();
    // P in the compute type (float32 for bf16 inputs): the softmax and its backward stay float32.
    const auto pType = qkv.scalar_type() == at::kBFloat16 ? at::kFloat : qkv.scalar_type();
    at::Tensor p = at::empty({s.n, s.heads, s.len, s.len}, qkv.options().dtype(pType));
    at::Tensor y = at::empty({s.n, s.len, s.d}, qkv.options());
    AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, qkv.scalar_type(), "gcrl::attention", [&] {
      using T = typename Compute<scalar_t>::type;
      const scalar_t* q = qkv.data_ptr<scalar_t>();
      T* pp = p.data_ptr<T>();
      scalar_t* yy = y.data_ptr<scalar_t>();
      const bool avx512 = useAvx512();
      at::parallel_for(0, s.n * s.heads, attentionGrain(s), [&](int64_t b, int64_t e) { attentionForwardPairs<scalar_t, T>(avx512, q, pp, yy, s, b, e); });
    });
    ctx->save_for_backward({qkv, p});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["causal"] = causal;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& qkv = saved[0];
    const at::Tensor& p = saved[1];
    const AttentionShape s = attentionShape(qkv, ctx->saved_data["heads"].toInt(), ctx->saved_data["causal"].toBool());
    const at::Tensor gy = grads[0].to(qkv.scalar_type()).contiguous();
    at::Tensor g = at::empty_like(qkv);  // every element written by exactly one pair
    AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, qkv.scalar_type(), "gcrl::attention_backward", [&] {
      using T = typename Compute<scalar_t>::type;
      const scalar_t* q = qkv.data_ptr<scalar_t>();
      const T* pp = p.data_ptr<T>();
      const scalar_t* gyy = gy.data_ptr<scalar_t>();
      scalar_t* gg = g.data_ptr<scalar_t>();
      const bool avx512 = useAvx512();
      at::parallel_for(0, s.n * s.heads, attentionGrain(s), [&](int64_t b, int64_t e) { attentionBackwardPairs<scalar_t, T>(avx512, q, pp, gyy, gg, s, b, e); });
    });
    return {g, at::Tensor(), at::Tensor()};
  }
};

at::Tensor attention(const at::Tensor& qkv, int64_t heads, bool causal) { return Attention::apply(qkv, heads, causal); }

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias, int64_t rows,
                  bool bf16) {
  TORCH_CHECK(weight.dim() == 2, "gcrl::linear: weight must be 2-d");
  const at::Tensor b = bias.has_value() && bias->defined() ? *bias : at::zeros({weight.size(0)}, weight.options());
  return ChunkedLinear::apply(x, weight, b, rows, bf16);
}

}  // namespace

TORCH_LIBRARY(gcrl, m) {
  m.def("linear(Tensor x, Tensor weight, Tensor? bias, int chunk_rows, bool bf16) -> Tensor", &linear);
  m.def("attention(Tensor qkv, int heads, bool causal) -> Tensor", &attention);
  m.def("attention_avx512() -> bool", &useAvx512);
  m.def("set_blas_threads(int n) -> bool", &setBlasThreads);
  m.def("get_blas_threads() -> int", &getBlasThreads);
}

}  // namespace gcrl
