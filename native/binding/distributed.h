// c10d bindings (distributed.cc): TCPStore, ProcessGroupGloo and its collectives.
#pragma once

#include <napi.h>

namespace gcrl {

Napi::Value DistributedAvailable(const Napi::CallbackInfo& info);
Napi::Value StoreCreate(const Napi::CallbackInfo& info);
Napi::Value StorePort(const Napi::CallbackInfo& info);
Napi::Value StoreSet(const Napi::CallbackInfo& info);
Napi::Value StoreGet(const Napi::CallbackInfo& info);
Napi::Value StoreAdd(const Napi::CallbackInfo& info);
Napi::Value StoreCheck(const Napi::CallbackInfo& info);
Napi::Value StoreClose(const Napi::CallbackInfo& info);
Napi::Value GroupCreate(const Napi::CallbackInfo& info);
Napi::Value GroupDestroy(const Napi::CallbackInfo& info);
Napi::Value AllReduce(const Napi::CallbackInfo& info);
Napi::Value Broadcast(const Napi::CallbackInfo& info);
Napi::Value AllGather(const Napi::CallbackInfo& info);
Napi::Value Barrier(const Napi::CallbackInfo& info);

}  // namespace gcrl
