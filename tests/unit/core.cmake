# base: the PSK file format (shared by the CoAP uplink and the receiver), the
# JSON checks.
wg_unit_test(test_psk SOURCES unit/test_psk.c LIBS wg_base)
wg_unit_test(test_jcheck SOURCES unit/test_jcheck.c LIBS wg_base)
wg_unit_test(test_loop SOURCES unit/test_loop.c LIBS wg_base)
# sd_notify's protocol (firmware/base/notify.c): addresses, the watchdog's
# variables, sends on real datagram sockets.
wg_unit_test(test_notify SOURCES unit/test_notify.c LIBS wg_base)
wg_unit_test(test_sched SOURCES unit/test_sched.c LIBS wg_core)
wg_unit_test(test_config SOURCES unit/test_config.c LIBS wg_core)
wg_unit_test(test_store SOURCES unit/test_store.c LIBS wg_store)
wg_unit_test(test_store_journal SOURCES unit/test_store_journal.c LIBS wg_store)
wg_unit_test(test_merge SOURCES unit/test_merge.c LIBS wg_store)
wg_unit_test(test_split SOURCES unit/test_split.c LIBS wg_store)
wg_unit_test(test_budget SOURCES unit/test_budget.c LIBS wg_store)
wg_unit_test(test_presync SOURCES unit/test_presync.c LIBS wg_core)
wg_unit_test(test_secret SOURCES unit/test_secret.c LIBS wg_base)
wg_unit_test(test_log SOURCES unit/test_log.c LIBS wg_base)
wg_unit_test(test_health SOURCES unit/test_health.c LIBS wg_core)
wg_unit_test(test_poller SOURCES unit/test_poller.c LIBS wg_core)
wg_unit_test(test_backoff SOURCES unit/test_backoff.c LIBS wg_uplink)
wg_unit_test(test_store_fs SOURCES unit/test_store_fs.c LIBS wg_store)
if(CONFIG_CONTROL)
  wg_unit_test(test_inbox SOURCES unit/test_inbox.c LIBS wg_core)
endif()
# The site config's "console" section (firmware/core/config_console.c), and
# the console's failed-login brake on a fake clock (console_lock.c).
if(CONFIG_CONSOLE)
  wg_unit_test(test_config_console SOURCES unit/test_config_console.c LIBS wg_core)
  wg_unit_test(test_console_lock SOURCES unit/test_console_lock.c LIBS wg_core)
endif()

# The resolver (firmware/base/resolve.c) and its getaddrinfo stand-in
# (tests/preload/slow_gai.c: sleeping names, mapped names, no DNS).
# test_resolve links the stand-in itself, so it runs the same under ctest,
# valgrind and qemu-user; test_resolve_preload gets it as a preload, as the
# integration tests will. Under qemu-user LD_PRELOAD must reach the guest,
# not qemu (QEMU_SET_ENV); under ASan the runtime must come first in the
# library list, or be told not to check.
wg_unit_test(test_resolve SOURCES unit/test_resolve.c preload/slow_gai.c
  LIBS wg_base ${CMAKE_DL_LIBS})
add_library(slow_gai MODULE preload/slow_gai.c)
set_target_properties(slow_gai PROPERTIES POSITION_INDEPENDENT_CODE ON PREFIX lib)
target_link_libraries(slow_gai PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
wg_unit_test(test_resolve_preload SOURCES unit/test_resolve_preload.c
  LIBS wg_base ${CMAKE_DL_LIBS})
add_dependencies(test_resolve_preload slow_gai)
if(CMAKE_CROSSCOMPILING)
  set(_preload "QEMU_SET_ENV=LD_PRELOAD=$<TARGET_FILE:slow_gai>")
else()
  set(_preload "LD_PRELOAD=$<TARGET_FILE:slow_gai>")
endif()
set_tests_properties(test_resolve_preload PROPERTIES ENVIRONMENT
  "${_preload};WG_GAI_SLOW=.hang.test;WG_GAI_SLEEP_MS=1000;WG_GAI_MAP=dual.test=::1,127.0.0.1")
if(WG_SANITIZE)
  set_tests_properties(test_resolve_preload PROPERTIES ENVIRONMENT_MODIFICATION
    "ASAN_OPTIONS=string_append::verify_asan_link_order=0")
endif()

# Fault injection in the store (tests/unit/faultinj.h): SQLite's allocator
# and a VFS are replaced at run time; the daemon's own malloc, calloc,
# realloc and strdup are sent to the fault library by the linker, in this
# binary only.
wg_unit_test(test_store_faults SOURCES unit/test_store_faults.c unit/faultinj.c
  LIBS wg_store vfs_wrap)
target_link_options(test_store_faults PRIVATE
  "LINKER:--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup")
# Under qemu-user every SQLite call is emulated: 400 points a sweep took 78 s
# of ctest's 120 (tests/CMakeLists.txt), 100 take 43 s.
if(CMAKE_CROSSCOMPILING)
  set_tests_properties(test_store_faults PROPERTIES ENVIRONMENT WG_FAULT_POINTS=100)
endif()
