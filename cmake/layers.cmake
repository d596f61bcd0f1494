# The layers of the daemon, lowest first (docs/architecture.md). Each is one
# static library, wg_<layer>, that links only the layers below it; the tools
# link base, codec and (for profiles) drivers, never store, uplink or core.
#
# Two checks keep it so:
#   - at configure time, wg_layers_check() below refuses a layer or a tool
#     whose link libraries name a layer it may not use;
#   - at build time (target check_layers, part of ALL, and ctest "layers"),
#     tools/check/layers refuses a file that includes a header of a layer
#     above its own.
# uplink and ota are side by side (neither uses the other); a list needs an
# order, and tools/check/layers keeps ota to base and codec.
set(WG_LAYERS base codec drivers store uplink ota core)

# wg_layer_library(LAYER sources...): the library of one layer.
function(wg_layer_library layer)
  list(FIND WG_LAYERS ${layer} _rank)
  if(_rank LESS 0)
    message(FATAL_ERROR "wg_layer_library: unknown layer '${layer}' (${WG_LAYERS})")
  endif()
  add_library(wg_${layer} STATIC ${ARGN})
  set_property(TARGET wg_${layer} PROPERTY WG_LAYER_RANK ${_rank})
  set_property(GLOBAL APPEND PROPERTY WG_CHECKED_TARGETS wg_${layer})
endfunction()

# wg_tool(TARGET): a program or library under tools/ (may use base, codec,
# drivers).
function(wg_tool target)
  list(FIND WG_LAYERS drivers _rank)
  math(EXPR _rank "${_rank} + 1")
  set_property(TARGET ${target} PROPERTY WG_LAYER_RANK ${_rank})
  set_property(TARGET ${target} PROPERTY WG_IS_TOOL 1)
  set_property(GLOBAL APPEND PROPERTY WG_CHECKED_TARGETS ${target})
endfunction()

# Every checked target: each wg_<layer> it links (directly) must rank below it.
function(wg_layers_check)
  get_property(_targets GLOBAL PROPERTY WG_CHECKED_TARGETS)
  foreach(_t ${_targets})
    get_property(_rank TARGET ${_t} PROPERTY WG_LAYER_RANK)
    get_property(_libs TARGET ${_t} PROPERTY LINK_LIBRARIES)
    foreach(_l ${_libs})
      if(NOT TARGET ${_l})
        continue()
      endif()
      get_property(_lrank TARGET ${_l} PROPERTY WG_LAYER_RANK)
      if("${_lrank}" STREQUAL "" OR "${_l}" STREQUAL "${_t}")
        continue()
      endif()
      get_property(_ltool TARGET ${_l} PROPERTY WG_IS_TOOL)
      if(_ltool)
        continue()		# a tool's own library
      endif()
      if(NOT _lrank LESS _rank)
        message(FATAL_ERROR "layers: ${_t} links ${_l}, a layer at or above "
          "its own (order: ${WG_LAYERS}; tools: base, codec, drivers)")
      endif()
    endforeach()
  endforeach()
endfunction()
