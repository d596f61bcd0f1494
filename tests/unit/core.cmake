wg_unit_test(test_sched SOURCES unit/test_sched.c LIBS wg_core)
wg_unit_test(test_config SOURCES unit/test_config.c LIBS wg_core)
wg_unit_test(test_store SOURCES unit/test_store.c LIBS wg_core)
wg_unit_test(test_merge SOURCES unit/test_merge.c LIBS wg_core)
wg_unit_test(test_split SOURCES unit/test_split.c LIBS wg_core)
wg_unit_test(test_budget SOURCES unit/test_budget.c LIBS wg_core)
wg_unit_test(test_presync SOURCES unit/test_presync.c LIBS wg_core)
wg_unit_test(test_secret SOURCES unit/test_secret.c LIBS wg_core)
wg_unit_test(test_health SOURCES unit/test_health.c LIBS wg_core)
wg_unit_test(test_poller SOURCES unit/test_poller.c LIBS wg_core)
wg_unit_test(test_backoff SOURCES unit/test_backoff.c LIBS wg_core)
if(CONFIG_UPLINK_COAP)
  wg_unit_test(test_coap_psk SOURCES unit/test_coap_psk.c LIBS wg_core)
endif()
wg_unit_test(test_store_fs SOURCES unit/test_store_fs.c LIBS wg_core)

# The resolver (firmware/base/resolve.c) and its getaddrinfo stand-in
# (tests/preload/slow_gai.c: sleeping names, mapped names, no DNS).
# test_resolve links the stand-in itself, so it runs the same under ctest,
# valgrind and qemu-user; libslow_gai.so is the same as a preload.
wg_unit_test(test_resolve SOURCES unit/test_resolve.c preload/slow_gai.c
  LIBS wg_core ${CMAKE_DL_LIBS})
add_library(slow_gai MODULE preload/slow_gai.c)
set_target_properties(slow_gai PROPERTIES POSITION_INDEPENDENT_CODE ON PREFIX lib)
target_link_libraries(slow_gai PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
