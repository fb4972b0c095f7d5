// Tensor handles: a JS External that owns one at::Tensor reference.
// dispose() drops the reference at once; the finalizer frees the box (and the tensor, if the
// JS side forgot to dispose it). V8 is told about the bytes a handle keeps alive.
#pragma once

#include <napi.h>
#include <torch/torch.h>

namespace gcrl {

struct TensorBox {
  at::Tensor tensor;
  int64_t reportedBytes = 0;  // bytes reported to V8 through AdjustExternalMemory
};

// Wraps a tensor in a new handle (an undefined tensor becomes null).
Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor);

// The live tensor behind a handle; throws a JS TypeError for non-handles and disposed handles.
at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& value, const char* what = "tensor");

bool isTensorHandle(Napi::Env env, const Napi::Value& value);

// Drops the tensor reference now (idempotent).
void disposeBox(Napi::Env env, TensorBox* box);

TensorBox* unwrapBox(Napi::Env env, const Napi::Value& value);

}  // namespace gcrl
