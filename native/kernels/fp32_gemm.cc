// gcrl::linear's float32 GEMMs by one of two routes (issue 17, "fp32 at the machine's limit"):
//   openblas  ATen's addmm / mm over row chunks (libblas.so.3: OpenBLAS, as the environment
//             configures it), the route gcrl::linear always took before;
//   onednn    one dnnl_sgemm call over all rows: oneDNN's row-major BLAS-like function, reading
//             the dense operands in place (no reorders, no copies), threaded over the same OpenMP
//             threads as ATen.
// Debian's libtorch links the system oneDNN (libdnnl.so.2) dynamically, so dnnl_sgemm is in the
// process; it is found with dlsym at run time (no dnnl.h ships with libtorch-dev), and where it is
// not there (a libtorch with oneDNN linked in statically and hidden) every GEMM takes openblas.
// The ATen entry points to oneDNN were measured and lose (docs/engine.md, "fp32 GEMM routes"):
// mkldnn_linear and mkldnn_linear_backward_* need mkldnn-layout tensors, and the conversions cost
// more than the GEMM gains; at::native::mkldnn_matmul refuses float32 in 1.13 ("only enabled for
// bf16 path"). On the AMD EPYC of docs/engine.md (one thread, thread CPU time, under load),
// dnnl_sgemm ran the 50,176- and 25,088-row Linears of the reference and study models at
// 1.2–1.3× the OpenBLAS chunks for dx, 1.2–1.55× for dW, 1.0–1.2× for the forward (up to 2.1×
// on the 16-wide logits); auto's per-shape choice keeps OpenBLAS wherever it measures faster.
//
// gcrl::set_fp32_gemm(str mode) -> ()    "auto" (measure per shape), "openblas", "onednn" (forced;
//                                         onednn falls back to openblas where dnnl_sgemm is absent)
// gcrl::fp32_gemm_report() -> str        JSON: mode, availability, versions, every measured choice
// gcrl::fp32_mm(Tensor a, Tensor b, str route) -> Tensor   a·b (float32, 2-d) by one route (benchmarks)
// The initial mode is GCRL_FP32_GEMM's value, default onednn: a fixed route, so that every process
// of a run computes the same bits (bit-exact resume, the data-parallel equivalence) — a choice timed
// at first use can differ between the process that wrote a checkpoint and the one that resumes it.
// dnnl_sgemm measured at least as fast as the OpenBLAS chunks on every shape of docs/engine.md's
// table; auto (the timed per-shape choice) is for benchmarks and machines where that may not hold.
#include "fp32_gemm.h"

#include <ATen/Parallel.h>
#include <torch/library.h>

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <tuple>

namespace gcrl {
namespace {

// dnnl.h's declaration, unchanged from DNNL 1.1 to oneDNN 3.x: C = alpha·op(A)·op(B) + beta·C,
// row-major, op(A) M × K, op(B) K × N; dnnl_dim_t is int64_t; returns dnnl_status_t (0 = success).
using DnnlSgemm = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
// dnnl_version_t of dnnl_types.h.
struct DnnlVersion {
  int major, minor, patch;
  const char* hash;
  unsigned cpuRuntime, gpuRuntime;
};

DnnlSgemm dnnlSgemm() {
  static auto f = reinterpret_cast<DnnlSgemm>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));
  return f;
}

// oneDNN's bf16 GEMM with float32 accumulation and result, C = alpha·op(A)·op(B) + beta·C in the
// layout of dnnl_sgemm (A, B bfloat16; C float32). Not in dnnl.h (src/cpu/gemm/gemm.hpp declares it),
// but exported by the library since DNNL 1.x; it returns dnnl_unimplemented (5) on CPUs without
// AVX-512 (oneDNN 2.x), where the callers fall back to ATen.
using DnnlGemmBf16 = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const c10::BFloat16* a, int64_t lda,
                             const c10::BFloat16* b, int64_t ldb, float beta, float* c, int64_t ldc);

DnnlGemmBf16 dnnlGemmBf16() {
  static auto f = reinterpret_cast<DnnlGemmBf16>(dlsym(RTLD_DEFAULT, "dnnl_gemm_bf16bf16f32"));
  return f;
}

enum class Mode { Auto, OpenBlas, OneDnn };
enum Route { kOpenBlas = 0, kOneDnn = 1 };

const char* modeName(Mode m) { return m == Mode::Auto ? "auto" : m == Mode::OpenBlas ? "openblas" : "onednn"; }

Mode parseMode(const std::string& s, const char* what) {
  if (s == "auto") return Mode::Auto;
  if (s == "openblas") return Mode::OpenBlas;
  if (s == "onednn") return Mode::OneDnn;
  TORCH_CHECK(false, what, " must be \"auto\", \"openblas\" or \"onednn\", got \"", s, "\"");
}

std::atomic<int> modeValue{-1};  // a Mode, or -1 before GCRL_FP32_GEMM was read

Mode mode() {
  int m = modeValue.load();
  if (m < 0) {
    const char* env = std::getenv("GCRL_FP32_GEMM");
    m = static_cast<int>(env != nullptr && *env != 0 ? parseMode(env, "GCRL_FP32_GEMM") : Mode::OneDnn);
    modeValue.store(m);
  }
  return static_cast<Mode>(m);
}

// One measured choice: the key's shape and threads, the best of three seconds per route.
struct Key {
  Fp32Gemm which;
  int64_t rows, in, out, threads, blasThreads;
  bool operator<(const Key& o) const {
    return std::tie(which, rows, in, out, threads, blasThreads) < std::tie(o.which, o.rows, o.in, o.out, o.threads, o.blasThreads);
  }
};
struct Choice {
  Route route;
  double seconds[2];
};

std::mutex choicesMutex;
std::map<Key, Choice> choices;  // grows by one entry per distinct Linear shape and GEMM: a few dozen

const char* gemmName(Fp32Gemm w) { return w == Fp32Gemm::Forward ? "forward" : w == Fp32Gemm::InputGrad ? "input_grad" : "weight_grad"; }

// t's rows contiguous (elements of a row adjacent, rows ld ≥ cols apart): usable by dnnl_sgemm as it is.
bool rowsContiguous(const at::Tensor& t) {
  return (t.size(1) <= 1 || t.stride(1) == 1) && (t.size(0) <= 1 || t.stride(0) >= t.size(1));
}
int64_t leadingDim(const at::Tensor& t) { return t.size(0) <= 1 ? std::max<int64_t>(1, t.size(1)) : t.stride(0); }

Choice measure(const std::function<void()>& openblas, const std::function<void()>& onednn) {
  Choice c{kOpenBlas, {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()}};
  // Rounds alternate the order (A B, B A, A B) so that both routes see the same load; the last run
  // is onednn's, and its result is what the caller gets (both write the whole result).
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 2; ++i) {
      const int route = (round + i) % 2;
      const auto t0 = std::chrono::steady_clock::now();
      (route == kOpenBlas ? openblas : onednn)();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      c.seconds[route] = std::min(c.seconds[route], s);
    }
  c.route = c.seconds[kOneDnn] < c.seconds[kOpenBlas] ? kOneDnn : kOpenBlas;
  return c;
}

std::string unavailableReason() {
  if (dnnlSgemm() != nullptr) return "";
  return at::hasMKLDNN() ? "dnnl_sgemm is not exported in this process (oneDNN linked into libtorch, hidden)"
                         : "this libtorch has no oneDNN (at::hasMKLDNN() is false) and dnnl_sgemm is not in the process";
}

void setFp32Gemm(const std::string& m) { modeValue.store(static_cast<int>(parseMode(m, "gcrl::set_fp32_gemm: mode"))); }

std::string fp32GemmReport() {
  std::ostringstream o;
  const std::string reason = unavailableReason();
  o << "{\"mode\":\"" << modeName(mode()) << "\",\"onednnAvailable\":" << (reason.empty() ? "true" : "false") << ",\"onednnReason\":\""
    << reason << "\",\"hasMKLDNN\":" << (at::hasMKLDNN() ? "true" : "false");
  if (auto version = reinterpret_cast<const DnnlVersion* (*)()>(dlsym(RTLD_DEFAULT, "dnnl_version")))
    o << ",\"onednnVersion\":\"" << version()->major << "." << version()->minor << "." << version()->patch << "\"";
  if (auto isa = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "dnnl_get_effective_cpu_isa"))) o << ",\"onednnIsa\":" << isa();
  if (auto core = reinterpret_cast<const char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename"))) o << ",\"openblasCore\":\"" << core() << "\"";
  o << ",\"choices\":[";
  std::lock_guard<std::mutex> lock(choicesMutex);
  bool first = true;
  for (const auto& [k, c] : choices) {
    o << (first ? "" : ",") << "{\"gemm\":\"" << gemmName(k.which) << "\",\"rows\":" << k.rows << ",\"in\":" << k.in << ",\"out\":" << k.out
      << ",\"threads\":" << k.threads << ",\"blasThreads\":" << k.blasThreads << ",\"route\":\"" << (c.route == kOneDnn ? "onednn" : "openblas")
      << "\",\"openblasSeconds\":" << c.seconds[kOpenBlas] << ",\"onednnSeconds\":" << c.seconds[kOneDnn] << "}";
    first = false;
  }
  o << "]}";
  return o.str();
}

at::Tensor fp32Mm(const at::Tensor& a, const at::Tensor& b, const std::string& route) {
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), "gcrl::fp32_mm: a (m, k) and b (k, n) expected");
  TORCH_CHECK(a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && a.is_cpu() && b.is_cpu(), "gcrl::fp32_mm: float32 CPU tensors expected");
  if (route == "openblas") return at::mm(a, b);
  TORCH_CHECK(route == "onednn", "gcrl::fp32_mm: route must be \"openblas\" or \"onednn\", got \"", route, "\"");
  TORCH_CHECK(onednnSgemmAvailable(), "gcrl::fp32_mm: oneDNN is unavailable: ", unavailableReason());
  at::Tensor c = at::empty({a.size(0), b.size(1)}, a.options());
  onednnMm(a, false, b, false, 0.f, c);
  return c;
}

}  // namespace

bool onednnSgemmAvailable() { return dnnlSgemm() != nullptr; }

void onednnMm(const at::Tensor& a, bool ta, const at::Tensor& b, bool tb, float beta, const at::Tensor& c) {
  const at::Tensor A = rowsContiguous(a) ? a : a.contiguous();
  const at::Tensor B = rowsContiguous(b) ? b : b.contiguous();
  TORCH_CHECK(rowsContiguous(c), "gcrl: onednnMm needs a result with contiguous rows");
  const int64_t m = c.size(0), n = c.size(1), k = ta ? A.size(0) : A.size(1);
  const int status = dnnlSgemm()(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, A.data_ptr<float>(), leadingDim(A), B.data_ptr<float>(), leadingDim(B), beta,
                                 c.data_ptr<float>(), leadingDim(c));
  TORCH_CHECK(status == 0, "gcrl: dnnl_sgemm failed (dnnl_status_t ", status, ") for ", m, "x", k, " · ", k, "x", n);
}

bool onednnBf16Mm(const at::Tensor& a, bool ta, const at::Tensor& b, bool tb, const at::Tensor& c) {
  static std::atomic<bool> refused{false};  // the library said unimplemented once: it will again (this CPU)
  if (dnnlGemmBf16() == nullptr || refused.load()) return false;
  TORCH_CHECK(a.scalar_type() == at::kBFloat16 && b.scalar_type() == at::kBFloat16 && c.scalar_type() == at::kFloat, "gcrl: onednnBf16Mm takes bfloat16 a, b and a float32 c");
  const at::Tensor A = rowsContiguous(a) ? a : a.contiguous();
  const at::Tensor B = rowsContiguous(b) ? b : b.contiguous();
  TORCH_CHECK(rowsContiguous(c), "gcrl: onednnBf16Mm needs a result with contiguous rows");
  const int64_t m = c.size(0), n = c.size(1), k = ta ? A.size(0) : A.size(1);
  if (m == 0 || n == 0 || k == 0) return false;  // ATen defines the empty products
  const int status = dnnlGemmBf16()(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, A.data_ptr<c10::BFloat16>(), leadingDim(A), B.data_ptr<c10::BFloat16>(),
                                    leadingDim(B), 0.f, c.data_ptr<float>(), leadingDim(c));
  if (status == 5) {  // dnnl_unimplemented: no bf16 GEMM for this CPU
    refused.store(true);
    return false;
  }
  TORCH_CHECK(status == 0, "gcrl: dnnl_gemm_bf16bf16f32 failed (dnnl_status_t ", status, ") for ", m, "x", k, " · ", k, "x", n);
  return true;
}

void runFp32Gemm(at::ScalarType dtype, Fp32Gemm which, int64_t rows, int64_t in, int64_t out, int64_t blasThreads,
                 const std::function<void()>& openblas, const std::function<void()>& onednn) {
  if (dtype != at::kFloat) return openblas();  // dnnl_sgemm is float32 only; float64 stays with ATen
  const Mode m = mode();
  // Empty products stay with ATen, which defines them (a zero-size dnnl_sgemm is not worth a case).
  if (m == Mode::OpenBlas || !onednnSgemmAvailable() || rows == 0 || in == 0 || out == 0) return openblas();
  if (m == Mode::OneDnn) return onednn();
  const Key key{which, rows, in, out, at::get_num_threads(), blasThreads};
  {
    std::lock_guard<std::mutex> lock(choicesMutex);
    auto it = choices.find(key);
    if (it != choices.end()) return it->second.route == kOneDnn ? onednn() : openblas();
  }
  const Choice c = measure(openblas, onednn);  // leaves onednn's result in place
  std::lock_guard<std::mutex> lock(choicesMutex);
  choices.emplace(key, c);
}

TORCH_LIBRARY_FRAGMENT(gcrl, m) {
  m.def("set_fp32_gemm(str mode) -> ()", &setFp32Gemm);
  m.def("fp32_gemm_report() -> str", &fp32GemmReport);
  m.def("fp32_mm(Tensor a, Tensor b, str route) -> Tensor", &fp32Mm);
}

}  // namespace gcrl
