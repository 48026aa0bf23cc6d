// The CUDA kernels behind flash_attention.h, as a raw-pointer interface free
// of torch headers so that nvcc compiles them alone (built only when CMake
// finds a CUDA compiler; flash_attention.cpp packs the tensors). All
// pointers are device pointers to contiguous tensors; kernels run on the
// legacy default stream, which is the stream PyTorch uses unless told
// otherwise. Same semantics and shapes as flash_attention.h.
#pragma once

#include <cstdint>

namespace talon::model::cuda {

enum class Element { F32, BF16, F16 };  // q, k, v, out, grad_out

struct FlashDims {
  std::int64_t batch, heads, kv_heads, length, head_dim;
  float scale;
  Element element;
};

struct FlashForwardArgs {
  FlashDims dims;
  const void *q, *k, *v;        // [B, h, L, d], [B, kv, L, d] x2
  const std::int64_t* lengths;  // [B]
  void* out;                    // [B, h, L, d], element type
  float* lse;                   // [B, h, L]
};

struct FlashBackwardArgs {
  FlashDims dims;
  const void *q, *k, *v, *grad_out;
  const std::int64_t* lengths;
  const float *lse, *delta;  // [B, h, L]
  float *dq, *dk, *dv;       // fp32, zero-filled by the caller; the kernels add into them
};

// Whether the kernels handle these dimensions (head_dim among the sizes
// they are compiled for); flash_attention.cpp falls back to the ATen block
// loop when not.
bool supports(const FlashDims& dims);

// Both throw std::runtime_error carrying CUDA's message if a launch fails.
void flash_forward(const FlashForwardArgs& args);
void flash_backward(const FlashBackwardArgs& args);

}  // namespace talon::model::cuda
