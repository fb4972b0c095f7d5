// Error translation: every native entry point runs inside guarded(), which turns libtorch's
// c10::Error (and any other C++ exception) into a JS Error carrying libtorch's message without
// the C++ backtrace. Nothing may escape as a C++ exception: that would abort the process.
#pragma once

#include <napi.h>
#include <torch/torch.h>

namespace gcrl {

template <typename F>
Napi::Value guarded(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  } catch (...) {
    throw Napi::Error::New(env, "unknown native error");
  }
}

}  // namespace gcrl
