# Finds every dependency and wraps the awkward ones in gavamoe:: targets.
#
# LibTorch comes from PyPI's torch wheel (CMAKE_PREFIX_PATH = torch.utils.cmake_prefix_path).
# That wheel is built with CUDA; its TorchConfig insists on a CUDA toolkit. When the toolkit
# is present (or GAVAMOE_CUDA=ON) we use TorchConfig and compile the CUDA/NCCL paths; without
# it we import the CPU libraries of the same wheel directly, so a CPU-only box still builds.
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
pkg_check_modules(XLSXWRITER REQUIRED IMPORTED_TARGET xlsxwriter)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
find_library(SENTENCEPIECE_TRAIN_LIBRARY sentencepiece_train REQUIRED)
add_library(gavamoe::sentencepiece INTERFACE IMPORTED)
target_link_libraries(gavamoe::sentencepiece INTERFACE PkgConfig::SENTENCEPIECE ${SENTENCEPIECE_TRAIN_LIBRARY})
add_library(gavamoe::xlsxwriter ALIAS PkgConfig::XLSXWRITER)

# Locate the wheel's cmake folder first without loading TorchConfig.
find_path(GAVAMOE_TORCH_CMAKE_DIR TorchConfig.cmake PATH_SUFFIXES Torch REQUIRED)
get_filename_component(GAVAMOE_TORCH_ROOT "${GAVAMOE_TORCH_CMAKE_DIR}/../../.." ABSOLUTE)

if(GAVAMOE_CUDA STREQUAL "AUTO")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(GAVAMOE_WITH_CUDA ON)
  else()
    set(GAVAMOE_WITH_CUDA OFF)
  endif()
else()
  set(GAVAMOE_WITH_CUDA ${GAVAMOE_CUDA})
endif()

add_library(gavamoe::torch INTERFACE IMPORTED)
if(GAVAMOE_WITH_CUDA)
  # TorchConfig's CUDA search: architectures are only needed for .cu files, which we have none of.
  if(NOT DEFINED TORCH_CUDA_ARCH_LIST)
    set(TORCH_CUDA_ARCH_LIST "9.0")
  endif()
  find_package(Torch REQUIRED CONFIG)
  target_link_libraries(gavamoe::torch INTERFACE ${TORCH_LIBRARIES})
  target_compile_definitions(gavamoe::torch INTERFACE GAVAMOE_WITH_CUDA USE_C10D_NCCL)
  message(STATUS "gavamoe: LibTorch ${Torch_VERSION} with CUDA and NCCL")
else()
  set(lib "${GAVAMOE_TORCH_ROOT}/lib")
  foreach(part c10 torch_cpu torch)
    find_library(GAVAMOE_TORCH_${part} ${part} PATHS "${lib}" NO_DEFAULT_PATH REQUIRED)
  endforeach()
  target_include_directories(gavamoe::torch SYSTEM INTERFACE "${GAVAMOE_TORCH_ROOT}/include"
                             "${GAVAMOE_TORCH_ROOT}/include/torch/csrc/api/include")
  target_link_libraries(gavamoe::torch INTERFACE ${GAVAMOE_TORCH_c10} ${GAVAMOE_TORCH_torch_cpu}
                                                 ${GAVAMOE_TORCH_torch})
  target_compile_definitions(gavamoe::torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)
  message(STATUS "gavamoe: LibTorch from ${GAVAMOE_TORCH_ROOT}, CPU only")
endif()
target_compile_definitions(gavamoe::torch INTERFACE USE_DISTRIBUTED USE_C10D_GLOO)
# at::parallel_for is a header template that splits work only when compiled with OpenMP (the
# wheel's intra-op backend); without it every at::parallel_for in gavamoe runs on one thread.
# The wheel ships libgomp.so.1 beside libtorch_cpu.so and the RPATH below finds it first, so
# the process holds one OpenMP runtime and one thread pool. GCC (the wheel's compiler) must have
# it; with another compiler (the clang sanitizer build) it is used when found.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  find_package(OpenMP REQUIRED COMPONENTS CXX)
else()
  find_package(OpenMP COMPONENTS CXX)
endif()
if(OpenMP_CXX_FOUND)
  target_link_libraries(gavamoe::torch INTERFACE OpenMP::OpenMP_CXX)
else()
  message(WARNING "gavamoe: no OpenMP with ${CMAKE_CXX_COMPILER_ID}; gavamoe's own "
                  "at::parallel_for loops will run on one thread")
endif()
# The wheel ships c10d's ProcessGroupGloo.hpp without the gloo headers it includes; it only
# needs gloo's names, which cmake/gloo-declarations provides.
if(NOT EXISTS "${GAVAMOE_TORCH_ROOT}/include/gloo/context.h")
  target_include_directories(gavamoe::torch SYSTEM INTERFACE
                             "${CMAKE_CURRENT_LIST_DIR}/gloo-declarations")
endif()
# The wheel's libraries find their CUDA neighbours through their own RUNPATH; ours must find them.
set(CMAKE_BUILD_RPATH "${GAVAMOE_TORCH_ROOT}/lib")
set(CMAKE_INSTALL_RPATH "${GAVAMOE_TORCH_ROOT}/lib")

# Every LibTorch target shares one precompiled header: a rebuild of one file then takes seconds.
function(gavamoe_torch_target target)
  if(GAVAMOE_PCH)
    if(NOT TARGET gavamoe_torch_pch)
      file(WRITE "${CMAKE_BINARY_DIR}/torch_pch.cpp" "")
      add_library(gavamoe_torch_pch STATIC "${CMAKE_BINARY_DIR}/torch_pch.cpp")
      target_link_libraries(gavamoe_torch_pch PUBLIC gavamoe::torch)
      target_precompile_headers(gavamoe_torch_pch PUBLIC <torch/torch.h>)
    endif()
    target_precompile_headers(${target} REUSE_FROM gavamoe_torch_pch)
  endif()
endfunction()

# The torch wheel's libtorch.so exports its own copy of std::filesystem; when it comes first in
# the lookup order, calls such as remove_all(path, error_code) land in it and crash. Naming
# libstdc++ first in every link makes the system library win.
add_link_options("LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")
