# The device identity (Kconfig IDENTITY); the test also calls mbedtls directly
# to check the key, CSR and fingerprint apart from identity.c.
if(CONFIG_IDENTITY)
  wg_unit_test(test_identity SOURCES unit/test_identity.c LIBS wg_core)
  target_include_directories(test_identity SYSTEM PRIVATE ${MBEDTLS_INCLUDE_DIR})
endif()
