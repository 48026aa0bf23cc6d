# CUDA: with a CUDA build of torch (PyPI's default), Talon compiles its own
# kernels (src/talon/model/flash_attention_cuda.cu) and c10d's NCCL backend
# in, whether or not this machine has a GPU; the same binaries run the CPU
# tests here and the GPU checks on a GPU machine (scripts/gpu_check.sh).
# torch's config has found nvcc and put one -gencode flag per architecture of
# TORCH_CUDA_ARCH_LIST into CMAKE_CUDA_FLAGS.
#
# Sets TALON_HAS_CUDA_KERNELS, TALON_HAS_NCCL and TALON_CUDA_ARCHITECTURES
# (what the -gencode flags produce: sm_90 for code, compute_90 for PTX).
set(TALON_HAS_CUDA_KERNELS OFF)
set(TALON_HAS_NCCL OFF)
set(TALON_CUDA_ARCHITECTURES "")
if(TALON_CUDA AND TARGET torch::cudart)
  enable_language(CUDA)
  set(TALON_HAS_CUDA_KERNELS ON)
  string(REGEX MATCHALL "code=[a-z_0-9]+" codes "${CMAKE_CUDA_FLAGS}")
  foreach(code ${codes})
    string(REPLACE "code=" "" code ${code})
    list(APPEND TALON_CUDA_ARCHITECTURES ${code})
  endforeach()
  list(REMOVE_DUPLICATES TALON_CUDA_ARCHITECTURES)

  # ProcessGroupNCCL lives in libtorch_cuda; its header needs nccl.h, from
  # torch's nvidia-nccl wheel or the CUDA toolkit.
  find_path(TALON_NCCL_INCLUDE_DIR nccl.h
            HINTS ${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include ${CUDAToolkit_INCLUDE_DIRS})
  if(TALON_NCCL_INCLUDE_DIR)
    set(TALON_HAS_NCCL ON)
  else()
    message(WARNING "no nccl.h found: multi-process CUDA runs will be refused")
  endif()
elseif(TALON_CUDA)
  message(STATUS "torch is not a CUDA build: Talon's CUDA kernels and NCCL are left out")
endif()
message(STATUS "Talon: CUDA kernels ${TALON_HAS_CUDA_KERNELS} (${TALON_CUDA_ARCHITECTURES}), NCCL ${TALON_HAS_NCCL}")
