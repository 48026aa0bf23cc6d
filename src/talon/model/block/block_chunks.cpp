#include "talon/model/block/block_chunks.h"

#include <ATen/ATen.h>

#include "talon/model/recompute.h"

namespace talon::model {

std::vector<at::Tensor> sum_over_block_chunks(const BlockTerms& fn, const std::vector<at::Tensor>& inputs,
                                              const std::vector<at::Tensor>& parameters, std::int64_t chunk_blocks) {
  if (chunk_blocks <= 0) return fn(inputs);
  const std::int64_t blocks = inputs.at(0).size(1);
  std::vector<at::Tensor> total;
  for (std::int64_t first = 0; first < blocks; first += chunk_blocks) {
    const std::int64_t count = std::min(chunk_blocks, blocks - first);
    std::vector<at::Tensor> chunk;
    for (const at::Tensor& input : inputs) chunk.push_back(input.narrow(1, first, count));
    std::vector<at::Tensor> terms = recompute_in_backward(fn, chunk, parameters);
    if (total.empty()) {
      total = std::move(terms);
    } else {
      for (std::size_t i = 0; i < total.size(); ++i) total[i] = total[i] + terms[i];
    }
  }
  return total;
}

}  // namespace talon::model
