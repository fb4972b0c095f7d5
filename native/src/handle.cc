#include "handle.h"

namespace gcrl {

namespace {
// Tags our externals so a foreign External can never be mistaken for a tensor.
const napi_type_tag kTensorTag = {0x6763726c74656e73ULL, 0x6f72686e646c3031ULL};

int64_t ownedBytes(const at::Tensor& t) {
  // Views share their base's storage: only the tensor that is not a view reports it.
  if (!t.defined() || t.is_view() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}
}  // namespace

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{std::move(tensor), 0};
  box->reportedBytes = ownedBytes(box->tensor);
  if (box->reportedBytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->reportedBytes);
  auto external = Napi::External<TensorBox>::New(env, box, [](Napi::Env env, TensorBox* b) {
    disposeBox(env, b);
    delete b;
  });
  napi_type_tag_object(env, external, &kTensorTag);
  return external;
}

bool isTensorHandle(Napi::Env env, const Napi::Value& value) {
  if (!value.IsExternal()) return false;
  bool tagged = false;
  napi_check_object_type_tag(env, value, &kTensorTag, &tagged);
  return tagged;
}

TensorBox* unwrapBox(Napi::Env env, const Napi::Value& value) {
  if (!isTensorHandle(env, value)) throw Napi::TypeError::New(env, "expected a tensor handle");
  return value.As<Napi::External<TensorBox>>().Data();
}

at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!isTensorHandle(env, value))
    throw Napi::TypeError::New(env, std::string("expected a tensor for ") + what);
  TensorBox* box = value.As<Napi::External<TensorBox>>().Data();
  if (!box->tensor.defined())
    throw Napi::Error::New(env, std::string("tensor for ") + what + " was disposed");
  return box->tensor;
}

void disposeBox(Napi::Env env, TensorBox* box) {
  if (box->reportedBytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -box->reportedBytes);
  box->reportedBytes = 0;
  box->tensor = at::Tensor();
}

}  // namespace gcrl
