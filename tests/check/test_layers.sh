#!/usr/bin/env bash
# The layer checks must fail on a violation and pass a clean tree: a small
# tree of each, checked as the build checks the real one.
#   1. tools/check/layers: an upward #include
#   2. cmake/layers.cmake: a layer or a tool linking a layer above it
#
#   tests/check/test_layers.sh TOOLS_CHECK_LAYERS CMAKE_LAYERS_CMAKE
set -euo pipefail
check=$1
layers_cmake=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/firmware/base" "$t/firmware/store" "$t/firmware/core" "$t/tools/x" "$t/docs"
printf '# x\n```\n wg_core\n wg_ota\n wg_uplink\n wg_store\n wg_drivers\n wg_codec\n wg_base\n```\n' \
  > "$t/docs/architecture.md"
echo '#include "firmware/base/log.h"' > "$t/firmware/store/s.c"
echo '#include "wg_config.h"' > "$t/firmware/base/b.c"
"$check" "$t" >/dev/null || { echo "FAIL: a clean tree was refused"; exit 1; }
# The diagram in docs/ must be the build's layers, in order.
sed -i 's/wg_store/wg_storage/' "$t/docs/architecture.md"
if out=$("$check" "$t" 2>&1); then
  echo "FAIL: a diagram unlike the build passed"; exit 1
fi
grep -q "the diagram lists .*wg_storage" <<<"$out" ||
  { echo "FAIL: the diagram's mismatch not named: $out"; exit 1; }
sed -i 's/wg_storage/wg_store/' "$t/docs/architecture.md"
# base reaching up into core; a tool reaching into the store
echo '#include "firmware/core/config.h"' >> "$t/firmware/base/b.c"
echo '#include "firmware/store/store.h"' > "$t/tools/x/t.c"
# ota sits above the store in the list but may use base and codec only
mkdir -p "$t/firmware/ota"
echo '#include "firmware/store/store.h"' > "$t/firmware/ota/o.c"
if out=$("$check" "$t" 2>&1); then
  echo "FAIL: upward includes passed"; exit 1
fi
grep -q 'firmware/base/b.c:2: base includes "firmware/core/config.h" of layer core' <<<"$out" ||
  { echo "FAIL: base -> core not named: $out"; exit 1; }
grep -q 'tools/x/t.c:1: tools includes "firmware/store/store.h" of layer store' <<<"$out" ||
  { echo "FAIL: tool -> store not named: $out"; exit 1; }
grep -q 'firmware/ota/o.c:1: ota includes "firmware/store/store.h" of layer store (ota may use base, codec only)' <<<"$out" ||
  { echo "FAIL: ota -> store not named: $out"; exit 1; }

# The link rule, at configure time.
link() { # what the tiny project links; expect: ok or the error text
  mkdir -p "$t/cm/$1"
  cat > "$t/cm/$1/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(t C)
include($layers_cmake)
file(WRITE \${CMAKE_BINARY_DIR}/x.c "int x_$1(void);\nint x_$1(void) { return 0; }\n")
wg_layer_library(base \${CMAKE_BINARY_DIR}/x.c)
wg_layer_library(store \${CMAKE_BINARY_DIR}/x.c)
add_library(tool STATIC \${CMAKE_BINARY_DIR}/x.c)
wg_tool(tool)
$2
wg_layers_check()
CM
  cmake -S "$t/cm/$1" -B "$t/cm/$1/b" >"$t/cm/$1.log" 2>&1
}
link ok "target_link_libraries(wg_store PUBLIC wg_base)
target_link_libraries(tool PUBLIC wg_base)" ||
  { echo "FAIL: a downward link was refused"; cat "$t/cm/ok.log"; exit 1; }
if link up "target_link_libraries(wg_base PUBLIC wg_store)"; then
  echo "FAIL: base linking store passed"; exit 1
fi
grep -q "layers: wg_base links wg_store" "$t/cm/up.log" ||
  { echo "FAIL: base -> store not named"; cat "$t/cm/up.log"; exit 1; }
if link tool "target_link_libraries(tool PUBLIC wg_store)"; then
  echo "FAIL: a tool linking the store passed"; exit 1
fi
grep -q "layers: tool links wg_store" "$t/cm/tool.log" ||
  { echo "FAIL: tool -> store not named"; cat "$t/cm/tool.log"; exit 1; }
echo "layers checks: upward includes and links refused, a clean tree passes"
