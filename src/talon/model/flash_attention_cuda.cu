// The kernels behind flash_attention_cuda.h: FlashAttention-2's algorithm in
// plain fp32 CUDA-core arithmetic, written to be read and checked rather
// than to reach peak throughput.
//
// Both kernels work on tiles of kTile = 32 rows of a [L, d] matrix, held in
// shared memory as fp32 (loads convert bf16 and fp16) with each row padded to
// d + 1 floats. Every phase is a loop in which a thread owns fixed elements
// of a tile and the 32 lanes of a warp take consecutive elements, so a warp
// reads either one row of a tile (a broadcast) against one column of
// another (32 rows apart by d + 1 floats: 32 different banks), or one row
// across consecutive columns.
//
// Forward: one block per (sample, query head, tile of queries). It walks the
// key tiles its queries can see, keeping FlashAttention's online softmax per
// query (running max, running sum, unnormalised output in registers), and
// writes out and lse once at the end.
//
// Backward: one block per (sample, kv head, tile of keys). It keeps dk and dv
// of its keys in registers and walks every query tile that can see them, for
// each query head sharing the kv head, so it alone writes its rows of dk and
// dv; dq receives each block's share with atomicAdd. lse and delta are read,
// never recomputed: they may belong to a softmax over more keys than k holds.
#include "talon/model/flash_attention_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace talon::model::cuda {
namespace {

// Queries per query tile and keys per key tile. Equal to the warp size: the
// softmax statistics of a query row take one lane per key.
constexpr int kTile = 32;
constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr unsigned kFullWarp = 0xffffffffu;
constexpr std::int64_t kMaxGridY = 65535;  // CUDA's limit on gridDim.y, which counts the tiles
constexpr int kHeadDims[] = {16, 32, 64, 128};  // with_kernel_types instantiates each

__device__ float to_float(float x) { return x; }
__device__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ float to_float(__half x) { return __half2float(x); }

__device__ void store(float& dst, float x) { dst = x; }
__device__ void store(__nv_bfloat16& dst, float x) { dst = __float2bfloat16(x); }
__device__ void store(__half& dst, float x) { dst = __float2half(x); }

__device__ std::int64_t min64(std::int64_t a, std::int64_t b) { return a < b ? a : b; }

__device__ float warp_max(float x) {
  for (int offset = 16; offset > 0; offset /= 2) x = fmaxf(x, __shfl_xor_sync(kFullWarp, x, offset));
  return x;
}

__device__ float warp_sum(float x) {
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(kFullWarp, x, offset);
  return x;
}

// Rows [first, first + count) of one head's [L, D] matrix into a tile
// [kTile, D + 1]. Rows at and past `count` keep stale values; the phases
// that follow never read them.
template <int D, typename T>
__device__ void load_rows(float* tile, const T* matrix, std::int64_t first, int count) {
  for (int e = threadIdx.x; e < count * D; e += kThreads) {
    const int row = e / D, col = e % D;
    tile[row * (D + 1) + col] = to_float(matrix[(first + row) * D + col]);
  }
}

template <int D>
constexpr std::size_t forward_shared_bytes() {
  return (3 * kTile * (D + 1) + kTile * (kTile + 1) + 3 * kTile) * sizeof(float);
}

template <int D>
constexpr std::size_t backward_shared_bytes() {
  return (4 * kTile * (D + 1) + 2 * kTile * (kTile + 1) + 2 * kTile) * sizeof(float);
}

// grid (batch * heads, query tiles). q, out [B, h, L, D]; k, v [B, kv, L, D];
// lse [B, h, L].
template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(FlashDims dims, const T* q, const T* k, const T* v, const std::int64_t* lengths, T* out,
                   float* lse) {
  constexpr int kStride = D + 1, kScoreStride = kTile + 1;
  constexpr int kPerThread = kTile * D / kThreads;  // output elements of the query tile per thread
  extern __shared__ float shared[];
  float* q_tile = shared;                            // [kTile, D + 1]
  float* k_tile = q_tile + kTile * kStride;          // [kTile, D + 1]
  float* v_tile = k_tile + kTile * kStride;          // [kTile, D + 1]
  float* p_tile = v_tile + kTile * kStride;          // [kTile, kTile + 1]: scores, then exp(score - max)
  float* row_max = p_tile + kTile * kScoreStride;    // [kTile] running max of the scaled scores
  float* row_sum = row_max + kTile;                  // [kTile] running sum of exp(score - max)
  float* row_rescale = row_sum + kTile;              // [kTile] exp(old max - new max) of the current key tile

  const std::int64_t length = dims.length;
  const std::int64_t head_row = blockIdx.x;  // b * heads + head
  const std::int64_t b = head_row / dims.heads, head = head_row % dims.heads;
  const std::int64_t kv_row = b * dims.kv_heads + head / (dims.heads / dims.kv_heads);
  // Later query tiles see more keys; launching them first shortens the grid's tail.
  const std::int64_t q0 = (gridDim.y - 1 - blockIdx.y) * std::int64_t{kTile};
  const int rows = static_cast<int>(min64(kTile, length - q0));
  // The tile's last query sees keys up to itself; none sees a padding key.
  const std::int64_t key_end = min64(q0 + rows, min64(lengths[b], length));

  load_rows<D>(q_tile, q + head_row * length * D, q0, rows);
  for (int t = threadIdx.x; t < kTile; t += kThreads) {
    row_max[t] = -INFINITY;
    row_sum[t] = 0.0f;
  }
  float acc[kPerThread] = {};  // element e = threadIdx.x + n * kThreads: query e / D, column e % D
  const T* k_rows = k + kv_row * length * D;
  const T* v_rows = v + kv_row * length * D;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

  for (std::int64_t k0 = 0; k0 < key_end; k0 += kTile) {
    const int keys = static_cast<int>(min64(kTile, key_end - k0));
    load_rows<D>(k_tile, k_rows, k0, keys);
    load_rows<D>(v_tile, v_rows, k0, keys);
    __syncthreads();

    // Scaled scores; -inf for a key in the query's future or past key_end
    // (which covers the padding).
    for (int e = threadIdx.x; e < kTile * kTile; e += kThreads) {
      const int t = e / kTile, j = e % kTile;
      float score = -INFINITY;
      if (t < rows && j < keys && k0 + j <= q0 + t) {
        float dot = 0.0f;
        for (int i = 0; i < D; ++i) dot += q_tile[t * kStride + i] * k_tile[j * kStride + i];
        score = dot * dims.scale;
      }
      p_tile[t * kScoreStride + j] = score;
    }
    __syncthreads();

    // One warp per query, one lane per key: move the running max to include
    // this tile, turn the scores into exp(score - max) and rescale the running
    // sum to the new max. The first tile holds key 0, which every query sees,
    // so the max is finite from then on and masked keys give exp(-inf) = 0;
    // on that first tile the rescale is exp(-inf) = 0 against empty sums.
    for (int t = warp; t < rows; t += kWarps) {
      const float score = p_tile[t * kScoreStride + lane];
      const float old_max = row_max[t];
      const float new_max = fmaxf(old_max, warp_max(score));
      const float p = expf(score - new_max);
      const float rescale = expf(old_max - new_max);
      p_tile[t * kScoreStride + lane] = p;
      const float tile_sum = warp_sum(p);
      if (lane == 0) {
        row_max[t] = new_max;
        row_sum[t] = row_sum[t] * rescale + tile_sum;
        row_rescale[t] = rescale;
      }
    }
    __syncthreads();

    // acc = acc * rescale + p v over this tile's keys.
#pragma unroll
    for (int n = 0; n < kPerThread; ++n) {
      const int e = threadIdx.x + n * kThreads, t = e / D, i = e % D;
      if (t < rows) {
        float a = acc[n] * row_rescale[t];
        for (int j = 0; j < keys; ++j) a += p_tile[t * kScoreStride + j] * v_tile[j * kStride + i];
        acc[n] = a;
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int n = 0; n < kPerThread; ++n) {
    const int e = threadIdx.x + n * kThreads, t = e / D, i = e % D;
    if (t < rows) store(out[(head_row * length + q0 + t) * D + i], acc[n] / row_sum[t]);
  }
  for (int t = threadIdx.x; t < rows; t += kThreads) lse[head_row * length + q0 + t] = row_max[t] + logf(row_sum[t]);
}

// grid (batch * kv_heads, key tiles). q, grad_out, dq [B, h, L, D]; k, v, dk,
// dv [B, kv, L, D]; lse, delta [B, h, L].
template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(FlashDims dims, const T* q, const T* k, const T* v, const T* grad_out,
                    const std::int64_t* lengths, const float* lse, const float* delta, float* dq, float* dk,
                    float* dv) {
  constexpr int kStride = D + 1, kScoreStride = kTile + 1;
  constexpr int kPerThread = kTile * D / kThreads;  // elements of a [kTile, D] tile per thread
  extern __shared__ float shared[];
  float* k_tile = shared;                              // [kTile, D + 1] this block's keys
  float* v_tile = k_tile + kTile * kStride;            // [kTile, D + 1] and values
  float* q_tile = v_tile + kTile * kStride;            // [kTile, D + 1] the current query tile
  float* grad_tile = q_tile + kTile * kStride;         // [kTile, D + 1] and its grad_out rows
  float* p_tile = grad_tile + kTile * kStride;         // [kTile queries, kTile + 1] P
  float* ds_tile = p_tile + kTile * kScoreStride;      // [kTile queries, kTile + 1] dS
  float* lse_tile = ds_tile + kTile * kScoreStride;    // [kTile]
  float* delta_tile = lse_tile + kTile;                // [kTile]

  const std::int64_t length = dims.length, groups = dims.heads / dims.kv_heads;
  const std::int64_t kv_row = blockIdx.x;  // b * kv_heads + kv head
  const std::int64_t b = kv_row / dims.kv_heads, kv_head = kv_row % dims.kv_heads;
  const std::int64_t k0 = blockIdx.y * std::int64_t{kTile};
  const std::int64_t visible = min64(lengths[b], length);
  if (k0 >= visible) return;  // padding keys: no query sees them, so their dk and dv stay zero
  const int keys = static_cast<int>(min64(kTile, visible - k0));

  load_rows<D>(k_tile, k + kv_row * length * D, k0, keys);
  load_rows<D>(v_tile, v + kv_row * length * D, k0, keys);
  // element e = threadIdx.x + n * kThreads: key e / D, column e % D
  float dk_acc[kPerThread] = {}, dv_acc[kPerThread] = {};

  for (std::int64_t g = 0; g < groups; ++g) {
    const std::int64_t head_row = b * dims.heads + kv_head * groups + g;
    // Queries before k0 see none of these keys; every later one, padded
    // rows included, sees key k0 at least.
    for (std::int64_t q0 = k0; q0 < length; q0 += kTile) {
      const int rows = static_cast<int>(min64(kTile, length - q0));
      load_rows<D>(q_tile, q + head_row * length * D, q0, rows);
      load_rows<D>(grad_tile, grad_out + head_row * length * D, q0, rows);
      for (int t = threadIdx.x; t < rows; t += kThreads) {
        lse_tile[t] = lse[head_row * length + q0 + t];
        delta_tile[t] = delta[head_row * length + q0 + t];
      }
      __syncthreads();

      // P = exp(scale q.k - lse) and dS = P (grad_out.v - delta) where the
      // query sees the key, 0 elsewhere.
      for (int e = threadIdx.x; e < kTile * kTile; e += kThreads) {
        const int t = e / kTile, j = e % kTile;
        float p = 0.0f, ds = 0.0f;
        if (t < rows && j < keys && k0 + j <= q0 + t) {
          float score = 0.0f, dp = 0.0f;
          for (int i = 0; i < D; ++i) {
            score += q_tile[t * kStride + i] * k_tile[j * kStride + i];
            dp += grad_tile[t * kStride + i] * v_tile[j * kStride + i];
          }
          p = expf(score * dims.scale - lse_tile[t]);
          ds = p * (dp - delta_tile[t]);
        }
        p_tile[t * kScoreStride + j] = p;
        ds_tile[t * kScoreStride + j] = ds;
      }
      __syncthreads();

      // dv += P^T grad_out and dk += dS^T q (scale applied when writing).
#pragma unroll
      for (int n = 0; n < kPerThread; ++n) {
        const int e = threadIdx.x + n * kThreads, j = e / D, i = e % D;
        float dv_sum = dv_acc[n], dk_sum = dk_acc[n];
        for (int t = 0; t < rows; ++t) {
          dv_sum += p_tile[t * kScoreStride + j] * grad_tile[t * kStride + i];
          dk_sum += ds_tile[t * kScoreStride + j] * q_tile[t * kStride + i];
        }
        dv_acc[n] = dv_sum;
        dk_acc[n] = dk_sum;
      }

      // dq += scale dS k over this block's keys; the blocks of the other key
      // tiles add theirs to the same rows.
#pragma unroll
      for (int n = 0; n < kPerThread; ++n) {
        const int e = threadIdx.x + n * kThreads, t = e / D, i = e % D;
        if (t < rows) {
          float sum = 0.0f;
          for (int j = 0; j < keys; ++j) sum += ds_tile[t * kScoreStride + j] * k_tile[j * kStride + i];
          atomicAdd(&dq[(head_row * length + q0 + t) * D + i], sum * dims.scale);
        }
      }
      __syncthreads();
    }
  }

#pragma unroll
  for (int n = 0; n < kPerThread; ++n) {
    const int e = threadIdx.x + n * kThreads, j = e / D, i = e % D;
    if (j < keys) {
      const std::int64_t at = (kv_row * length + k0 + j) * D + i;
      dk[at] += dk_acc[n] * dims.scale;
      dv[at] += dv_acc[n];
    }
  }
}

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

dim3 grid(std::int64_t rows, std::int64_t length) {
  return dim3(static_cast<unsigned>(rows), static_cast<unsigned>((length + kTile - 1) / kTile));
}

template <typename T, int D>
void launch_forward(const FlashForwardArgs& args) {
  const FlashDims& dims = args.dims;
  constexpr std::size_t bytes = forward_shared_bytes<D>();
  check(cudaFuncSetAttribute(forward_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
        "flash_forward: cudaFuncSetAttribute");
  forward_kernel<T, D><<<grid(dims.batch * dims.heads, dims.length), kThreads, bytes, cudaStreamLegacy>>>(
      dims, static_cast<const T*>(args.q), static_cast<const T*>(args.k), static_cast<const T*>(args.v),
      args.lengths, static_cast<T*>(args.out), args.lse);
  check(cudaGetLastError(), "flash_forward");
}

template <typename T, int D>
void launch_backward(const FlashBackwardArgs& args) {
  const FlashDims& dims = args.dims;
  constexpr std::size_t bytes = backward_shared_bytes<D>();
  check(cudaFuncSetAttribute(backward_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
        "flash_backward: cudaFuncSetAttribute");
  backward_kernel<T, D><<<grid(dims.batch * dims.kv_heads, dims.length), kThreads, bytes, cudaStreamLegacy>>>(
      dims, static_cast<const T*>(args.q), static_cast<const T*>(args.k), static_cast<const T*>(args.v),
      static_cast<const T*>(args.grad_out), args.lengths, args.lse, args.delta, args.dq, args.dk, args.dv);
  check(cudaGetLastError(), "flash_backward");
}

// Calls f(T{}, std::integral_constant<int, D>{}) with the element type T
// and head dim D of `dims`: the instantiations kHeadDims lists.
template <typename F>
void with_kernel_types(const FlashDims& dims, F&& f) {
  auto with_head_dim = [&](auto element) {
    switch (dims.head_dim) {
      case 16: return f(element, std::integral_constant<int, 16>{});
      case 32: return f(element, std::integral_constant<int, 32>{});
      case 64: return f(element, std::integral_constant<int, 64>{});
      case 128: return f(element, std::integral_constant<int, 128>{});
    }
  };
  switch (dims.element) {
    case Element::F32: return with_head_dim(float{});
    case Element::BF16: return with_head_dim(__nv_bfloat16{});
    case Element::F16: return with_head_dim(__half{});
  }
}

// Throws for dimensions the kernels were not built for; true when there is
// nothing to compute (an empty grid would be a launch error).
bool nothing_to_do(const FlashDims& dims, const char* what) {
  if (!supports(dims)) {
    throw std::invalid_argument(std::string(what) + ": unsupported dimensions (head_dim " +
                                std::to_string(dims.head_dim) + ", heads " + std::to_string(dims.heads) +
                                ", kv_heads " + std::to_string(dims.kv_heads) + ", length " +
                                std::to_string(dims.length) + ")");
  }
  return dims.batch == 0 || dims.heads == 0 || dims.length == 0;
}

}  // namespace

bool supports(const FlashDims& dims) {
  bool head_dim = false;
  for (int d : kHeadDims) head_dim = head_dim || dims.head_dim == d;
  return head_dim && dims.batch >= 0 && dims.heads >= 0 && dims.kv_heads > 0 && dims.heads % dims.kv_heads == 0 &&
         dims.length >= 0 && dims.batch * dims.heads <= std::numeric_limits<int>::max() &&
         (dims.length + kTile - 1) / kTile <= kMaxGridY;
}

void flash_forward(const FlashForwardArgs& args) {
  if (nothing_to_do(args.dims, "flash_forward")) return;
  with_kernel_types(args.dims, [&](auto element, auto head_dim) {
    launch_forward<decltype(element), decltype(head_dim)::value>(args);
  });
}

void flash_backward(const FlashBackwardArgs& args) {
  if (nothing_to_do(args.dims, "flash_backward")) return;
  with_kernel_types(args.dims, [&](auto element, auto head_dim) {
    launch_backward<decltype(element), decltype(head_dim)::value>(args);
  });
}

}  // namespace talon::model::cuda
