// Reading a Node-API call's arguments with checks (addon.cc): typed arrays in place (napi_get_typedarray_info: the
// data pointer already includes the array's byteOffset), numbers, booleans, strings and geometry; a bad argument
// throws ArgError, which addon.cc's wrapper turns into a TypeError / RangeError naming the export and the argument.
#pragma once
#define NAPI_VERSION 8
#include <node_api.h>
#include <cstdint>
#include <string>
#include "kernels.h"

namespace ck {

struct ArgError {
  bool range;  // RangeError, else TypeError (or Error when plain)
  std::string message;
  bool plain = false;
};

// One call's arguments, read with checks.
class Call {
 public:
  // The export's name comes as the function's data (CK_EXPORT), for messages.
  Call(napi_env env, napi_callback_info info) : env_(env) {
    argc_ = kMaxArgs;
    void* data = nullptr;
    napi_get_cb_info(env, info, &argc_, argv_, nullptr, &data);
    kernel_ = data ? static_cast<const char*>(data) : "?";
  }

  napi_env env() const { return env_; }

  bool isNull(size_t i) const {
    napi_valuetype t = napi_undefined;
    if (i < argc_) napi_typeof(env_, argv_[i], &t);
    return t == napi_null || t == napi_undefined;
  }

  // A Float32Array of at least minLength elements (or null when nullable and the argument is null).
  float* f32(size_t i, const char* name, int64_t minLength, bool nullable = false) {
    return static_cast<float*>(typed(i, name, napi_float32_array, "Float32Array", minLength, nullable));
  }
  int32_t* i32(size_t i, const char* name, int64_t minLength, bool nullable = false) {
    return static_cast<int32_t*>(typed(i, name, napi_int32_array, "Int32Array", minLength, nullable));
  }
  int64_t lengthOf(size_t i, const char* name) {
    int64_t length = 0;
    typed(i, name, napi_float32_array, "Float32Array", 0, false, &length);
    return length;
  }

  double number(size_t i, const char* name) {
    double v = 0;
    if (i >= argc_ || napi_get_value_double(env_, argv_[i], &v) != napi_ok) fail(false, std::string(name) + " must be a number");
    return v;
  }
  // A whole number in [min, 2^53).
  int64_t integer(size_t i, const char* name, int64_t min = 0) {
    const double v = number(i, name);
    if (!(v >= static_cast<double>(min)) || v != static_cast<double>(static_cast<int64_t>(v)) || v > 9007199254740991.0) {
      fail(true, std::string(name) + " must be a whole number >= " + std::to_string(min) + ", got " + std::to_string(v));
    }
    return static_cast<int64_t>(v);
  }
  std::string string(size_t i, const char* name) {
    char buffer[64];
    size_t length = 0;
    if (i >= argc_ || napi_get_value_string_utf8(env_, argv_[i], buffer, sizeof buffer, &length) != napi_ok) {
      fail(false, std::string(name) + " must be a string");
    }
    return std::string(buffer, length);
  }
  bool boolean(size_t i, const char* name) {
    bool v = false;
    if (i >= argc_ || napi_get_value_bool(env_, argv_[i], &v) != napi_ok) fail(false, std::string(name) + " must be a boolean");
    return v;
  }

  ck::ConvGeom conv(size_t i) {
    const int32_t* g = i32(i, "geometry", 16);
    ck::ConvGeom c{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]};
    const bool ok = c.n >= 0 && c.cIn > 0 && c.h > 0 && c.w > 0 && c.cOut > 0 && c.kh > 0 && c.kw > 0 && c.strideH > 0 &&
                    c.strideW > 0 && c.padH >= 0 && c.padW >= 0 && c.dilationH > 0 && c.dilationW > 0 && c.groups > 0 &&
                    c.cIn % c.groups == 0 && c.cOut % c.groups == 0 && c.outH >= 0 && c.outW >= 0;
    if (!ok) fail(true, "invalid convolution geometry " + list(g, 16) +
                        " (n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, outH, outW)");
    return c;
  }
  // window: check the window too (maxPool2dBackward reads only the sizes; adaptive pooling passes no window).
  ck::PoolGeom pool(size_t i, bool window = true) {
    const int32_t* g = i32(i, "geometry", 14);
    ck::PoolGeom p{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13]};
    const bool ok = p.n >= 0 && p.c >= 0 && p.h > 0 && p.w > 0 && p.outH >= 0 && p.outW >= 0 &&
                    (!window || (p.kh > 0 && p.kw > 0 && p.strideH > 0 && p.strideW > 0 && p.padH >= 0 && p.padW >= 0 &&
                                 p.dilationH > 0 && p.dilationW > 0));
    if (!ok) fail(true, "invalid pooling geometry " + list(g, 14) +
                        " (n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW)");
    return p;
  }

  [[noreturn]] void fail(bool range, const std::string& message) const {
    throw ArgError{range, std::string("native backend: ") + kernel_ + ": " + message};
  }
  // An error that is not about one argument (an ISA level the CPU lacks): a plain Error.
  [[noreturn]] void failPlain(const std::string& message) const {
    throw ArgError{false, std::string("native backend: ") + message, true};
  }

 private:
  static std::string list(const int32_t* values, int count) {
    std::string s = "[";
    for (int i = 0; i < count; i++) s += (i ? ", " : "") + std::to_string(values[i]);
    return s + "]";
  }

  void* typed(size_t i, const char* name, napi_typedarray_type want, const char* typeName, int64_t minLength, bool nullable,
              int64_t* lengthOut = nullptr) {
    if (nullable && isNull(i)) return nullptr;
    bool isTyped = false;
    if (i < argc_) napi_is_typedarray(env_, argv_[i], &isTyped);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (!isTyped || napi_get_typedarray_info(env_, argv_[i], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != want) {
      fail(false, std::string(name) + " must be a " + typeName);
    }
    if (static_cast<int64_t>(length) < minLength) {
      fail(true, std::string(name) + " has " + std::to_string(length) + " elements, the geometry needs " + std::to_string(minLength));
    }
    if (lengthOut) *lengthOut = static_cast<int64_t>(length);
    return data;
  }

  static constexpr size_t kMaxArgs = 16;
  napi_env env_;
  const char* kernel_;
  size_t argc_;
  napi_value argv_[kMaxArgs];
};

inline napi_value undefinedValue(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}
inline napi_value numberValue(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}
inline napi_value stringValue(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}
inline napi_value boolValue(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

}  // namespace ck
