# The simulator's pieces (framing, CRC, model, request handling, log).
wg_unit_test(test_sim SOURCES ${CMAKE_SOURCE_DIR}/tools/sim/test_sim.c LIBS wg_sim)
wg_unit_test(test_chgmodel SOURCES ${CMAKE_SOURCE_DIR}/tools/sim/test_chgmodel.c
  LIBS wg_sim)
