# Cross toolchain: Linux/aarch64 with Debian's gcc-aarch64-linux-gnu, tests
# run through qemu-user (CMAKE_CROSSCOMPILING_EMULATOR is used by add_test,
# gtest_discover_tests and try_run).
#   cmake --preset aarch64      (or -DCMAKE_TOOLCHAIN_FILE=<this file>)
# Needs: g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(_goro_triple aarch64-linux-gnu)
set(_goro_cross_root /usr/${_goro_triple})

set(CMAKE_C_COMPILER ${_goro_triple}-gcc)
set(CMAKE_CXX_COMPILER ${_goro_triple}-g++)
set(CMAKE_ASM_COMPILER ${_goro_triple}-gcc)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${_goro_cross_root})

# Headers, libraries and CMake packages come from the target root; programs
# (compilers, code generators) from the host.
set(CMAKE_FIND_ROOT_PATH ${_goro_cross_root})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
