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

void adjustMemory(node_api_basic_env env, int64_t delta) {
  int64_t total = 0;
  napi_adjust_external_memory(env, delta, &total);
}

void releaseBox(node_api_basic_env env, TensorBox* box) {
  if (box->reportedBytes > 0) adjustMemory(env, -box->reportedBytes);
  box->reportedBytes = 0;
  box->tensor = at::Tensor();
}

// A "basic" finalizer: it touches no JS state, so Node runs it synchronously during GC. (A
// finalizer that may call into JS is deferred to the event loop, and a training loop that never
// yields would then keep every handle box it ever made.)
void finalizeBox(node_api_basic_env env, void* data, void* /*hint*/) {
  auto* box = static_cast<TensorBox*>(data);
  releaseBox(env, box);
  delete box;
}
}  // namespace

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{std::move(tensor), 0};
  box->reportedBytes = ownedBytes(box->tensor);
  if (box->reportedBytes > 0) adjustMemory(env, box->reportedBytes);
  napi_value external = nullptr;
  if (napi_create_external(env, box, finalizeBox, nullptr, &external) != napi_ok) {
    delete box;
    throw Napi::Error::New(env, "could not create a tensor handle");
  }
  napi_type_tag_object(env, external, &kTensorTag);
  return Napi::Value(env, external);
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

void disposeBox(Napi::Env env, TensorBox* box) { releaseBox(env, box); }

}  // namespace gcrl
