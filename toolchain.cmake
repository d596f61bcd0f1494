# Cross builds with Debian's cross compilers and multiarch -dev packages:
#   cmake -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=toolchain.cmake -DWG_ARCH=arm64 \
#         -DBOARD=generic-arm64
# WG_ARCH is arm64 (aarch64-linux-gnu) or armhf (arm-linux-gnueabihf).
# Needs: tools/setup/install-deps --cross. Tests run under qemu-user.

set(WG_ARCH arm64 CACHE STRING "arm64 or armhf")
if(WG_ARCH STREQUAL "arm64")
  set(WG_TRIPLET aarch64-linux-gnu)
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
  set(_qemu qemu-aarch64)
elseif(WG_ARCH STREQUAL "armhf")
  set(WG_TRIPLET arm-linux-gnueabihf)
  set(CMAKE_SYSTEM_PROCESSOR arm)
  set(_qemu qemu-arm)
else()
  message(FATAL_ERROR "WG_ARCH must be arm64 or armhf, not '${WG_ARCH}'")
endif()

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${WG_TRIPLET}-gcc)
set(CMAKE_STRIP ${WG_TRIPLET}-strip CACHE FILEPATH "")

# Multiarch: headers in /usr/include (+ /usr/include/<triplet>), libraries in
# /usr/lib/<triplet>; the cross gcc already searches both. pkg-config must see only
# the target's .pc files.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${WG_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH /usr/${WG_TRIPLET} /usr/lib/${WG_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)

# The target's loader and libraries come from the multiarch packages
# (/lib/ld-linux-*.so, /usr/lib/<triplet>), so qemu-user needs no -L.
find_program(WG_QEMU ${_qemu})
if(WG_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WG_QEMU})
endif()
