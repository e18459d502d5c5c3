# The CUDA runtime for a CUDA build of libtorch, found without a CUDA toolkit.
#
# Included by CMakeLists.txt before find_package(Torch), only when the libtorch folder holds
# lib/libtorch_cuda.so. Caffe2Config.cmake of a CUDA libtorch runs Caffe2's own CUDA discovery
# (share/cmake/Caffe2/public/cuda.cmake): it needs nvcc (FindCUDA, enable_language(CUDA), a CUDA
# test program compiled and run) and a toolkit's libraries, and stops with "Your installed Caffe2
# version uses CUDA but I cannot find the CUDA libraries" without them. jepa-native compiles no
# CUDA code; of all that discovery, the torch targets use one thing: the target torch::cudart
# (the CUDA runtime, which torch_cuda and c10_cuda name in their link interface). That discovery
# returns at once when torch::cudart already exists, so this file defines it, from the CUDA
# runtime that libtorch itself loads:
#   1. lib/ of the libtorch folder (an unzipped libtorch distribution bundles libcudart-<hash>.so);
#   2. the nvidia-* pip packages next to a torch package (site-packages/nvidia/*/lib, e.g.
#      nvidia/cu13/lib for CUDA 13 wheels, nvidia/cuda_runtime/lib for CUDA 12 ones);
#   3. a CUDA toolkit: $CUDA_HOME, $CUDA_PATH, $CUDAToolkit_ROOT, /usr/local/cuda.
# The NCCL backend (native/distributed/distributed.cc) also needs the headers that ProcessGroupNCCL.hpp
# includes (the CUDA runtime's, CCCL's nv/target, cuBLAS, cuSPARSE, cuSOLVER and nccl.h: pip
# packages nvidia-cuda-runtime, -cuda-crt, -cuda-cccl, -cublas, -cusparse, -cusolver and
# -nccl-cu13 for CUDA 13): they are looked for in
# the same places, and JEPA_CUDA_INCLUDE_DIRS lists the folders (empty when one is missing; the
# header missing is named in JEPA_CUDA_MISSING_HEADER).
#
# Nothing here is cached: another LIBTORCH in the same build folder is searched afresh.
#
# Sets: target torch::cudart, JEPA_CUDART (the library, or empty), JEPA_CUDA_INCLUDE_DIRS,
#       JEPA_CUDA_MISSING_HEADER.

set(_jepa_cuda_roots "${JEPA_LIBTORCH_DIR}")
file(GLOB _jepa_nvidia_pkgs LIST_DIRECTORIES true "${JEPA_LIBTORCH_DIR}/../nvidia/*")
list(SORT _jepa_nvidia_pkgs)
list(APPEND _jepa_cuda_roots ${_jepa_nvidia_pkgs})
foreach(_var CUDA_HOME CUDA_PATH CUDAToolkit_ROOT)
  if(DEFINED ENV{${_var}} AND NOT "$ENV{${_var}}" STREQUAL "")
    list(APPEND _jepa_cuda_roots "$ENV{${_var}}")
  endif()
endforeach()
list(APPEND _jepa_cuda_roots "/usr/local/cuda")

# The CUDA runtime library: the first root whose lib folder has one.
set(JEPA_CUDART "")
foreach(_root IN LISTS _jepa_cuda_roots)
  foreach(_sub lib lib64 targets/x86_64-linux/lib targets/sbsa-linux/lib)
    file(GLOB _found "${_root}/${_sub}/libcudart.so.[0-9]*" "${_root}/${_sub}/libcudart-*.so*")
    if(_found)
      list(SORT _found)
      list(GET _found 0 JEPA_CUDART)
      break()
    endif()
  endforeach()
  if(JEPA_CUDART)
    break()
  endif()
endforeach()

add_library(torch::cudart INTERFACE IMPORTED)
if(JEPA_CUDART)
  get_filename_component(JEPA_CUDART "${JEPA_CUDART}" REALPATH)
  set_property(TARGET torch::cudart PROPERTY INTERFACE_LINK_LIBRARIES "${JEPA_CUDART}")
  message(STATUS "jepa-native: CUDA libtorch; CUDA runtime ${JEPA_CUDART} (Caffe2's CUDA toolkit discovery skipped)")
else()
  message(STATUS "jepa-native: CUDA libtorch; no libcudart found beside it (libtorch_cuda finds its own at run time)")
endif()

# The headers of the NCCL backend, each from the first root that has it.
set(JEPA_CUDA_INCLUDE_DIRS "")
set(JEPA_CUDA_MISSING_HEADER "")
foreach(_header cuda_runtime_api.h crt/host_defines.h nv/target cublas_v2.h cublasLt.h cusparse.h cusolverDn.h nccl.h)
  set(_dir "")
  foreach(_root IN LISTS _jepa_cuda_roots)
    foreach(_sub include include/cccl targets/x86_64-linux/include targets/x86_64-linux/include/cccl
                 targets/sbsa-linux/include targets/sbsa-linux/include/cccl)
      if(EXISTS "${_root}/${_sub}/${_header}")
        get_filename_component(_dir "${_root}/${_sub}" REALPATH)
        break()
      endif()
    endforeach()
    if(_dir)
      break()
    endif()
  endforeach()
  if(NOT _dir)
    set(JEPA_CUDA_MISSING_HEADER "${_header}")
    set(JEPA_CUDA_INCLUDE_DIRS "")
    break()
  endif()
  list(APPEND JEPA_CUDA_INCLUDE_DIRS "${_dir}")
endforeach()
list(REMOVE_DUPLICATES JEPA_CUDA_INCLUDE_DIRS)
