# drivers/: register decoding, profiles, bus-time model and request plans. The
# generic driver's poll is tested against a fake bus when the driver is built
# in; the real bus only against the simulator (integration tests).
set(_drv ${CMAKE_SOURCE_DIR}/drivers)

wg_unit_test(test_regmap SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_regmap.c
  LIBS wg_drivers)
wg_unit_test(test_profile SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_profile.c
  LIBS wg_drivers)
wg_unit_test(test_profile_info
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_profile_info.c LIBS wg_drivers)
wg_unit_test(test_writable SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_writable.c
  LIBS wg_drivers m)
wg_unit_test(test_profile_limits
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_profile_limits.c LIBS wg_drivers)
wg_unit_test(test_bustime SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bustime.c
  LIBS wg_drivers)
wg_unit_test(test_plan SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_plan.c
  LIBS wg_drivers)
if(CONFIG_DRIVER_REGMAP)
  wg_unit_test(test_regmap_driver
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_regmap_driver.c LIBS wg_drivers)
  wg_unit_test(test_charger SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_charger.c
    LIBS wg_drivers)
endif()
# Point decoding (markers, bit fields, enums, offsets, coils, strings) and the
# shipped profiles plus the loader's rules for those keys.
wg_unit_test(test_point SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_point.c
  LIBS wg_drivers)
wg_unit_test(test_profiles SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_profiles.c
  LIBS wg_drivers)
# The bus's own failures: RS-485 mode on a pty, RTU over TCP refused, unknown,
# lost; reads of up to 2,000 bits against a libmodbus server (the frames are
# tested against the simulator: test_rtutcp.py).
if(CONFIG_BUS_RTU AND CONFIG_BUS_TCP)
  wg_unit_test(test_bus SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bus.c
    LIBS wg_drivers wg_sim)
  # Writes (FC6/FC16) against a scripted peer, TCP and RTU frames.
  wg_unit_test(test_bus_write SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bus_write.c
    LIBS wg_drivers wg_sim)
endif()
