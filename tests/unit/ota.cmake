# Unit tests of the update (firmware/ota).
wg_unit_test(test_http_range SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http_range.c
  LIBS wg_ota)
wg_unit_test(test_block2 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_block2.c
  LIBS wg_ota)
