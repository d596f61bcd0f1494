# Unit tests of the update (firmware/ota, Kconfig OTA). test_bootenv also
# checks that Debian's fw_printenv/fw_setenv (the host board's launcher uses
# them) read what libubootenv wrote here and back.
if(CONFIG_OTA)
  wg_unit_test(test_http_range SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http_range.c
    LIBS wg_ota)
  wg_unit_test(test_block2 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_block2.c
    LIBS wg_ota)
  wg_unit_test(test_board SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_board.c LIBS wg_ota)
  wg_unit_test(test_bootenv SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bootenv.c
    LIBS wg_ota PkgConfig::ZLIB)
endif()
