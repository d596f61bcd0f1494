# The receiver's pieces (tools/recv): dedupe on its own; output, pending queue
# and gateway table with the codec; the CoAP Block1 reassembly and its bounds.
wg_unit_test(test_dedupe SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dedupe.c LIBS wg_dedupe)
wg_unit_test(test_recv SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_recv.c LIBS wg_recv)
wg_unit_test(test_coap_blk SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_coap_blk.c LIBS wg_recv)
