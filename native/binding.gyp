# Built by scripts/build-native.mjs, which finds libtorch and passes its paths as variables
# (system install first, then $LIBTORCH). Do not run node-gyp here by hand without them.
{
  "variables": {
    "torch_include%": "/usr/include",
    "torch_api_include%": "/usr/include/torch/csrc/api/include",
    "torch_lib%": "/usr/lib/x86_64-linux-gnu",
    "torch_rpath%": ""
  },
  "targets": [
    {
      "target_name": "gcrl_native",
      "sources": [
        "binding/addon.cc", "binding/handle.cc", "binding/ops.cc", "binding/tensor.cc", "binding/jit.cc", "binding/distributed.cc",
        "kernels/kernels.cc", "kernels/allocator.cc", "kernels/fp32_gemm.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(torch_include)",
        "<(torch_api_include)"
      ],
      # NAPI_EXPERIMENTAL: lets tensor-handle finalizers run synchronously in GC ("basic" finalizers,
      # Node >= 20.14); the binding is built from source on each machine, so the ABI tie is harmless.
      "defines": ["NAPI_EXPERIMENTAL", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-frtti", "-fexceptions", "-O3", "-fopenmp-simd", "-fno-tree-loop-distribute-patterns", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<(torch_lib)",
        "-Wl,--no-as-needed",
        "-ltorch", "-ltorch_cpu", "-lc10",
        "-Wl,--as-needed",
        "<(torch_rpath)"
      ]
    }
  ]
}
