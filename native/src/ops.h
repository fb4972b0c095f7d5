#pragma once

#include <napi.h>
#include <torch/torch.h>

namespace gcrl {

Napi::Value Resolve(const Napi::CallbackInfo& info);
Napi::Value Schema(const Napi::CallbackInfo& info);
Napi::Value Call(const Napi::CallbackInfo& info);

// IValue <-> JS conversions shared with the TorchScript module calls.
Napi::Value fromIValue(Napi::Env env, const c10::IValue& v);
c10::IValue toIValueAny(Napi::Env env, const Napi::Value& v);

}  // namespace gcrl
