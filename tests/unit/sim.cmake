# The simulator's pieces (framing, CRC, model, request handling, log).
wg_unit_test(test_sim SOURCES ${CMAKE_SOURCE_DIR}/tools/sim/test_sim.c LIBS wg_sim)
wg_unit_test(test_chgmodel SOURCES ${CMAKE_SOURCE_DIR}/tools/sim/test_chgmodel.c
  LIBS wg_sim)
# Writes to simulated chargers, the car following the limit, charger faults.
wg_unit_test(test_simwrite SOURCES ${CMAKE_SOURCE_DIR}/tools/sim/test_simwrite.c
  LIBS wg_sim)
