# Unit tests of the update (firmware/ota).
wg_unit_test(test_http_range SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http_range.c
  LIBS wg_ota)
