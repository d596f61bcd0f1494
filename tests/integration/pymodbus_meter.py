"""An independent Modbus server (Debian's pymodbus, not wattgate code) serving a
profile's register map with fixed values, over TCP or RTU on a serial port.

usage: pymodbus_meter.py PROFILE.json VALUES.json (tcp PORT | rtu DEVICE) UNIT

VALUES.json maps point names to numbers (as JSON numbers or decimal strings).
Each is packed into the registers here, with Python's struct and Decimal,
independently of wattgate's register code: enums store the first raw value
that reports the number, bit fields are ORed into their register, integers hold
(value - offset) / scale, and the word/byte order is applied last.
"""
import json
import logging
import struct
import sys
from decimal import Decimal

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.server import StartSerialServer, StartTcpServer

PACK = {"u16": ">H", "i16": ">h", "u32": ">I", "i32": ">i", "u64": ">Q",
        "i64": ">q", "f32": ">f", "f64": ">d"}


def raw_key(k):
    return int(k, 16) if k.lower().startswith("0x") else int(k)


def point_words(p, value, defaults):
    """The point's value as its registers, in the point's order; also the
    bit field (lo, n) or None."""
    t = p.get("type", defaults.get("type"))
    order = p.get("order", defaults.get("order", "ABCD"))
    value = Decimal(str(value))
    if "enum" in p:
        raws = [raw_key(k) for k, v in p["enum"].items() if v == value]
        if not raws:
            # enum_other: whatever another point put there (Alfen's error
            # shares the state's register); nothing to write.
            if p.get("enum_other") != value:
                raise ValueError("%s: %s is not in the enum" % (p["name"], value))
            return t, order, None, None
        raw = raws[0]
    elif t in ("f32", "f64"):
        raw = (value - Decimal(str(p.get("offset", 0)))) / Decimal(str(p.get("scale", 1)))
    else:
        q = (value - Decimal(str(p.get("offset", 0)))) / Decimal(str(p.get("scale", 1)))
        if q != q.to_integral_value():
            raise ValueError("%s: %s is not a multiple of the scale" % (p["name"], value))
        raw = int(q)
    bits = p.get("bits")
    if bits is not None:
        return t, order, raw, (bits[0], bits[1] - bits[0] + 1)
    if t in ("f32", "f64"):
        b = struct.pack(PACK[t], float(raw))
    else:
        if raw < 0 and t.startswith("u"):
            raise ValueError(p["name"])
        b = struct.pack(PACK[t], raw)
    return t, order, b, None


def place(b, order):
    words = [b[i:i + 2] for i in range(0, len(b), 2)]
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    if order in ("CDAB", "DCBA"):
        words = words[::-1]
    return [struct.unpack(">H", w)[0] for w in words]


def registers(profile, values):
    regs = [0] * 65536
    defaults = profile.get("defaults", {})
    for p in profile["points"]:
        t, order, v, field = point_words(p, values[p["name"]], defaults)
        a = p["address"]
        if v is None:
            continue
        if field is None:
            for i, w in enumerate(place(v, order)):
                regs[a + i] = w
            continue
        n = struct.calcsize(PACK[t]) // 2
        stored = b"".join(struct.pack(">H", w) for w in regs[a:a + n])
        # place() is its own inverse: it turns the stored words back into the
        # value's big-endian words.
        cur = int.from_bytes(b"".join(struct.pack(">H", w)
                                      for w in place(stored, order)), "big")
        lo, width = field
        whole = (cur & ~(((1 << width) - 1) << lo)) | (v << lo)
        for i, w in enumerate(place(whole.to_bytes(2 * n, "big"), order)):
            regs[a + i] = w
    return regs


def main():
    profile = json.load(open(sys.argv[1]))
    values = json.load(open(sys.argv[2]))
    mode, where, unit = sys.argv[3], sys.argv[4], int(sys.argv[5])
    block = ModbusSequentialDataBlock(0, registers(profile, values))
    slave = ModbusSlaveContext(ir=block, hr=block, zero_mode=True)
    context = ModbusServerContext(slaves={unit: slave}, single=False)
    logging.basicConfig(level=logging.WARNING)
    print("pymodbus: ready", flush=True)
    if mode == "tcp":
        StartTcpServer(context=context, address=("127.0.0.1", int(where)))
    else:
        StartSerialServer(context=context, framer=ModbusRtuFramer, port=where,
                          baudrate=9600, bytesize=8, parity="N", stopbits=1)


if __name__ == "__main__":
    main()
