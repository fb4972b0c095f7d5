// Tensor lifetime, metadata, raw bytes in and out, autograd and global settings.
// Arguments are validated in TypeScript; the checks here only keep bad calls from aborting.
#include "tensor.h"

#include <ATen/Parallel.h>

#include <set>
#include <torch/csrc/autograd/autograd.h>

#include "handle.h"
#include "util.h"

namespace gcrl {

namespace {

std::vector<int64_t> toShape(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> shape(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) shape[i] = arr.Get(i).As<Napi::Number>().Int64Value();
  return shape;
}

Napi::Array fromShape(Napi::Env env, at::IntArrayRef sizes) {
  auto arr = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, sizes[i]));
  return arr;
}

}  // namespace

// fromBytes(bytes: Uint8Array, shape, dtype) -> handle. Copies: JS memory can move or be detached.
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto bytes = info[0].As<Napi::Uint8Array>();
    auto shape = toShape(info[1]);
    int code = info[2].As<Napi::Number>().Int32Value();
    // The dtypes gcrl knows (src/torch/dtype.ts); any other code would index libtorch's tables unchecked.
    static const std::set<int> known = {0, 1, 2, 3, 4, 5, 6, 7, 11, 15};
    if (!known.count(code)) throw Napi::RangeError::New(env, "unsupported dtype code " + std::to_string(code));
    auto dtype = static_cast<c10::ScalarType>(code);
    auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
    if (static_cast<size_t>(t.nbytes()) != bytes.ByteLength())
      throw Napi::RangeError::New(env, "byte length " + std::to_string(bytes.ByteLength()) + " does not match shape (" +
                                           std::to_string(t.nbytes()) + " bytes)");
    if (t.nbytes() > 0) std::memcpy(t.data_ptr(), bytes.Data(), t.nbytes());
    return wrapTensor(env, std::move(t));
  });
}

// toBytes(h) -> ArrayBuffer, a copy of the tensor's elements in row-major order (moved to the CPU).
Napi::Value ToBytes(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto t = unwrapTensor(env, info[0]).detach().to(at::kCPU).contiguous();
    auto buffer = Napi::ArrayBuffer::New(env, t.nbytes());
    if (t.nbytes() > 0) std::memcpy(buffer.Data(), t.data_ptr(), t.nbytes());
    return buffer;
  });
}

// sharedBytes(h) -> ArrayBuffer aliasing the storage of a contiguous CPU tensor (zero-copy).
// The buffer keeps the storage alive until V8 collects it.
Napi::Value SharedBytes(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& t = unwrapTensor(env, info[0]);
    if (!t.device().is_cpu() || !t.is_contiguous())
      throw Napi::Error::New(env, "a shared view needs a contiguous CPU tensor");
    auto* keep = new at::Tensor(t.detach());
    if (keep->nbytes() == 0) {
      delete keep;
      return Napi::ArrayBuffer::New(env, 0);
    }
    return Napi::ArrayBuffer::New(env, keep->data_ptr(), keep->nbytes(),
                                  [](Napi::Env, void*, at::Tensor* k) { delete k; }, keep);
  });
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  disposeBox(env, unwrapBox(env, info[0]));
  return env.Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return Napi::Boolean::New(env, !unwrapBox(env, info[0])->tensor.defined());
}

// meta(h) -> [dtype code, shape[], device string, requiresGrad]
Napi::Value Meta(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& t = unwrapTensor(env, info[0]);
    auto arr = Napi::Array::New(env, 4);
    arr.Set(0u, Napi::Number::New(env, static_cast<int>(t.scalar_type())));
    arr.Set(1u, fromShape(env, t.sizes()));
    arr.Set(2u, Napi::String::New(env, t.device().str()));
    arr.Set(3u, Napi::Boolean::New(env, t.requires_grad()));
    return arr;
  });
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return fromShape(env, unwrapTensor(env, info[0]).sizes());
}

Napi::Value Dtype(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return Napi::Number::New(env, static_cast<int>(unwrapTensor(env, info[0]).scalar_type()));
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    unwrapTensor(env, info[0]).set_requires_grad(info[1].ToBoolean().Value());
    return env.Undefined();
  });
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return Napi::Boolean::New(env, unwrapTensor(env, info[0]).is_leaf());
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    return wrapTensor(env, unwrapTensor(env, info[0]).grad());
  });
}

// setGrad(h, g | null)
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& t = unwrapTensor(env, info[0]);
    if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
    else t.mutable_grad() = unwrapTensor(env, info[1], "grad");
    return env.Undefined();
  });
}

Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    unwrapTensor(env, info[0]).retain_grad();
    return env.Undefined();
  });
}

// backward(outputs[], grads[] | null, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto outs = info[0].As<Napi::Array>();
    torch::autograd::variable_list outputs, grads;
    for (uint32_t i = 0; i < outs.Length(); ++i) outputs.push_back(unwrapTensor(env, outs.Get(i), "backward output"));
    if (info[1].IsArray()) {
      auto gs = info[1].As<Napi::Array>();
      for (uint32_t i = 0; i < gs.Length(); ++i) grads.push_back(unwrapTensor(env, gs.Get(i), "backward gradient"));
    }
    bool retain = info[2].ToBoolean().Value();
    bool create = info[3].ToBoolean().Value();
    torch::autograd::backward(outputs, grads, retain, create);
    return env.Undefined();
  });
}

// setGradEnabled(enabled) -> previous
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(env, previous);
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    bool lossless = false;
    uint64_t seed = info[0].IsBigInt() ? info[0].As<Napi::BigInt>().Uint64Value(&lossless)
                                       : static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    torch::manual_seed(seed);
    return info.Env().Undefined();
  });
}

// The default CPU generator's state as bytes, and restoring it (exact resume of random streams).
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return wrapTensor(info.Env(), gen.get_state());
  });
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(unwrapTensor(env, info[0], "rng state"));
    return env.Undefined();
  });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (torch::cuda::is_available()) torch::cuda::synchronize();
    return info.Env().Undefined();
  });
}

// buildInfo() -> { version, config, parallel, mkldnn, bf16 }
Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto out = Napi::Object::New(env);
  out.Set("version", Napi::String::New(env, TORCH_VERSION));
  out.Set("config", Napi::String::New(env, at::show_config()));
  out.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
  out.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
  out.Set("mkldnnBf16", Napi::Boolean::New(env, at::hasMKLDNN() && at::globalContext().userEnabledMkldnn()));
  return out;
}

}  // namespace gcrl
