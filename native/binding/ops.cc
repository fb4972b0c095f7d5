// Generic operator calls through libtorch's dispatcher.
//
// TypeScript resolves an operator once by name and overload (`resolve("aten::add", "Tensor")`) and
// then calls it with positional arguments (`call(id, [a, b, 1])`). Arguments are converted from JS
// values guided by the operator's schema; trailing arguments left out take the schema's defaults.
// Calls go through the full dispatcher, autograd included, so every ATen operator is reachable
// without a hand-written wrapper here.
#include "ops.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include "handle.h"
#include "util.h"

namespace gcrl {

namespace {

std::vector<c10::OperatorHandle>& registry() {
  static std::vector<c10::OperatorHandle> ops;
  return ops;
}

[[noreturn]] void badArg(Napi::Env env, const std::string& arg, const std::string& expected) {
  throw Napi::TypeError::New(env, "argument '" + arg + "': expected " + expected);
}

int64_t toInt(Napi::Env env, const Napi::Value& v, const std::string& arg) {
  if (v.IsBigInt()) {
    bool lossless = false;
    int64_t r = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) badArg(env, arg, "a 64-bit integer");
    return r;
  }
  if (!v.IsNumber()) badArg(env, arg, "an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == static_cast<double>(static_cast<int64_t>(d)))) badArg(env, arg, "an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

double toDouble(Napi::Env env, const Napi::Value& v, const std::string& arg) {
  if (!v.IsNumber()) badArg(env, arg, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

c10::IValue toList(Napi::Env env, const Napi::Value& v, const c10::TypePtr& elem, const std::string& arg) {
  // A lone number stands for a one-element int/float list (as Python allows for int[2] etc.).
  if (v.IsNumber() || v.IsBigInt()) {
    if (elem->kind() == c10::TypeKind::IntType || elem->kind() == c10::TypeKind::SymIntType)
      return c10::IValue(c10::List<int64_t>({toInt(env, v, arg)}));
    if (elem->kind() == c10::TypeKind::FloatType) return c10::IValue(c10::List<double>({toDouble(env, v, arg)}));
  }
  if (!v.IsArray()) badArg(env, arg, "an array");
  auto arr = v.As<Napi::Array>();
  uint32_t n = arr.Length();
  switch (elem->kind()) {
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: {
      c10::List<int64_t> list;
      list.reserve(n);
      for (uint32_t i = 0; i < n; ++i) list.push_back(toInt(env, arr.Get(i), arg + "[" + std::to_string(i) + "]"));
      return c10::IValue(std::move(list));
    }
    case c10::TypeKind::FloatType: {
      c10::List<double> list;
      list.reserve(n);
      for (uint32_t i = 0; i < n; ++i) list.push_back(toDouble(env, arr.Get(i), arg));
      return c10::IValue(std::move(list));
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> list;
      for (uint32_t i = 0; i < n; ++i) {
        auto e = arr.Get(i);
        if (!e.IsBoolean()) badArg(env, arg, "an array of booleans");
        list.push_back(e.As<Napi::Boolean>().Value());
      }
      return c10::IValue(std::move(list));
    }
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> list;
      list.reserve(n);
      for (uint32_t i = 0; i < n; ++i) list.push_back(unwrapTensor(env, arr.Get(i), arg.c_str()));
      return c10::IValue(std::move(list));
    }
    case c10::TypeKind::OptionalType: {
      auto inner = elem->castRaw<c10::OptionalType>()->getElementType();
      if (inner->kind() == c10::TypeKind::TensorType) {
        c10::List<c10::optional<at::Tensor>> list;
        for (uint32_t i = 0; i < n; ++i) {
          auto e = arr.Get(i);
          if (e.IsNull() || e.IsUndefined()) list.push_back(c10::nullopt);
          else list.push_back(unwrapTensor(env, e, arg.c_str()));
        }
        return c10::IValue(std::move(list));
      }
      break;
    }
    default:
      break;
  }
  throw Napi::TypeError::New(env, "argument '" + arg + "': unsupported list type " + elem->str());
}

}  // namespace

c10::IValue toIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const std::string& arg) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return toIValue(env, v, type->castRaw<c10::OptionalType>()->getElementType(), arg);
    case c10::TypeKind::TensorType:
      return c10::IValue(unwrapTensor(env, v, arg.c_str()));
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType:
      return c10::IValue(toInt(env, v, arg));
    case c10::TypeKind::FloatType:
      return c10::IValue(toDouble(env, v, arg));
    case c10::TypeKind::BoolType:
      if (!v.IsBoolean()) badArg(env, arg, "a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case c10::TypeKind::NumberType:  // Scalar: integers stay integers, as in Python
      if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
      if (v.IsBigInt()) return c10::IValue(toInt(env, v, arg));
      if (v.IsNumber()) {
        double d = v.As<Napi::Number>().DoubleValue();
        if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e15) return c10::IValue(static_cast<int64_t>(d));
        return c10::IValue(d);
      }
      badArg(env, arg, "a number or boolean");
    case c10::TypeKind::StringType:
      if (!v.IsString()) badArg(env, arg, "a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case c10::TypeKind::DeviceObjType:
      if (!v.IsString()) badArg(env, arg, "a device string such as 'cpu' or 'cuda:0'");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case c10::TypeKind::ListType:
      return toList(env, v, type->castRaw<c10::ListType>()->getElementType(), arg);
    case c10::TypeKind::GeneratorType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      badArg(env, arg, "null (custom generators are not supported)");
    case c10::TypeKind::TupleType: {
      const auto& elems = type->castRaw<c10::TupleType>()->elements();
      if (!v.IsArray() || v.As<Napi::Array>().Length() != elems.size())
        badArg(env, arg, "an array of " + std::to_string(elems.size()) + " values (a tuple)");
      auto arr = v.As<Napi::Array>();
      std::vector<c10::IValue> out;
      for (uint32_t i = 0; i < elems.size(); ++i) out.push_back(toIValue(env, arr.Get(i), elems[i], arg));
      return c10::ivalue::Tuple::create(std::move(out));
    }
    case c10::TypeKind::AnyType:
      return toIValueAny(env, v);
    default:
      throw Napi::TypeError::New(env, "argument '" + arg + "': unsupported type " + type->str());
  }
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isNone()) return env.Null();
  if (v.isTensor()) return wrapTensor(env, v.toTensor());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isDevice()) return Napi::String::New(env, v.toDevice().str());
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    auto arr = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); ++i) arr.Set(static_cast<uint32_t>(i), fromIValue(env, elems[i]));
    return arr;
  }
  if (v.isGenericDict()) {
    auto obj = Napi::Object::New(env);
    for (const auto& entry : v.toGenericDict()) {
      const auto& key = entry.key();
      std::string name = key.isString() ? key.toStringRef() : key.isInt() ? std::to_string(key.toInt()) : key.tagKind();
      obj.Set(name, fromIValue(env, entry.value()));
    }
    return obj;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    auto arr = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) arr.Set(static_cast<uint32_t>(i), fromIValue(env, list[i]));
    return arr;
  }
  throw Napi::TypeError::New(env, "unsupported return value of type " + v.tagKind());
}

c10::IValue toIValueAny(Napi::Env env, const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return c10::IValue();
  if (isTensorHandle(env, v)) return c10::IValue(unwrapTensor(env, v));
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e15) return c10::IValue(static_cast<int64_t>(d));
    return c10::IValue(d);
  }
  if (v.IsString()) return c10::IValue(v.As<Napi::String>().Utf8Value());
  if (v.IsArray()) {
    auto arr = v.As<Napi::Array>();
    std::vector<c10::IValue> elems;
    bool allTensors = true;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      elems.push_back(toIValueAny(env, arr.Get(i)));
      allTensors = allTensors && elems.back().isTensor();
    }
    if (allTensors && !elems.empty()) {
      c10::List<at::Tensor> list;
      for (auto& e : elems) list.push_back(e.toTensor());
      return c10::IValue(std::move(list));
    }
    return c10::ivalue::Tuple::create(std::move(elems));
  }
  throw Napi::TypeError::New(env, "unsupported value for a TorchScript argument");
}

// resolve(name, overload) -> operator id
Napi::Value Resolve(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string overload = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto op = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!op.has_value()) {
      throw Napi::Error::New(env, "unknown operator " + name + (overload.empty() ? "" : "." + overload));
    }
    registry().push_back(*op);
    return Napi::Number::New(env, static_cast<double>(registry().size() - 1));
  });
}

// schema(id) -> the operator's schema as text (for messages and tests)
Napi::Value Schema(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto id = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
  if (id >= registry().size()) throw Napi::RangeError::New(env, "unknown operator id");
  std::ostringstream s;
  s << registry()[id].schema();
  return Napi::String::New(env, s.str());
}

// call(id, args[], discardResult?) -> result(s)
Napi::Value Call(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto env = info.Env();
    auto id = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
    if (id >= registry().size()) throw Napi::RangeError::New(env, "unknown operator id");
    const auto& op = registry()[id];
    const auto& schema = op.schema();
    const auto& params = schema.arguments();
    auto args = info[1].As<Napi::Array>();
    uint32_t given = args.Length();
    if (given > params.size())
      throw Napi::TypeError::New(env, "too many arguments: " + std::to_string(given) + " given, schema takes " +
                                          std::to_string(params.size()));
    torch::jit::Stack stack;
    stack.reserve(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      Napi::Value v = i < given ? args.Get(static_cast<uint32_t>(i)) : env.Undefined();
      if (v.IsUndefined()) {
        if (params[i].default_value().has_value()) {
          stack.push_back(*params[i].default_value());
          continue;
        }
        if (params[i].type()->kind() != c10::TypeKind::OptionalType)
          throw Napi::TypeError::New(env, "missing argument '" + params[i].name() + "'");
      }
      stack.push_back(toIValue(env, v, params[i].type(), params[i].name()));
    }
    op.callBoxed(&stack);
    bool discard = info.Length() > 2 && info[2].ToBoolean().Value();
    if (discard || stack.empty()) return env.Undefined();
    if (stack.size() == 1) return fromIValue(env, stack[0]);
    auto arr = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); ++i) arr.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
    return arr;
  });
}

}  // namespace gcrl
