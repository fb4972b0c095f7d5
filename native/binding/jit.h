#pragma once

#include <napi.h>

namespace gcrl {

Napi::Value JitLoad(const Napi::CallbackInfo& info);
Napi::Value JitForward(const Napi::CallbackInfo& info);
Napi::Value JitSetTraining(const Napi::CallbackInfo& info);
Napi::Value JitParameters(const Napi::CallbackInfo& info);
Napi::Value JitDispose(const Napi::CallbackInfo& info);

}  // namespace gcrl
