// TorchScript modules: load a scripted/traced file and call its forward().
#include <torch/script.h>

#include "jit.h"

#include "handle.h"
#include "ops.h"
#include "util.h"

namespace gcrl {

namespace {
const napi_type_tag kModuleTag = {0x6763726c6a69746dULL, 0x6f64756c65303031ULL};

// The External owns a box so that dispose() can free the module before V8 collects the handle.
struct ModuleBox {
  std::unique_ptr<torch::jit::Module> module;
};

torch::jit::Module& unwrapModule(Napi::Env env, const Napi::Value& v) {
  bool tagged = false;
  if (v.IsExternal()) napi_check_object_type_tag(env, v, &kModuleTag, &tagged);
  if (!tagged) throw Napi::TypeError::New(env, "expected a TorchScript module handle");
  auto* box = v.As<Napi::External<ModuleBox>>().Data();
  if (!box->module) throw Napi::Error::New(env, "the TorchScript module was disposed");
  return *box->module;
}
}  // namespace

// jitLoad(path, device?) -> module handle (in eval mode)
Napi::Value JitLoad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    std::string path = info[0].As<Napi::String>().Utf8Value();
    c10::optional<c10::Device> device;
    if (info.Length() > 1 && info[1].IsString()) device = c10::Device(info[1].As<Napi::String>().Utf8Value());
    auto* box = new ModuleBox{std::make_unique<torch::jit::Module>(torch::jit::load(path, device))};
    box->module->eval();
    auto ext = Napi::External<ModuleBox>::New(env, box, [](Napi::Env, ModuleBox* b) { delete b; });
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
    // Convert guided by forward's schema (argument 0 is self), so ints, floats, lists and tuples
    // arrive as the types the script declares; missing trailing arguments take their defaults.
    auto method = module.get_method("forward");
    const auto& params = method.function().getSchema().arguments();
    size_t expected = params.empty() ? 0 : params.size() - 1;
    if (args.Length() > expected)
      throw Napi::TypeError::New(env, "forward takes " + std::to_string(expected) + " argument(s), got " +
                                          std::to_string(args.Length()));
    std::vector<c10::IValue> inputs;
    for (size_t i = 1; i < params.size(); ++i) {
      uint32_t j = static_cast<uint32_t>(i - 1);
      if (j >= args.Length() || args.Get(j).IsUndefined()) {
        if (params[i].default_value().has_value()) {
          inputs.push_back(*params[i].default_value());
          continue;
        }
        throw Napi::TypeError::New(env, "forward: missing argument '" + params[i].name() + "'");
      }
      inputs.push_back(toIValue(env, args.Get(j), params[i].type(), params[i].name()));
    }
    return fromIValue(env, method(std::move(inputs)));
  });
}

// jitDispose(module): frees the module now (idempotent).
Napi::Value JitDispose(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  bool tagged = false;
  if (info[0].IsExternal()) napi_check_object_type_tag(env, info[0], &kModuleTag, &tagged);
  if (!tagged) throw Napi::TypeError::New(env, "expected a TorchScript module handle");
  info[0].As<Napi::External<ModuleBox>>().Data()->module.reset();
  return env.Undefined();
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
