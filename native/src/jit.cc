// TorchScript modules: load a scripted/traced file and call its forward().
#include <torch/script.h>

#include "handle.h"
#include "ops.h"
#include "util.h"

namespace gcrl {

namespace {
const napi_type_tag kModuleTag = {0x6763726c6a69746dULL, 0x6f64756c65303031ULL};

torch::jit::Module& unwrapModule(Napi::Env env, const Napi::Value& v) {
  bool tagged = false;
  if (v.IsExternal()) napi_check_object_type_tag(env, v, &kModuleTag, &tagged);
  if (!tagged) throw Napi::TypeError::New(env, "expected a TorchScript module handle");
  return *v.As<Napi::External<torch::jit::Module>>().Data();
}
}  // namespace

// jitLoad(path, device?) -> module handle (in eval mode)
Napi::Value JitLoad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    std::string path = info[0].As<Napi::String>().Utf8Value();
    c10::optional<c10::Device> device;
    if (info.Length() > 1 && info[1].IsString()) device = c10::Device(info[1].As<Napi::String>().Utf8Value());
    auto* module = new torch::jit::Module(torch::jit::load(path, device));
    module->eval();
    auto ext = Napi::External<torch::jit::Module>::New(env, module,
                                                       [](Napi::Env, torch::jit::Module* m) { delete m; });
    napi_type_tag_object(env, ext, &kModuleTag);
    return ext;
  });
}

// jitForward(module, args[]) -> result (tensor, array of results, number, ...)
Napi::Value JitForward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& module = unwrapModule(env, info[0]);
    auto args = info[1].As<Napi::Array>();
    std::vector<c10::IValue> inputs;
    for (uint32_t i = 0; i < args.Length(); ++i) inputs.push_back(toIValueAny(env, args.Get(i)));
    return fromIValue(env, module.forward(std::move(inputs)));
  });
}

// jitSetTraining(module, training)
Napi::Value JitSetTraining(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    unwrapModule(env, info[0]).train(info[1].ToBoolean().Value());
    return env.Undefined();
  });
}

// jitParameters(module) -> [[name, tensor], ...]
Napi::Value JitParameters(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& module = unwrapModule(env, info[0]);
    auto out = Napi::Array::New(env);
    uint32_t i = 0;
    for (const auto& p : module.named_parameters(true)) {
      auto pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, p.name));
      pair.Set(1u, wrapTensor(env, p.value));
      out.Set(i++, pair);
    }
    return out;
  });
}

}  // namespace gcrl
