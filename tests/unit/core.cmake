wg_unit_test(test_sched SOURCES unit/test_sched.c LIBS wg_core)
wg_unit_test(test_config SOURCES unit/test_config.c LIBS wg_core)
wg_unit_test(test_store SOURCES unit/test_store.c LIBS wg_core)
wg_unit_test(test_hold SOURCES unit/test_hold.c LIBS wg_core)
