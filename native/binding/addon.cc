// Module entry: registers the native functions that src/torch/native.ts declares.
#include <napi.h>

#include "distributed.h"
#include "jit.h"
#include "ops.h"
#include "tensor.h"

namespace gcrl {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, f, name));
  };
  fn("resolve", Resolve);
  fn("schema", Schema);
  fn("call", Call);
  fn("fromBytes", FromBytes);
  fn("toBytes", ToBytes);
  fn("sharedBytes", SharedBytes);
  fn("dispose", Dispose);
  fn("isDisposed", IsDisposed);
  fn("meta", Meta);
  fn("shape", Shape);
  fn("dtype", Dtype);
  fn("setRequiresGrad", SetRequiresGrad);
  fn("isLeaf", IsLeaf);
  fn("grad", Grad);
  fn("setGrad", SetGrad);
  fn("retainGrad", RetainGrad);
  fn("backward", Backward);
  fn("setGradEnabled", SetGradEnabled);
  fn("isGradEnabled", IsGradEnabled);
  fn("manualSeed", ManualSeed);
  fn("getRngState", GetRngState);
  fn("setRngState", SetRngState);
  fn("setNumThreads", SetNumThreads);
  fn("getNumThreads", GetNumThreads);
  fn("cudaAvailable", CudaAvailable);
  fn("cudaDeviceCount", CudaDeviceCount);
  fn("cudaSynchronize", CudaSynchronize);
  fn("buildInfo", BuildInfo);
  fn("jitLoad", JitLoad);
  fn("jitForward", JitForward);
  fn("jitSetTraining", JitSetTraining);
  fn("jitParameters", JitParameters);
  fn("jitDispose", JitDispose);
  fn("distributedAvailable", DistributedAvailable);
  fn("storeCreate", StoreCreate);
  fn("storePort", StorePort);
  fn("storeSet", StoreSet);
  fn("storeGet", StoreGet);
  fn("storeAdd", StoreAdd);
  fn("storeCheck", StoreCheck);
  fn("storeClose", StoreClose);
  fn("groupCreate", GroupCreate);
  fn("groupDestroy", GroupDestroy);
  fn("allReduce", AllReduce);
  fn("broadcast", Broadcast);
  fn("allGather", AllGather);
  fn("barrier", Barrier);
  return exports;
}
}  // namespace gcrl

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return gcrl::Init(env, exports); }

NODE_API_MODULE(gcrl_native, InitModule)
