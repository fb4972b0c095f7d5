// c10d: a TCPStore (master or client) and a gloo process group over it, with the collectives
// data-parallel training needs (all-reduce, broadcast, all-gather, barrier). Thin on purpose:
// src/torch/distributed.ts validates arguments, chooses the gloo device and words the errors.
//
// Every call blocks the calling (JS) thread until the operation finishes or `timeoutMs` passes;
// a timeout, a peer that closed its socket or one that never arrived surfaces as a c10::Error /
// gloo exception, which guarded() turns into a JS Error. Nothing waits without a bound.
//
// The Debian libtorch (1.13) ships c10d's headers but ProcessGroupGloo.hpp includes gloo's
// (package libgloo-dev); without them this file builds a binding whose distributed calls throw.
#if __has_include(<gloo/algorithm.h>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#define GCRL_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#else
#define GCRL_HAVE_GLOO 0
#endif

#include "distributed.h"

#include <chrono>

#include "handle.h"
#include "util.h"

namespace gcrl {

#if GCRL_HAVE_GLOO
namespace {
const napi_type_tag kStoreTag = {0x6763726c73746f72ULL, 0x6530303130303031ULL};
const napi_type_tag kGroupTag = {0x6763726c70677270ULL, 0x6730303130303031ULL};

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
};
struct GroupBox {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

template <typename Box>
Box* unwrapTagged(Napi::Env env, const Napi::Value& v, const napi_type_tag& tag, const char* what) {
  bool tagged = false;
  if (v.IsExternal()) napi_check_object_type_tag(env, v, &tag, &tagged);
  if (!tagged) throw Napi::TypeError::New(env, std::string("expected a ") + what + " handle");
  return v.As<Napi::External<Box>>().Data();
}

c10d::Store& unwrapStore(Napi::Env env, const Napi::Value& v) {
  auto* box = unwrapTagged<StoreBox>(env, v, kStoreTag, "store");
  if (!box->store) throw Napi::Error::New(env, "the store was closed");
  return *box->store;
}

c10d::ProcessGroupGloo& unwrapGroup(Napi::Env env, const Napi::Value& v) {
  auto* box = unwrapTagged<GroupBox>(env, v, kGroupTag, "process group");
  if (!box->group) throw Napi::Error::New(env, "the process group was destroyed");
  return *box->group;
}

std::chrono::milliseconds millis(const Napi::Value& v) {
  return std::chrono::milliseconds(v.As<Napi::Number>().Int64Value());
}

std::vector<at::Tensor> tensorList(Napi::Env env, const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(unwrapTensor(env, arr.Get(i)));
  return out;
}

// Waits for a work item; Work::wait(timeout) throws on timeout and rethrows the work's error.
void finish(const c10::intrusive_ptr<c10d::Work>& work, std::chrono::milliseconds timeout) {
  work->wait(timeout);
}

std::vector<std::string> keyList(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<std::string> keys(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) keys[i] = arr.Get(i).As<Napi::String>().Utf8Value();
  return keys;
}
}  // namespace

// storeCreate(host, port, isMaster, worldSize, timeoutMs) -> store handle. The master listens on
// `port` (0: any free port, see storePort); nobody waits for the others here (waitWorkers off):
// src/torch/distributed.ts checks who joined, so that it can name a missing rank.
Napi::Value StoreCreate(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(info[1].As<Napi::Number>().Uint32Value());
    opts.isServer = info[2].ToBoolean().Value();
    opts.numWorkers = static_cast<std::size_t>(info[3].As<Napi::Number>().Int64Value());
    opts.waitWorkers = false;
    opts.timeout = millis(info[4]);
    auto* box = new StoreBox{c10::make_intrusive<c10d::TCPStore>(info[0].As<Napi::String>().Utf8Value(), opts)};
    auto ext = Napi::External<StoreBox>::New(env, box, [](Napi::Env, StoreBox* b) { delete b; });
    napi_type_tag_object(env, ext, &kStoreTag);
    return ext;
  });
}

// storePort(store) -> the port the store's master listens on / the client connected to.
Napi::Value StorePort(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& store = unwrapStore(env, info[0]);
    return Napi::Number::New(env, static_cast<c10d::TCPStore&>(store).getPort());
  });
}

// storeSet(store, key, value: string)
Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    std::string value = info[2].As<Napi::String>().Utf8Value();
    unwrapStore(env, info[0]).set(info[1].As<Napi::String>().Utf8Value(), std::vector<uint8_t>(value.begin(), value.end()));
    return env.Undefined();
  });
}

// storeGet(store, key, timeoutMs) -> string (waits for the key up to the timeout)
Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& store = unwrapStore(env, info[0]);
    std::string key = info[1].As<Napi::String>().Utf8Value();
    store.wait({key}, millis(info[2]));
    auto bytes = store.get(key);
    return Napi::String::New(env, std::string(bytes.begin(), bytes.end()));
  });
}

// storeAdd(store, key, delta) -> the counter's new value
Napi::Value StoreAdd(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto n = unwrapStore(env, info[0]).add(info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().Int64Value());
    return Napi::Number::New(env, static_cast<double>(n));
  });
}

// storeCheck(store, keys[]) -> whether every key is set (does not wait)
Napi::Value StoreCheck(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    return Napi::Boolean::New(env, unwrapStore(env, info[0]).check(keyList(info[1])));
  });
}

// storeClose(store): drops this handle's reference (the master stops serving when the last goes).
Napi::Value StoreClose(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    unwrapTagged<StoreBox>(env, info[0], kStoreTag, "store")->store.reset();
    return env.Undefined();
  });
}

// groupCreate(store, rank, worldSize, timeoutMs, device: {hostname} | {interface} | {}) -> group
// handle. Gloo's rendezvous exchanges addresses through the store; it waits up to the timeout.
Napi::Value GroupCreate(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto* storeBox = unwrapTagged<StoreBox>(env, info[0], kStoreTag, "store");
    if (!storeBox->store) throw Napi::Error::New(env, "the store was closed");
    int rank = info[1].As<Napi::Number>().Int32Value();
    int size = info[2].As<Napi::Number>().Int32Value();
    auto options = c10d::ProcessGroupGloo::Options::create(millis(info[3]));
    auto device = info[4].As<Napi::Object>();
    if (device.Has("hostname")) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(device.Get("hostname").As<Napi::String>().Utf8Value()));
    } else if (device.Has("interface")) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(device.Get("interface").As<Napi::String>().Utf8Value()));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    auto* box = new GroupBox{c10::make_intrusive<c10d::ProcessGroupGloo>(storeBox->store, rank, size, options)};
    auto ext = Napi::External<GroupBox>::New(env, box, [](Napi::Env, GroupBox* b) { delete b; });
    napi_type_tag_object(env, ext, &kGroupTag);
    return ext;
  });
}

// groupDestroy(group): drops the group (its worker threads finish the queued work first).
Napi::Value GroupDestroy(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    unwrapTagged<GroupBox>(env, info[0], kGroupTag, "process group")->group.reset();
    return env.Undefined();
  });
}

// allReduce(group, tensors[], op, timeoutMs): each tensor reduced (c10d::ReduceOp code: 0 sum, 2 product, 3 min, 4 max)
// over the ranks, in place. One work item per tensor, all queued before the first wait.
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& group = unwrapGroup(env, info[0]);
    auto tensors = tensorList(env, info[1]);
    int op = info[2].As<Napi::Number>().Int32Value();
    auto timeout = millis(info[3]);
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp(static_cast<c10d::ReduceOp::RedOpType>(op));
    opts.timeout = timeout;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      works.push_back(group.allreduce(one, opts));
    }
    for (auto& w : works) finish(w, timeout);
    return env.Undefined();
  });
}

// broadcast(group, tensors[], root, timeoutMs): every tensor takes rank `root`'s values, in place.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& group = unwrapGroup(env, info[0]);
    auto tensors = tensorList(env, info[1]);
    auto timeout = millis(info[3]);
    c10d::BroadcastOptions opts;
    opts.rootRank = info[2].As<Napi::Number>().Int64Value();
    opts.timeout = timeout;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      works.push_back(group.broadcast(one, opts));
    }
    for (auto& w : works) finish(w, timeout);
    return env.Undefined();
  });
}

// allGather(group, tensor, timeoutMs) -> handles[worldSize]: every rank's tensor (same shape), in rank order.
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& group = unwrapGroup(env, info[0]);
    at::Tensor input = unwrapTensor(env, info[1]).detach().contiguous();
    auto timeout = millis(info[2]);
    std::vector<at::Tensor> inputs{input};
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < group.getSize(); ++r) outputs[0].push_back(at::empty_like(input));
    c10d::AllgatherOptions opts;
    opts.timeout = timeout;
    finish(group.allgather(outputs, inputs, opts), timeout);
    auto arr = Napi::Array::New(env, outputs[0].size());
    for (size_t r = 0; r < outputs[0].size(); ++r) arr.Set(static_cast<uint32_t>(r), wrapTensor(env, outputs[0][r]));
    return arr;
  });
}

// barrier(group, timeoutMs)
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto& group = unwrapGroup(env, info[0]);
    auto timeout = millis(info[1]);
    c10d::BarrierOptions opts;
    opts.timeout = timeout;
    finish(group.barrier(opts), timeout);
    return env.Undefined();
  });
}

Napi::Value DistributedAvailable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), true); }

#else  // no gloo headers at build time

namespace {
Napi::Value unavailable(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(),
                         "this binding was built without gloo's headers (Debian: apt-get install libgloo-dev, then "
                         "node scripts/build-native.mjs --force)");
}
}  // namespace
Napi::Value StoreCreate(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value StorePort(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value StoreSet(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value StoreGet(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value StoreAdd(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value StoreCheck(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value StoreClose(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value GroupCreate(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value GroupDestroy(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value AllReduce(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value Broadcast(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value AllGather(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value Barrier(const Napi::CallbackInfo& info) { return unavailable(info); }
Napi::Value DistributedAvailable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), false); }

#endif

}  // namespace gcrl
