"""An independent Modbus server (Debian's pymodbus, not wattgate code) serving a
profile's register map with fixed values, over TCP or RTU on a serial port.

usage: pymodbus_meter.py PROFILE.json VALUES.json (tcp PORT | rtu DEVICE) UNIT

VALUES.json maps point names to numbers; each is packed into the registers with
Python's struct (big-endian f32 for type f32, word order ABCD), independently of
wattgate's register code.
"""
import json
import logging
import struct
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.server import StartSerialServer, StartTcpServer

PACK = {"f32": ">f", "u16": ">H", "i16": ">h", "u32": ">I", "i32": ">i"}


def registers(profile, values):
    regs = [0] * 1024
    defaults = profile.get("defaults", {})
    for p in profile["points"]:
        t = p.get("type", defaults.get("type", "u16"))
        raw = struct.pack(PACK[t], values[p["name"]])
        for i in range(0, len(raw), 2):
            regs[p["address"] + i // 2] = struct.unpack(">H", raw[i:i + 2])[0]
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
