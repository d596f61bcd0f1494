# Kconfig through kconfiglib: board defconfig -> <build>/.config -> one generated
# header (<build>/generated/wg_config.h, Zephyr-style CONFIG_* macros) and CMake
# variables CONFIG_* for choosing sources. Debian's python3-kconfiglib is only on
# /usr/bin/python3, so that interpreter is named explicitly.

set(WG_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with kconfiglib")
set(KCONFIG_ROOT ${CMAKE_SOURCE_DIR}/Kconfig)
set(KCONFIG_DOTCONFIG ${CMAKE_BINARY_DIR}/.config)
set(KCONFIG_HEADER ${CMAKE_BINARY_DIR}/generated/wg_config.h)
set(BOARD_DEFCONFIG ${CMAKE_SOURCE_DIR}/board/${BOARD}/defconfig)

if(NOT EXISTS ${BOARD_DEFCONFIG})
  message(FATAL_ERROR "board '${BOARD}': no ${BOARD_DEFCONFIG}")
endif()

execute_process(COMMAND ${WG_PYTHON} -c "import kconfiglib"
  RESULT_VARIABLE _kc_missing OUTPUT_QUIET ERROR_QUIET)
if(_kc_missing)
  message(FATAL_ERROR "kconfiglib not found for ${WG_PYTHON}: "
    "run tools/setup/install-deps (Debian package python3-kconfiglib)")
endif()

set(_kc_env KCONFIG_CONFIG=${KCONFIG_DOTCONFIG} srctree=${CMAKE_SOURCE_DIR})

# A fresh build directory (or a changed BOARD) starts from the board's defconfig;
# afterwards .config is the developer's (menuconfig) and is only brought up to date
# with new Kconfig symbols.
if(NOT EXISTS ${KCONFIG_DOTCONFIG} OR NOT "${BOARD}" STREQUAL "${WG_CONFIGURED_BOARD}")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${_kc_env}
      ${WG_PYTHON} -m defconfig --kconfig ${KCONFIG_ROOT} ${BOARD_DEFCONFIG}
    RESULT_VARIABLE _rc)
  if(_rc)
    message(FATAL_ERROR "defconfig failed for ${BOARD_DEFCONFIG}")
  endif()
  set(WG_CONFIGURED_BOARD ${BOARD} CACHE INTERNAL "board of build/.config")
endif()

file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/generated)
execute_process(COMMAND ${CMAKE_COMMAND} -E env ${_kc_env}
    ${WG_PYTHON} -m genconfig --header-path ${KCONFIG_HEADER}
    --config-out ${KCONFIG_DOTCONFIG} ${KCONFIG_ROOT}
  RESULT_VARIABLE _rc)
if(_rc)
  message(FATAL_ERROR "genconfig failed")
endif()

# .config -> CMake variables (CONFIG_X=y becomes CONFIG_X "y").
file(STRINGS ${KCONFIG_DOTCONFIG} _kc_lines REGEX "^CONFIG_")
foreach(_l ${_kc_lines})
  if(_l MATCHES "^(CONFIG_[A-Za-z0-9_]+)=\"?([^\"]*)\"?$")
    set(${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
  endif()
endforeach()

set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${KCONFIG_DOTCONFIG} ${BOARD_DEFCONFIG} ${KCONFIG_ROOT})

add_custom_target(menuconfig
  COMMAND ${CMAKE_COMMAND} -E env ${_kc_env} ${WG_PYTHON} -m menuconfig ${KCONFIG_ROOT}
  USES_TERMINAL)

# Zephyr's idiom: wg_sources_ifdef(CONFIG_X target file.c ...)
function(wg_sources_ifdef cond target)
  if(${cond})
    target_sources(${target} PRIVATE ${ARGN})
  endif()
endfunction()

# The board description is data (board/<BOARD>/board.json); the build checks that
# it is built for the board's architecture, so an arm64 defconfig is not silently
# compiled for the PC.
set(BOARD_JSON ${CMAKE_SOURCE_DIR}/board/${BOARD}/board.json)
if(NOT EXISTS ${BOARD_JSON})
  message(FATAL_ERROR "board '${BOARD}': no ${BOARD_JSON}")
endif()
file(READ ${BOARD_JSON} _board_json)
string(JSON BOARD_ARCH ERROR_VARIABLE _board_err GET "${_board_json}" arch)
if(_board_err)
  message(FATAL_ERROR "${BOARD_JSON}: ${_board_err}")
endif()
if(NOT BOARD_ARCH STREQUAL "any")
  set(_proc ${CMAKE_SYSTEM_PROCESSOR})
  if(NOT _proc)
    set(_proc ${CMAKE_HOST_SYSTEM_PROCESSOR})
  endif()
  if(NOT _proc STREQUAL BOARD_ARCH)
    message(FATAL_ERROR "board '${BOARD}' is ${BOARD_ARCH}, this build targets "
      "${_proc}: use -DCMAKE_TOOLCHAIN_FILE=toolchain.cmake -DWG_ARCH=...")
  endif()
endif()
install(FILES ${BOARD_JSON} DESTINATION ${CMAKE_INSTALL_DATADIR}/wattgate)
