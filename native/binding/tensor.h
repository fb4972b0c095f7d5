#pragma once

#include <napi.h>

namespace gcrl {

Napi::Value FromBytes(const Napi::CallbackInfo& info);
Napi::Value ToBytes(const Napi::CallbackInfo& info);
Napi::Value SharedBytes(const Napi::CallbackInfo& info);
Napi::Value Dispose(const Napi::CallbackInfo& info);
Napi::Value IsDisposed(const Napi::CallbackInfo& info);
Napi::Value Meta(const Napi::CallbackInfo& info);
Napi::Value Shape(const Napi::CallbackInfo& info);
Napi::Value Dtype(const Napi::CallbackInfo& info);
Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info);
Napi::Value IsLeaf(const Napi::CallbackInfo& info);
Napi::Value Grad(const Napi::CallbackInfo& info);
Napi::Value SetGrad(const Napi::CallbackInfo& info);
Napi::Value RetainGrad(const Napi::CallbackInfo& info);
Napi::Value Backward(const Napi::CallbackInfo& info);
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info);
Napi::Value IsGradEnabled(const Napi::CallbackInfo& info);
Napi::Value ManualSeed(const Napi::CallbackInfo& info);
Napi::Value GetRngState(const Napi::CallbackInfo& info);
Napi::Value SetRngState(const Napi::CallbackInfo& info);
Napi::Value SetNumThreads(const Napi::CallbackInfo& info);
Napi::Value GetNumThreads(const Napi::CallbackInfo& info);
Napi::Value CudaAvailable(const Napi::CallbackInfo& info);
Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info);
Napi::Value CudaSynchronize(const Napi::CallbackInfo& info);
Napi::Value BuildInfo(const Napi::CallbackInfo& info);

}  // namespace gcrl
