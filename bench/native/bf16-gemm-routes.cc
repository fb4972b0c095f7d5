// Issue 17 probe: the bf16 GEMM routes of gcrl::linear's mixed precision, per Linear shape. Forward
// y = x·Wᵀ + b, dx = g·W, dW = gᵀ·x with x, W, g in bfloat16: ATen's addmm/mm on bfloat16 tensors
// (oneDNN through ideep in libtorch 1.13; bf16 result) over 4096-row chunks one after the other (today's route), over chunks in
// parallel (one thread each) and as one call, against oneDNN's C function dnnl_gemm_bf16bf16f32 (found with dlsym; float32 result,
// float32 accumulation), with and without rounding its result to bf16. Each route is checked once
// against the float32 product of the same bf16 operands (relative error printed), then timed in rounds
// that rotate the order of the routes; median, min, max.
// Build (Debian libtorch-dev) and run, e.g. one thread, thread CPU time (robust to other load):
//   g++ -std=c++17 -O2 -I/usr/include/torch/csrc/api/include bench/native/bf16-gemm-routes.cc -o /tmp/bf16-routes \
//       -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -ldl
//   /tmp/bf16-routes 1 7 cpu 50176:128:384 50176:512:128 ...     (threads, rounds, wall|cpu, rows:in:out...)
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <time.h>
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

using Bf16Gemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const c10::BFloat16*, int64_t, const c10::BFloat16*, int64_t, float, float*, int64_t);
static Bf16Gemm gemm = nullptr;
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

// The chunks spread over the intra-op threads (at::parallel_for), each GEMM on its calling thread.
template <typename F>
static void parChunks(int64_t n, int64_t rows, F f) {
  const int64_t count = (n + rows - 1) / rows;
  at::parallel_for(0, count, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t s = n * c / count, t = n * (c + 1) / count;
      f(s, t - s);
    }
  });
}

struct Route { std::string name; std::function<void()> run; std::function<at::Tensor()> result; };

static double median(std::vector<double> v) { std::sort(v.begin(), v.end()); size_t m = v.size() / 2; return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2; }

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 2;
  const int rounds = argc > 2 ? atoi(argv[2]) : 5;
  cpuMetric = argc > 3 && std::string(argv[3]) == "cpu";
  at::set_num_threads(threads);
  gemm = reinterpret_cast<Bf16Gemm>(dlsym(RTLD_DEFAULT, "dnnl_gemm_bf16bf16f32"));
  auto isa = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "dnnl_get_effective_cpu_isa"));
  printf("dnnl_gemm_bf16bf16f32 %s; dnnl isa 0x%x; threads %d, metric %s\n", gemm ? "found" : "absent", isa ? isa() : -1, threads, cpuMetric ? "thread-cpu" : "wall");
  std::vector<std::array<int64_t, 3>> shapes;
  for (int i = 4; i < argc; ++i) { int64_t a, b, c; sscanf(argv[i], "%ld:%ld:%ld", &a, &b, &c); shapes.push_back({a, b, c}); }
  at::manual_seed(0);
  const auto bf = at::kBFloat16;
  for (auto [n, in, out] : shapes) {
    at::Tensor x = at::randn({n, in}).to(bf), w = at::randn({out, in}).to(bf), b = at::randn({out}), g = at::randn({n, out}).to(bf);
    at::Tensor bb = b.to(bf);
    at::Tensor y = at::empty({n, out}, bf), yf = at::empty({n, out}), gx = at::empty({n, in}, bf), gxf = at::empty({n, in}), gw = at::empty({out, in}), gwf = at::empty({out, in});
    const double flops = 2.0 * n * in * out;
    at::Tensor yref = at::addmm(bb.to(at::kFloat), x.to(at::kFloat), w.to(at::kFloat).t()), gxref = at::mm(g.to(at::kFloat), w.to(at::kFloat)), gwref = at::mm(g.to(at::kFloat).t(), x.to(at::kFloat));
    auto relerr = [](const at::Tensor& a, const at::Tensor& r) { return ((a.to(at::kFloat) - r).abs().max() / r.abs().max()).item<double>(); };
    std::vector<std::tuple<std::string, std::vector<Route>, at::Tensor>> kinds;
    std::vector<Route> fwd = {
      {"aten-chunk4096", [&] { at::Tensor wt = w.t(); chunks(n, 4096, [&](int64_t s, int64_t l) { at::Tensor ys = y.narrow(0, s, l); at::addmm_out(ys, bb, x.narrow(0, s, l), wt); }); }, [&] { return y; }},
      {"aten-one", [&] { at::addmm_out(y, bb, x, w.t()); }, [&] { return y; }},
      {"aten-chunk4096-par", [&] { at::Tensor wt = w.t(); parChunks(n, 4096, [&](int64_t s, int64_t l) { at::Tensor ys = y.narrow(0, s, l); at::addmm_out(ys, bb, x.narrow(0, s, l), wt); }); }, [&] { return y; }},
    };
    if (gemm) {
      fwd.push_back({"dnnl_bf16-one f32", [&] { yf.copy_(bb.expand({n, out})); gemm('N', 'T', n, out, in, 1.f, x.data_ptr<c10::BFloat16>(), in, w.data_ptr<c10::BFloat16>(), in, 1.f, yf.data_ptr<float>(), out); }, [&] { return yf; }});
      fwd.push_back({"dnnl_bf16-one +round", [&] { yf.copy_(bb.expand({n, out})); gemm('N', 'T', n, out, in, 1.f, x.data_ptr<c10::BFloat16>(), in, w.data_ptr<c10::BFloat16>(), in, 1.f, yf.data_ptr<float>(), out); y.copy_(yf); }, [&] { return y; }});
      fwd.push_back({"dnnl_bf16-chunk4096 f32", [&] { chunks(n, 4096, [&](int64_t s, int64_t l) { yf.narrow(0, s, l).copy_(bb.expand({l, out})); gemm('N', 'T', l, out, in, 1.f, x.data_ptr<c10::BFloat16>() + s * in, in, w.data_ptr<c10::BFloat16>(), in, 1.f, yf.data_ptr<float>() + s * out, out); }); }, [&] { return yf; }});
    }
    kinds.emplace_back("fwd", fwd, yref);
    std::vector<Route> dx = {
      {"aten-chunk4096", [&] { chunks(n, 4096, [&](int64_t s, int64_t l) { at::Tensor gs = gx.narrow(0, s, l); at::mm_out(gs, g.narrow(0, s, l), w); }); }, [&] { return gx; }},
      {"aten-one", [&] { at::mm_out(gx, g, w); }, [&] { return gx; }},
      {"aten-chunk4096-par", [&] { parChunks(n, 4096, [&](int64_t s, int64_t l) { at::Tensor gs = gx.narrow(0, s, l); at::mm_out(gs, g.narrow(0, s, l), w); }); }, [&] { return gx; }},
    };
    if (gemm) {
      dx.push_back({"dnnl_bf16-one f32", [&] { gemm('N', 'N', n, in, out, 1.f, g.data_ptr<c10::BFloat16>(), out, w.data_ptr<c10::BFloat16>(), in, 0.f, gxf.data_ptr<float>(), in); }, [&] { return gxf; }});
      dx.push_back({"dnnl_bf16-one +round", [&] { gemm('N', 'N', n, in, out, 1.f, g.data_ptr<c10::BFloat16>(), out, w.data_ptr<c10::BFloat16>(), in, 0.f, gxf.data_ptr<float>(), in); gx.copy_(gxf); }, [&] { return gx; }});
    }
    kinds.emplace_back("dx", dx, gxref);
    std::vector<Route> dw = {
      {"aten-one +to(f32)", [&] { gw = at::mm(g.t(), x).to(at::kFloat); }, [&] { return gw; }},
    };
    if (gemm) dw.push_back({"dnnl_bf16-one f32", [&] { gemm('T', 'N', out, in, n, 1.f, g.data_ptr<c10::BFloat16>(), out, x.data_ptr<c10::BFloat16>(), in, 0.f, gwf.data_ptr<float>(), in); }, [&] { return gwf; }});
    kinds.emplace_back("dW", dw, gwref);
    for (auto& [kind, routes, ref] : kinds) {
      for (auto& r : routes) { r.run(); printf("  check %-3s %-26s relerr %.2e\n", kind.c_str(), r.name.c_str(), relerr(r.result(), ref)); }
      std::vector<std::vector<double>> t(routes.size());
      for (int k = 0; k < rounds; ++k)
        for (size_t i = 0; i < routes.size(); ++i) {
          const size_t j = (i + k) % routes.size();
          const double t0 = now(); routes[j].run(); t[j].push_back(now() - t0);
        }
      const double base = median(t[0]);
      for (size_t i = 0; i < routes.size(); ++i) {
        const double m = median(t[i]);
        printf("%6ld x %4ld -> %4ld  %-3s  %-26s %8.2f ms  %6.1f GFLOP/s  x%.2f vs %s  (min %.2f max %.2f)\n", n, in, out, kind.c_str(), routes[i].name.c_str(), m * 1e3, flops / m / 1e9, base / m, routes[0].name.c_str(),
               *std::min_element(t[i].begin(), t[i].end()) * 1e3, *std::max_element(t[i].begin(), t[i].end()) * 1e3);
      }
    }
    fflush(stdout);
  }
}
