# Cross builds with Debian's cross compilers against a sysroot of Debian's
# packages for the target (tools/setup/sysroot):
#   tools/setup/sysroot arm64
#   cmake -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=toolchain.cmake -DWG_ARCH=arm64 \
#         -DBOARD=generic-arm64
# WG_ARCH is arm64 (aarch64-linux-gnu) or armhf (arm-linux-gnueabihf).
# WG_SYSROOT defaults to build/sysroot/<WG_ARCH> in this tree, where
# tools/setup/sysroot puts it. Tests run under qemu-user with -L WG_SYSROOT.
#
# No multiarch fallback: the host's /usr/lib/<triplet> is never searched, so
# a machine that still has arm64 multiarch -dev packages links exactly what
# one without them links.

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

set(WG_SYSROOT ${CMAKE_CURRENT_LIST_DIR}/build/sysroot/${WG_ARCH} CACHE PATH
  "Target sysroot (tools/setup/sysroot ${WG_ARCH} DIR)")
if(NOT EXISTS ${WG_SYSROOT}/.wattgate-sysroot)
  message(FATAL_ERROR "no sysroot at ${WG_SYSROOT}: run tools/setup/sysroot "
    "${WG_ARCH} (or pass -DWG_SYSROOT=DIR)")
endif()
# try_compile projects read this file again: the same arch and sysroot there.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WG_ARCH WG_SYSROOT)

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${WG_TRIPLET}-gcc)
set(CMAKE_STRIP ${WG_TRIPLET}-strip CACHE FILEPATH "")
set(CMAKE_SYSROOT ${WG_SYSROOT})

# Debian's cross gcc searches its own libc6-dev-<arch>-cross
# (/usr/<triplet>/include and lib, glibc 2.36-8cross1) before any sysroot:
# glibc's headers, crt*.o, libc.so and libm.so would come from there, not
# from the sysroot's libc6-dev that dpkg-shlibdeps reads. -nostdinc keeps
# only gcc's own headers; -B and -L put the sysroot's startup files and
# libraries first (crtbegin*.o and libgcc stay the compiler's).
execute_process(COMMAND ${WG_TRIPLET}-gcc -print-file-name=include
  OUTPUT_VARIABLE _gcc_include OUTPUT_STRIP_TRAILING_WHITESPACE)
set(CMAKE_C_FLAGS_INIT "-nostdinc -isystem ${_gcc_include} \
-isystem ${WG_SYSROOT}/usr/include/${WG_TRIPLET} -isystem ${WG_SYSROOT}/usr/include \
-B${WG_SYSROOT}/usr/lib/${WG_TRIPLET}/")
# 32-bit: 64-bit off_t and inode numbers. Under qemu-user the host kernel
# hands out ext4's 64-bit directory offsets, which the 32-bit readdir()
# refuses (EOVERFLOW: no profile found, tests/unit/test_profiles.c); on the
# board it keeps files and inodes past 2^31 readable. None of the libraries
# linked has off_t in its interface but zlib, which follows the macro.
# (64-bit time_t, _TIME_BITS=64, would not match bookworm's armhf libraries.)
if(WG_ARCH STREQUAL "armhf")
  string(APPEND CMAKE_C_FLAGS_INIT " -D_FILE_OFFSET_BITS=64")
endif()
foreach(_kind EXE SHARED MODULE)
  set(CMAKE_${_kind}_LINKER_FLAGS_INIT
    "-L${WG_SYSROOT}/lib/${WG_TRIPLET} -L${WG_SYSROOT}/usr/lib/${WG_TRIPLET}")
endforeach()

# pkg-config sees only the sysroot's .pc files, and prefixes their -I and -L
# with it.
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${WG_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR}
  "${WG_SYSROOT}/usr/lib/${WG_TRIPLET}/pkgconfig:${WG_SYSROOT}/usr/lib/pkgconfig:${WG_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH ${WG_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The target's loader and every library it opens (dlopen too: libcoap)
# come from the sysroot.
find_program(WG_QEMU NAMES ${_qemu} ${_qemu}-static)
if(WG_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WG_QEMU} -L ${WG_SYSROOT})
endif()
