# mbedtls (Debian 12: 2.28, libmbedtls-dev), found once for every layer that
# needs it: the command codec (firmware/codec/command.c: signature checks)
# and the device identity (firmware/identity, Kconfig IDENTITY: key and CSR).
# Debian's mbedtls ships no pkg-config file, so the libraries are found by
# name.
#
# Debian's shared libraries (libmbedcrypto.so.7, libmbedx509.so.1), not the
# static archives: a security update of the libmbedcrypto7 and libmbedx509-1
# packages then reaches the gateway without a new wattgate (the archives froze
# 2.28.3 into the binary, before the fixes of 2.28.7 and 2.28.8). The static
# archives were chosen for memory; measured again (docs/memory.md, "mbedtls:
# shared, not static"), the shared libraries cost ~100-140 kB of RSS, ~20 kB
# of it anonymous (the data the loader relocates).
# The cache names are new so that a build directory that found the archives
# before looks again.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/ecdsa.h)
find_library(MBEDX509_SHARED NAMES libmbedx509.so)
find_library(MBEDCRYPTO_SHARED NAMES libmbedcrypto.so)
if(NOT MBEDTLS_INCLUDE_DIR OR NOT MBEDCRYPTO_SHARED OR
    (CONFIG_IDENTITY AND NOT MBEDX509_SHARED))
  message(FATAL_ERROR "mbedtls's shared libraries not found (Debian package "
    "libmbedtls-dev; tools/setup/install-deps)")
endif()

# libmbedcrypto linked "as needed": the codec library carries it for the
# command code, but a program that pulls no command object out of wg_codec
# (the daemon without IDENTITY and without a command receiver, the receiver)
# must not NEED it (tests/kconfig/run: IDENTITY=n links no mbedtls). Every
# user names it through WG_MBEDCRYPTO, so that CMake sees one link item with
# one feature, never the same library with and without.
set(CMAKE_C_LINK_LIBRARY_USING_AS_NEEDED
  "LINKER:--push-state,--as-needed" "<LINK_ITEM>" "LINKER:--pop-state")
set(CMAKE_C_LINK_LIBRARY_USING_AS_NEEDED_SUPPORTED TRUE)
set(WG_MBEDCRYPTO "$<LINK_LIBRARY:AS_NEEDED,${MBEDCRYPTO_SHARED}>")
