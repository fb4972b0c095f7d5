// Issue 17 item 3 probe: every float32 GEMM route to OpenBLAS and oneDNN this libtorch offers, per
// Linear shape: forward y = x·Wᵀ + b, dx = g·W, dW = gᵀ·x, each route checked against at::mm once
// (relative error printed; a route that throws is reported and dropped), then timed in rounds that
// rotate the order of the routes (A B C, B C A, …) so all see the same load; median, min, max.
// Routes: OpenBLAS over 4096-row chunks (gcrl::linear's) and as one call; dnnl_sgemm (oneDNN's C
// BLAS function, found with dlsym) as one call and over chunks; at::mkldnn_linear with the input
// converted (to_mkldnn / to_dense) or already mkldnn; a 1×1 at::mkldnn_convolution on a channels-last
// view of x; at::mkldnn_linear_backward_input / _weights (mkldnn-layout gradients);
// at::native::mkldnn_matmul (exported, no header; refuses float32 in libtorch 1.13).
// Build (Debian libtorch-dev) and run, e.g. one thread, thread CPU time (robust to other load):
//   g++ -std=c++17 -O2 -I/usr/include/torch/csrc/api/include bench/native/gemm-routes.cc -o /tmp/gemm-routes \
//       -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -ldl
//   /tmp/gemm-routes 1 7 cpu 50176:128:384 25088:512:128 ...     (threads, rounds, wall|cpu, rows:in:out...)
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <time.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace at { namespace native { void mkldnn_matmul(const Tensor& mat1, const Tensor& mat2, const Tensor& result, float beta, float alpha); } }

using Sgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, float*, int64_t);
static Sgemm sgemm = nullptr;
static bool cpuMetric = false;

static double now() {
  timespec ts;
  clock_gettime(cpuMetric ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

template <typename F>
static void chunks(int64_t n, int64_t rows, F f) {
  const int64_t count = (n + rows - 1) / rows;
  for (int64_t c = 0; c < count; ++c) {
    const int64_t s = n * c / count, e = n * (c + 1) / count;
    f(s, e - s);
  }
}

struct Route { std::string name; std::function<void()> run; };

static double median(std::vector<double> v) { std::sort(v.begin(), v.end()); size_t m = v.size() / 2; return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2; }

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 2;
  const int rounds = argc > 2 ? atoi(argv[2]) : 5;
  cpuMetric = argc > 3 && std::string(argv[3]) == "cpu";
  at::set_num_threads(threads);
  auto setBlas = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (setBlas) setBlas(threads);
  sgemm = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));
  auto corename = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  auto config = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto isa = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "dnnl_get_effective_cpu_isa"));
  printf("openblas core %s config %s; dnnl isa 0x%x; OPENBLAS_CORETYPE=%s\n", corename ? corename() : "?", config ? config() : "?", isa ? isa() : -1, getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");
  printf("hasMKLDNN %d, dnnl_sgemm %s, threads %d, metric %s\n", (int)at::hasMKLDNN(), sgemm ? "found" : "absent", threads, cpuMetric ? "thread-cpu" : "wall");
  std::vector<std::array<int64_t, 3>> shapes;
  for (int i = 4; i < argc; ++i) { int64_t a, b, c; sscanf(argv[i], "%ld:%ld:%ld", &a, &b, &c); shapes.push_back({a, b, c}); }
  at::manual_seed(0);
  for (auto [n, in, out] : shapes) {
    at::Tensor x = at::randn({n, in}), w = at::randn({out, in}), b = at::randn({out}), g = at::randn({n, out});
    at::Tensor y = at::empty({n, out}), gx = at::empty({n, in}), gw = at::empty({out, in});
    const double flops = 2.0 * n * in * out;
    // correctness of dnnl_sgemm and the mkldnn routes against at::mm
    at::Tensor yref = at::addmm(b, x, w.t()), gxref = at::mm(g, w), gwref = at::mm(g.t(), x);
    auto relerr = [](const at::Tensor& a, const at::Tensor& r) { return ((a - r).abs().max() / r.abs().max()).item<double>(); };
    std::vector<std::pair<std::string, std::vector<Route>>> kinds;
    // forward
    std::vector<Route> fwd = {
      {"blas-chunk4096", [&] { at::Tensor wt = w.t(); chunks(n, 4096, [&](int64_t s, int64_t l) { at::Tensor ys = y.narrow(0, s, l); at::addmm_out(ys, b, x.narrow(0, s, l), wt); }); }},
      {"blas-one", [&] { at::addmm_out(y, b, x, w.t()); }},
    };
    if (sgemm) {
      fwd.push_back({"dnnl_sgemm-one", [&] { y.copy_(b.expand({n, out})); sgemm('N', 'T', n, out, in, 1.f, x.data_ptr<float>(), in, w.data_ptr<float>(), in, 1.f, y.data_ptr<float>(), out); }});
      fwd.push_back({"dnnl_sgemm-chunk4096", [&] { chunks(n, 4096, [&](int64_t s, int64_t l) { float* yp = y.data_ptr<float>() + s * out; y.narrow(0, s, l).copy_(b.expand({l, out})); sgemm('N', 'T', l, out, in, 1.f, x.data_ptr<float>() + s * in, in, w.data_ptr<float>(), in, 1.f, yp, out); }); }});
    }
    if (at::hasMKLDNN()) {
      fwd.push_back({"mkldnn_linear+conv", [&] { y = at::mkldnn_linear(x.to_mkldnn(), w, b).to_dense(); }});
      at::Tensor xm = x.to_mkldnn();
      fwd.push_back({"mkldnn_linear(preconv)", [&, xm] { at::mkldnn_linear(xm, w, b); }});
      fwd.push_back({"mkldnn_matmul", [&] { at::Tensor wt = w.t().contiguous(); y.copy_(b.expand({n, out})); at::native::mkldnn_matmul(x, wt, y, 1.f, 1.f); }});
      fwd.push_back({"conv1x1-cl", [&] {
        at::Tensor xi = x.as_strided({1, in, n, 1}, {n * in, 1, in, in});
        at::Tensor r = at::mkldnn_convolution(xi, w.view({out, in, 1, 1}), b, {0, 0}, {1, 1}, {1, 1}, 1);
        if (!(r.stride(1) == 1)) y.copy_(r.view({out, n}).t()); else y = r.as_strided({n, out}, {out, 1}); }});
    }
    // check each forward route once
    for (auto& r : fwd) {
      if (r.name == "mkldnn_linear(preconv)") { printf("  check fwd %-24s (result left in mkldnn layout: not checked)\n", r.name.c_str()); continue; }
      try { y.zero_(); r.run(); printf("  check fwd %-24s relerr %.2e\n", r.name.c_str(), relerr(y.is_mkldnn() ? y.to_dense() : y, yref)); }
      catch (const std::exception& e) { printf("  check fwd %-24s FAILS: %.160s\n", r.name.c_str(), e.what()); r.name = ""; }
      y = at::empty({n, out});
    }
    fwd.erase(std::remove_if(fwd.begin(), fwd.end(), [](const Route& r) { return r.name.empty(); }), fwd.end());
    kinds.push_back({"fwd", fwd});
    std::vector<Route> dx = {
      {"blas-chunk4096", [&] { chunks(n, 4096, [&](int64_t s, int64_t l) { at::Tensor gs = gx.narrow(0, s, l); at::mm_out(gs, g.narrow(0, s, l), w); }); }},
      {"blas-one", [&] { at::mm_out(gx, g, w); }},
    };
    if (sgemm) dx.push_back({"dnnl_sgemm-one", [&] { sgemm('N', 'N', n, in, out, 1.f, g.data_ptr<float>(), out, w.data_ptr<float>(), in, 0.f, gx.data_ptr<float>(), in); }});
    if (at::hasMKLDNN()) {
      dx.push_back({"mkldnn_lin_bw_input+conv", [&] { gx = at::mkldnn_linear_backward_input({n, in}, g.to_mkldnn(), w); if (gx.is_mkldnn()) gx = gx.to_dense(); }});
      dx.push_back({"mkldnn_matmul", [&] { at::native::mkldnn_matmul(g, w, gx, 0.f, 1.f); }});
    }
    for (auto& r : dx) {
      try { gx.zero_(); r.run(); printf("  check dx  %-24s relerr %.2e\n", r.name.c_str(), relerr(gx, gxref)); }
      catch (const std::exception& e) { printf("  check dx  %-24s FAILS: %.160s\n", r.name.c_str(), e.what()); r.name = ""; }
      gx = at::empty({n, in});
    }
    dx.erase(std::remove_if(dx.begin(), dx.end(), [](const Route& r) { return r.name.empty(); }), dx.end());
    kinds.push_back({"dx", dx});
    std::vector<Route> dw = {
      {"blas-chunk4096", [&] { gw.zero_(); chunks(n, 4096, [&](int64_t s, int64_t l) { gw.addmm_(g.narrow(0, s, l).t(), x.narrow(0, s, l)); }); }},
      {"blas-one", [&] { at::mm_out(gw, g.t(), x); }},
    };
    if (sgemm) {
      dw.push_back({"dnnl_sgemm-one", [&] { sgemm('T', 'N', out, in, n, 1.f, g.data_ptr<float>(), out, x.data_ptr<float>(), in, 0.f, gw.data_ptr<float>(), in); }});
      dw.push_back({"dnnl_sgemm-chunk4096", [&] { bool first = true; chunks(n, 4096, [&](int64_t s, int64_t l) { sgemm('T', 'N', out, in, l, 1.f, g.data_ptr<float>() + s * out, out, x.data_ptr<float>() + s * in, in, first ? 0.f : 1.f, gw.data_ptr<float>(), in); first = false; }); }});
    }
    if (at::hasMKLDNN()) {
      dw.push_back({"mkldnn_lin_bw_weights+conv", [&] { auto r = at::mkldnn_linear_backward_weights(g.to_mkldnn(), x.to_mkldnn(), w, true); gw = std::get<0>(r); if (gw.is_mkldnn()) gw = gw.to_dense(); }});
      dw.push_back({"mkldnn_matmul", [&] { at::native::mkldnn_matmul(g.t(), x, gw, 0.f, 1.f); }});
    }
    for (auto& r : dw) {
      try { gw.zero_(); r.run(); printf("  check dW  %-24s relerr %.2e\n", r.name.c_str(), relerr(gw, gwref)); }
      catch (const std::exception& e) { printf("  check dW  %-24s FAILS: %.160s\n", r.name.c_str(), e.what()); r.name = ""; }
      gw = at::empty({out, in});
    }
    dw.erase(std::remove_if(dw.begin(), dw.end(), [](const Route& r) { return r.name.empty(); }), dw.end());
    kinds.push_back({"dW", dw});
    for (auto& [kind, routes] : kinds) {
      std::vector<std::vector<double>> t(routes.size());
      for (auto& r : routes) r.run();  // warm-up
      for (int k = 0; k < rounds; ++k)
        for (size_t i = 0; i < routes.size(); ++i) {
          const size_t j = (i + k) % routes.size();  // rotate the order per round
          const double t0 = now(); routes[j].run(); t[j].push_back(now() - t0);
        }
      const double base = median(t[0]);
      for (size_t i = 0; i < routes.size(); ++i) {
        const double m = median(t[i]);
        printf("%6ld x %4ld -> %4ld  %-3s  %-28s %8.2f ms  %6.1f GFLOP/s  x%.2f vs blas-chunk  (min %.2f max %.2f)\n", n, in, out, kind.c_str(), routes[i].name.c_str(), m * 1e3, flops / m / 1e9, base / m,
               *std::min_element(t[i].begin(), t[i].end()) * 1e3, *std::max_element(t[i].begin(), t[i].end()) * 1e3);
      }
    }
    fflush(stdout);
  }
}
