"""Checks for tools/sim/selftest.sh (run with Debian's /usr/bin/python3, which has
pymodbus 3.0). Each subcommand prints one line per failure and exits 1 if any.

  compare LOG MBPOLL_OUT PROFILE UNIT FIRST_REF NREGS float|hex
      what mbpoll printed for NREGS input registers from FIRST_REF (1-based)
      equals the log's last block for UNIT
  log LOG           every line is JSON; energy counters never decrease
  tcp PORT REQS     pymodbus clients at once, exceptions, bad frames
  rtu PATH REQS     pymodbus RTU client, exceptions, noise, stale replies
"""
import json
import os
import select
import socket
import struct
import sys
import termios
import time
import tty

failures = []


def fail(msg):
    failures.append(msg)
    print("selftest: " + msg, file=sys.stderr)


def f32(x):
    return struct.unpack(">f", struct.pack(">f", x))[0]


# Plausible ranges of the sdm630 points the model knows.
RANGES = {
    "voltage_l": (207, 253), "current_l": (0, 16), "power_l": (0, 4100),
    "power_factor": (0.9, 1.0), "current_sum": (0, 48),
    "power_total": (0, 12200), "apparent_power_total": (0, 12200),
    "reactive_power_total": (0, 6000), "frequency": (49.95, 50.05),
    "energy_": (0, 1e6),
}


def plausible(name, v):
    for prefix, (lo, hi) in RANGES.items():
        if name.startswith(prefix):
            if not lo <= v <= hi:
                fail("%s = %r outside %r..%r" % (name, v, lo, hi))
            return
    fail("%s: no range known" % name)


def read_log(path):
    lines = []
    with open(path) as f:
        for n, text in enumerate(f, 1):
            try:
                lines.append(json.loads(text))
            except ValueError:
                fail("%s:%d: not JSON: %r" % (path, n, text))
    return lines


def cmd_compare(log, out, profile, unit, first, count, mode):
    unit, first, count = int(unit), int(first), int(count)
    with open(profile) as f:
        prof = json.load(f)
    points = prof["points"]
    fc = prof.get("defaults", {}).get("fc")
    shown = {}
    with open(out) as f:
        for text in f:
            if text.startswith("["):
                ref, val = text.split("]:")
                shown[int(ref[1:])] = val.strip()
    block = [r for r in read_log(log) if r["unit"] == unit]
    if not block:
        fail("log has no line for unit %d" % unit)
        return
    block = [r for r in block if r["t_ms"] == block[-1]["t_ms"]]
    logged = {r["point"]: r["value"] for r in block}
    # refs are 1-based: the read covers addresses first-1 .. first+count-2.
    inside = [p for p in points if p.get("fc", fc) == 4 and
              p["address"] >= first - 1 and p["address"] + 2 <= first - 1 + count]
    if sorted(logged) != sorted(p["name"] for p in inside):
        fail("unit %d: logged points %s, read covers %s" %
             (unit, sorted(logged), sorted(p["name"] for p in inside)))
    for p in inside:
        name, ref = p["name"], p["address"] + 1
        if name not in logged:
            continue
        v = logged[name]
        plausible(name, v)
        if mode == "float":
            want = "%g" % f32(v)
            got = shown.get(ref)
        else:
            hi, lo = struct.unpack(">HH", struct.pack(">f", v))
            want = "0x%04X 0x%04X" % (hi, lo)
            got = "%s %s" % (shown.get(ref), shown.get(ref + 1))
        if got != want:
            fail("unit %d %s (ref %d): mbpoll shows %s, log says %r (%s)" %
                 (unit, name, ref, got, v, want))
    print("selftest: unit %d: %d points match mbpoll (%s)" %
          (unit, len(inside), mode))


def cmd_log(log):
    last = {}
    lines = read_log(log)
    for r in lines:
        if set(r) != {"t_ms", "unit", "point", "value"}:
            fail("log line with keys %s" % sorted(r))
            continue
        key = (r["unit"], r["point"])
        if r["point"].startswith("energy_"):
            if key in last and r["value"] < last[key][1]:
                fail("%s fell from %r to %r" % (key, last[key][1], r["value"]))
        if key in last and r["t_ms"] < last[key][0]:
            fail("%s: time went back" % (key,))
        last[key] = (r["t_ms"], r["value"])
    print("selftest: log: %d lines, counters monotonic" % len(lines))


def regs_f32(regs, i):
    return struct.unpack(">f", struct.pack(">HH", regs[i], regs[i + 1]))[0]


def check_exceptions(c, unit):
    r = c.read_holding_registers(0, 2, slave=unit)
    if not r.isError() or getattr(r, "exception_code", None) != 2:
        fail("FC3 on unit %d: want exception 2, got %r" % (unit, r))
    r = c.read_input_registers(400, 2, slave=unit)
    if not r.isError() or getattr(r, "exception_code", None) != 2:
        fail("FC4 @400 on unit %d: want exception 2, got %r" % (unit, r))
    # FC1 is served now, but the SDM630 has no coils: an address exception.
    r = c.read_coils(0, 1, slave=unit)
    if not r.isError() or getattr(r, "exception_code", None) != 2:
        fail("FC1 on unit %d: want exception 2, got %r" % (unit, r))
    r = c.read_input_registers(0, 2, slave=9)
    if not r.isError():
        fail("unit 9 (not simulated) answered: %r" % r)


def poll_loop(clients, reqs):
    """Interleave reads of the clients; energy must never fall."""
    last = {}
    for i in range(reqs):
        c, unit = clients[i % len(clients)]
        r = c.read_input_registers(0, 76, slave=unit)
        if r.isError():
            fail("read of unit %d failed: %r" % (unit, r))
            return
        e = regs_f32(r.registers, 72)
        if not 207 <= regs_f32(r.registers, 0) <= 253:
            fail("unit %d voltage_l1 = %r" % (unit, regs_f32(r.registers, 0)))
        if e < last.get(unit, 0):
            fail("unit %d energy_import fell: %r -> %r" % (unit, last[unit], e))
        last[unit] = e


def mbap(tid, unit, pdu, proto=0):
    return struct.pack(">HHHB", tid, proto, len(pdu) + 1, unit) + pdu


def recv_all(s, n, timeout=2.0):
    s.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def cmd_tcp(port, reqs):
    from pymodbus.client import ModbusTcpClient

    port, reqs = int(port), int(reqs)
    a = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    b = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    if not (a.connect() and b.connect()):
        fail("pymodbus could not connect to 127.0.0.1:%d" % port)
        return
    # A client stuck in the middle of a frame must not stall the others.
    half = socket.create_connection(("127.0.0.1", port))
    req = mbap(77, 1, struct.pack(">BHH", 4, 70, 6))
    half.sendall(req[:5])
    poll_loop([(a, 1), (b, 2)], reqs)
    half.sendall(req[5:])
    rsp = recv_all(half, 9 + 12)
    if len(rsp) != 21 or rsp[:2] != b"\x00\x4d" or rsp[7:9] != b"\x04\x0c":
        fail("split request: bad answer %r" % rsp)
    # A broken MBAP header (protocol 7) ends that connection only.
    half.sendall(mbap(78, 1, struct.pack(">BHH", 4, 0, 2), proto=7))
    if recv_all(half, 1) != b"":
        fail("bad MBAP header: connection not closed")
    half.close()
    # Dead unit, exceptions; a wrong-length FC4 PDU is exception 3.
    check_exceptions(a, 1)
    raw = socket.create_connection(("127.0.0.1", port))
    raw.sendall(mbap(79, 2, struct.pack(">BHHB", 4, 0, 2, 0)))
    if recv_all(raw, 9) != mbap(79, 2, b"\x84\x03"):
        fail("FC4 PDU of 6 bytes: want exception 3")
    raw.close()
    poll_loop([(a, 2)], 2)
    a.close()
    b.close()
    if not failures:
        print("selftest: tcp: %d pymodbus requests over 2 clients, errors ok"
              % reqs)


def crc16(data):
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


def adu(unit, pdu):
    return bytes([unit]) + pdu + crc16(bytes([unit]) + pdu)


def read_for(fd, seconds):
    data, end = b"", time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return data
        data += os.read(fd, 512)


def cmd_rtu(path, reqs):
    from pymodbus.client import ModbusSerialClient

    reqs = int(reqs)
    c = ModbusSerialClient(port=path, baudrate=9600, timeout=1, retries=0)
    if not c.connect():
        fail("pymodbus could not open %s" % path)
        return
    poll_loop([(c, 1), (c, 5)], reqs)
    check_exceptions(c, 5)
    c.close()

    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    termios.tcflush(fd, termios.TCIOFLUSH)
    good = adu(1, struct.pack(">BHH", 4, 70, 2))
    want_len = 3 + 4 + 2
    # Noise before a request: skipped, the request answered.
    os.write(fd, b"\x55\xaa\x01\x04" + good)
    rsp = read_for(fd, 0.5)
    if len(rsp) != want_len or rsp[:3] != b"\x01\x04\x04" or \
            crc16(rsp[:-2]) != rsp[-2:]:
        fail("request after noise: answer %r" % rsp)
    elif not 49.95 <= struct.unpack(">f", rsp[3:7])[0] <= 50.05:
        fail("frequency over raw RTU: %r" % rsp)
    # A bad CRC gets no answer; neither does a unit nobody simulates.
    os.write(fd, good[:-1] + bytes([good[-1] ^ 0xFF]))
    os.write(fd, adu(9, struct.pack(">BHH", 4, 0, 2)))
    rsp = read_for(fd, 0.3)
    if rsp:
        fail("bad CRC / unit 9: unexpected answer %r" % rsp)
    # An unknown function, framed only by silence: exception 1.
    os.write(fd, adu(5, b"\x2b\x0e\x01\x00"))
    rsp = read_for(fd, 0.3)
    if rsp != adu(5, b"\xab\x01"):
        fail("FC43: want exception 1, got %r" % rsp)
    # A reply its client never read must not reach the next one to open the
    # port (a gateway killed and restarted: the restart takes longer than the
    # simulator needs to see the close). No tcsetattr on reopening: its
    # TCSAFLUSH would do the simulator's job.
    os.write(fd, good)
    time.sleep(0.1)
    os.close(fd)
    time.sleep(0.05)
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    os.write(fd, adu(5, struct.pack(">BHH", 4, 0, 2)))
    rsp = read_for(fd, 0.3)
    if len(rsp) != 9 or rsp[0] != 5:
        fail("stale reply not dropped: read %r" % rsp)
    os.close(fd)
    if not failures:
        print("selftest: rtu: %d pymodbus requests, noise, CRC, stale reply ok"
              % reqs)


def main():
    cmds = {"compare": cmd_compare, "log": cmd_log, "tcp": cmd_tcp,
            "rtu": cmd_rtu}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        cmds[sys.argv[1]](*sys.argv[2:])
    except Exception as e:  # a crash is a failure with its reason
        fail("%s: %s: %s" % (sys.argv[1], type(e).__name__, e))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
