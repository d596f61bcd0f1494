# Unit tests of the batch codec (firmware/codec).
wg_unit_test(test_dec SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dec.c LIBS wg_base m)
wg_unit_test(test_batch SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_batch.c LIBS wg_codec)
wg_unit_test(test_schema SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_schema.c LIBS wg_codec)
wg_unit_test(test_span SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_span.c LIBS wg_codec)
