# Unit tests of the batch codec (firmware/codec).
wg_unit_test(test_dec SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dec.c LIBS wg_base m)
wg_unit_test(test_batch SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_batch.c LIBS wg_codec)
wg_unit_test(test_schema SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_schema.c LIBS wg_codec)
wg_unit_test(test_span SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_span.c LIBS wg_codec)
# The signed command format (firmware/codec/command.c), signed by the tools'
# signer (tools/lib) with the test key (tests/fixtures/cmdkey.c).
wg_unit_test(test_command SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_command.c
  ${CMAKE_CURRENT_LIST_DIR}/../fixtures/cmdkey.c LIBS wg_toollib wg_codec)
# OTA manifests (firmware/codec/manifest.c), signed the same way.
wg_unit_test(test_manifest SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_manifest.c
  ${CMAKE_CURRENT_LIST_DIR}/../fixtures/cmdkey.c LIBS wg_toollib wg_codec)
# The console's login formats (firmware/codec/techcred.c, pwhash.c):
# credentials signed by the test key, responses, challenges, PBKDF2 vectors.
wg_unit_test(test_techcred SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_techcred.c
  ${CMAKE_CURRENT_LIST_DIR}/../fixtures/cmdkey.c LIBS wg_toollib wg_codec)
# The technician console's request line (firmware/codec/console_req.c).
if(CONFIG_CONSOLE)
  wg_unit_test(test_console_req SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_console_req.c
    LIBS wg_codec)
endif()
