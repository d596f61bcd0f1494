#!/usr/bin/python3
"""Sum a /proc/PID/smaps per object: where a process's RSS lives.

    tools/bench/smaps.py FILE [FILE...]

FILE is a copy of /proc/PID/smaps (tools/bench/run keeps one per run when
WG_BENCH_SMAPS=DIR is set). Prints one line per object (a library's mappings
together, [heap], [stack], anonymous mappings by size class) with Rss,
Anonymous and Private_Dirty in kB, largest Rss first, and the total. Objects
under 8 kB of Rss are folded into "(small)". docs/memory.md reads these tables.
"""
import collections
import os
import re
import sys

HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")
FIELDS = ("Rss", "Anonymous", "Private_Dirty")


def objects(path):
    """Yield (name, {field: kB}) per mapping of one smaps file."""
    name, vals = None, None
    with open(path) as f:
        for line in f:
            if HEADER.match(line):
                if name is not None:
                    yield name, vals
                parts = line.split()
                start, end = (int(x, 16) for x in parts[0].split("-"))
                if len(parts) >= 6:
                    name = os.path.basename(parts[5]) if parts[5].startswith("/") \
                        else parts[5]
                else:
                    # Anonymous mappings: thread stacks (8 MiB by default) and
                    # malloc arenas (64 MiB reserved) are told apart by size.
                    kb = (end - start) // 1024
                    name = "[anon %s]" % (
                        "thread stack" if 8000 <= kb <= 8200 else
                        "arena" if kb >= 60000 else "mmap")
                vals = collections.Counter()
                continue
            k, _, rest = line.partition(":")
            if k in FIELDS:
                vals[k] += int(rest.split()[0])
    if name is not None:
        yield name, vals


def table(path):
    sums = collections.defaultdict(collections.Counter)
    for name, vals in objects(path):
        sums[name].update(vals)
    total = collections.Counter()
    small = collections.Counter()
    rows = []
    for name, vals in sums.items():
        total.update(vals)
        if vals["Rss"] < 8:
            small.update(vals)
        else:
            rows.append((name, vals))
    rows.sort(key=lambda r: -r[1]["Rss"])
    rows.append(("(small)", small))
    print("== %s" % path)
    print("%-34s %7s %9s %13s" % ("object", "Rss", "Anonymous", "Private_Dirty"))
    for name, v in rows + [("TOTAL", total)]:
        print("%-34s %7d %9d %13d" % (name, v["Rss"], v["Anonymous"],
                                       v["Private_Dirty"]))


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for p in sys.argv[1:]:
        table(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
