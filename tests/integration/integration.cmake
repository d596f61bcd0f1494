# Integration tests: real mosquitto, simulator, daemon and receiver on loopback.
# Debian's python3 is named explicitly (its packages, e.g. pymodbus, live there).
function(wg_integration_test name script)
  add_test(NAME ${name}
    COMMAND ${WG_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${script}
      ${CMAKE_BINARY_DIR} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 300)
endfunction()

wg_integration_test(e2e test_e2e.py)
wg_integration_test(cli test_cli.py)
wg_integration_test(independent test_independent.py)

# The simulator against third-party Modbus clients (mbpoll, pymodbus).
add_test(NAME sim_selftest COMMAND ${CMAKE_SOURCE_DIR}/tools/sim/selftest.sh
  $<TARGET_FILE:wattgate-sim> ${CMAKE_SOURCE_DIR}/drivers/profiles)
set_tests_properties(sim_selftest PROPERTIES LABELS integration TIMEOUT 300)
wg_integration_test(restart test_restart.py)
wg_integration_test(backpressure test_backpressure.py)
wg_integration_test(corrupt test_corrupt.py)
wg_integration_test(faults_broker_outage test_faults.py broker_outage)
wg_integration_test(faults_broker_restarts test_faults.py broker_restarts)
wg_integration_test(faults_kill9 test_faults.py kill9)
wg_integration_test(faults_budget_kill9 test_faults.py budget_kill9)
wg_integration_test(powercut_normal test_powercut.py normal)
wg_integration_test(powercut_full test_powercut.py full)
wg_integration_test(livefirst test_livefirst.py)
wg_integration_test(diskfull test_diskfull.py)
wg_integration_test(clockstep test_clockstep.py)
# MQTT over mutual TLS (throw-away CAs made by the openssl CLI at test time).
wg_integration_test(mqtt_tls test_mqtt_tls.py e2e)
foreach(case outage wrong_ca expired hostname client_ca key_mode identity tls11)
  wg_integration_test(mqtt_tls_${case} test_mqtt_tls.py ${case})
endforeach()
wg_integration_test(mqtt_status test_mqtt_status.py)
# MQTT 5's topic alias, and 3.1.1 for a broker without 5 (a broker in python).
wg_integration_test(mqtt_alias test_mqtt_version.py alias)
wg_integration_test(mqtt_v311 test_mqtt_version.py v311)
# Names off the loop, every address tried (slow_gai stands in for getaddrinfo).
wg_integration_test(resolve_dual_stack test_resolve.py dual_stack)
wg_integration_test(resolve_hung test_resolve.py hung)
# CoAP uplink (libcoap) against wattgate-recv's CoAP/CoAPS server (test_coap.py).
foreach(_s plain psk pki bad_psk bad_psk_id bad_ca unknown_client expired loss too_large
    too_large_cycle set_aside link_refused link_refused_psk coapclient
    block1_size1 block1_20mb block1_hold)
  wg_integration_test(coap_${_s} test_coap.py ${_s})
endforeach()
wg_integration_test(identity test_identity.py)
# Under a service manager (sd_notify's protocol, firmware/base/notify.c): the
# test plays systemd's side of NOTIFY_SOCKET. hang_loop (an LD_PRELOAD,
# tests/preload/hang_loop.c) hangs the main loop on cue: the watchdog pings
# must stop. A module: built with the daemon's sanitizers.
add_library(hang_loop MODULE preload/hang_loop.c)
set_target_properties(hang_loop PROPERTIES POSITION_INDEPENDENT_CODE ON PREFIX lib)
target_link_libraries(hang_loop PRIVATE ${CMAKE_DL_LIBS})
foreach(case lifecycle hang state_dir missing_port)
  wg_integration_test(notify_${case} test_notify.py ${case})
endforeach()
wg_integration_test(no_secrets test_no_secrets.py)
# Failover: MQTT primary, CoAP fallback; the broker stopped mid-run (test_failover.py).
wg_integration_test(failover test_failover.py)
wg_integration_test(failover_coap_refused test_failover.py coap_refused)
wg_integration_test(failover_coap_failing test_failover.py coap_failing)
wg_integration_test(profiles test_profiles.py)
wg_integration_test(mbpoll test_mbpoll.py)
wg_integration_test(simfaults test_simfaults.py)
wg_integration_test(simwrite test_simwrite.py)
wg_integration_test(busfaults test_busfaults.py)
wg_integration_test(busfaults_late test_busfaults.py late)
wg_integration_test(scan test_scan.py)
wg_integration_test(info test_info.py)
wg_integration_test(charger_session test_charger_session.py)
# RTU over TCP: a converter simulated, restarted mid-run; a refused port (test_rtutcp.py).
wg_integration_test(rtutcp test_rtutcp.py)
# The receiver against hostile batches; an independent receiver from the docs.
wg_integration_test(recv_hostile test_recv_hostile.py)
wg_integration_test(docrecv test_docrecv.py)
# Answers with a wrong MBAP unit or protocol id, or RTU address (test_wrongids.py).
wg_integration_test(wrongids test_wrongids.py)
# Signed commands: the fleet tool's keys, frames, seq files, and sending over
# a real mosquitto with a python gateway answering (test_fleet.py).
wg_integration_test(fleet test_fleet.py)

# The control plane (issue 14, docs/commands.md): signed commands end to end.
foreach(case basic bad offline config reboot charger refresh scan kill9 powercut)
  wg_integration_test(commands_${case} test_commands.py ${case})
endforeach()

# The technician console's socket (issue 16, docs/console.md): bad input of
# every kind, a thousand connections, a peer not allowed, logins required.
if(CONFIG_CONSOLE)
  foreach(case oversized garbage escapes idle many peer login info)
    wg_integration_test(console_socket_${case} test_console_socket.py ${case})
    # 77: "peer" without root (it setuid()s a child) is skipped, not passed.
    set_tests_properties(console_socket_${case} PROPERTIES SKIP_RETURN_CODE 77)
  endforeach()
endif()

# The control plane over CoAP (docs/coap.md "Commands and results"): the
# receiver holds the commands, the gateway asks, wattgate-fleet send --coap.
foreach(case basic bad offline hostile poll_bytes)
  wg_integration_test(commands_coap_${case} test_commands_coap.py ${case})
endforeach()

# Updates (issue 15, docs/ota.md, Kconfig OTA). The download: fetch_range
# through wg-fetch against otaserver.py over HTTPS, its faults one by one
# (test_fetch.py), and over CoAP Block2 against wattgate-recv --coap-files
# (fetch_coap.c needs the CoAP uplink's loader). The host board's
# bootloader (board/host/launcher): bootcount/bootlimit/altbootcmd on two
# environment files, fake images. The whole update (test_ota.py).
if(CONFIG_OTA)
  foreach(case whole middle resume status_404 status_500 overlong norange shift
      wrong_ca wrong_name http stall cancel rate)
    wg_integration_test(fetch_${case} test_fetch.py ${case})
  endforeach()
  if(CONFIG_UPLINK_COAP)
    foreach(case coap_whole coap_middle coap_resume coap_status coap_stall
        coap_cancel coap_rate coaps_psk)
      wg_integration_test(fetch_${case} test_fetch.py ${case})
    endforeach()
  endif()
  wg_integration_test(launcher test_launcher.py)
  foreach(case update bad resume orphan)
    wg_integration_test(ota_${case} test_ota.py ${case})
  endforeach()
  # Power cuts at every write and fsync of an update (tests/preload/cut_io.c
  # under the launcher and all it starts; test_ota_powercut.py).
  # About 150 s alone on 2 cores; room for a busy machine.
  wg_integration_test(ota_powercut test_ota_powercut.py)
  set_tests_properties(ota_powercut PROPERTIES TIMEOUT 600)
endif()

# OTA bundles (docs/ota.md "Bundle"): wattgate-sign's keys, bundles byte for
# byte, verification and every refusal (test_sign.py).
wg_integration_test(sign test_sign.py)

# Logins at the technician console (docs/console.md "Login"), over its socket:
# technician keys, the password set by a signed command, the growing wait,
# the lockout across a restart, sessions resumed; every attempt a
# console.login record at the receiver (test_console_login.py).
if(CONFIG_CONSOLE)
  foreach(case key password lockout resume fleet)
    wg_integration_test(console_login_${case} test_console_login.py ${case})
  endforeach()
endif()

# The technician console's commands that act (issue 16, docs/console.md
# "Commands"): device, watch, read, scan, config, reboot over the socket.
# Exit 77: a build without logins, where the write commands cannot run.
if(CONFIG_CONSOLE)
  foreach(case look act)
    wg_integration_test(console_act_${case} test_console_act.py ${case})
    set_tests_properties(console_act_${case} PROPERTIES SKIP_RETURN_CODE 77)
  endforeach()
endif()

# wattgate-console on a real terminal (pexpect on a pty, issue 16,
# docs/console.md "Using wattgate-console"): the technician's session of the
# issue's "Done when" (key login, status, a dead meter, its register, scan,
# config check and apply across the restart, the register again), password
# login, completion, history, Ctrl-C, watch, a daemon restarted under it, a
# console killed mid-command, -c scripts, dumb terminals, a pulled cable,
# wrong responses and the lockout, an idle session. One world, ~40 s.
if(CONFIG_CONSOLE)
  wg_integration_test(console test_console.py)
endif()
