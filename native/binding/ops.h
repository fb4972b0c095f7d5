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
// JS value -> IValue of a schema type (throws a JS TypeError naming `arg` on mismatch).
c10::IValue toIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const std::string& arg);

}  // namespace gcrl
