"""The receiver against hostile and broken batches over a real mosquitto
(issue 13, defects 1 and 2), with batches built from the docs alone (wire.py):

poison     A batch with seq 10 and a span of 2^63 is refused. A valid span
           that claims the gateway's next 2^20 seqs is printed, and the real
           batches after it still are (as overlaps), not dropped as
           duplicates; only their own redelivery is.
bitflips   Every single-bit flip of a real batch (9 readings) is refused or
           matches no schema; the original then prints its 9 readings once.
           Nothing of a flipped copy is printed.
pending    Batches of a schema that never comes: one gateway's 300 fill its
           own share (256) and no more, the rest of the queue stays open to
           others; everything unmatched ends in the spool (--spool) after
           the TTL or when pushed out, none lost, and the summary counts it.
           A batch that overtakes its schema is printed once the schema comes.
ask        A gateway with 17 retained schemas (the receiver keeps 16): a
           batch of the forgotten one makes the receiver ask the broker for
           the gateway's schemas again, and it is printed.

usage: test_recv_hostile.py BUILD_DIR
"""
import os
import re
import signal
import time

from harness import run, wait, Env, check, read_jsonl
import wire

TTL_S = 2


def summary(text, gw):
    m = re.search(r"wattgate-recv: %s: batches (\d+) .*?readings (\d+), duplicates "
                  r"(\d+), gaps (\d+)(?:, overlaps (\d+))?" % re.escape(gw), text)
    check(m is not None, "no summary line for %s:\n%s", gw, text[-3000:])
    return [int(x or 0) for x in m.groups()]


def main(build):
    with Env(build) as env:
        _, port = env.mosquitto()
        spool = os.path.join(env.dir, "spool")
        os.mkdir(spool)
        out = os.path.join(env.dir, "recv.out")
        pub = wire.Publisher(port)

        # Schemas first, retained: the receiver gets them when it subscribes.
        doc, doc_id = wire.schema("gw-p", wire.DOC_DEVICES)
        pub.publish("wg/gw-p/s/%08x" % doc_id, doc, retain=True)
        ask_ids = []
        for v in range(17):
            devs = [("meter%d" % v,) + wire.DOC_DEVICES[0][1:]] + wire.DOC_DEVICES[1:]
            s, sid = wire.schema("gw-s", devs)
            pub.publish("wg/gw-s/s/%08x" % sid, s, retain=True)
            ask_ids.append(sid)

        recv = env.start("recv", [env.bin("tools", "recv", "wattgate-recv"),
                                  "-p", str(port), "--spool", spool,
                                  "--pending-ttl", str(TTL_S)],
                         stdout=out)
        recv.wait_for(recv.err_path, "subscribed")
        # The retained schemas reach it right after the SUBACK; a batch
        # published now is behind them.

        # poison: refused outright, then a valid span over the future.
        pub.publish("wg/gw-p/b", wire.batch(10, doc_id, span=1 << 63))
        recv.wait_for(recv.err_path, "span over BATCH_SPAN_MAX")
        pub.publish("wg/gw-p/b", wire.batch(1000, doc_id, span=1 << 20))
        for seq in (1001, 1002, 1001):
            pub.publish("wg/gw-p/b", wire.batch(seq, doc_id, wire.DOC_BODY))

        # ... and one that reaches back over a seq printed before.
        b_doc, b_id = wire.schema("gw-b", wire.DOC_DEVICES)
        pub.publish("wg/gw-b/s/%08x" % b_id, b_doc, retain=True)
        for seq, span in ((5, None), (5, 1 << 20), (6, None), (5, None), (6, None)):
            pub.publish("wg/gw-b/b", wire.batch(seq, b_id, wire.DOC_BODY if span is None
                                                else b"\x00", span=span))

        # bitflips: every flip of one real batch, then the batch itself.
        real = wire.batch(5, doc_id, wire.DOC_BODY)
        for i in range(len(real) * 8):
            b = bytearray(real)
            b[i // 8] ^= 1 << (i % 8)
            pub.publish("wg/gw-p/b", bytes(b))
        pub.publish("wg/gw-p/b", real)

        # pending: gw-q's schema never comes; gw-r's comes after its batch.
        q_id = 0x12345678
        for seq in range(1, 301):
            pub.publish("wg/gw-q/b", wire.batch(seq, q_id))
        r_doc, r_id = wire.schema("gw-r", wire.DOC_DEVICES)
        pub.publish("wg/gw-r/b", wire.batch(7, r_id, wire.DOC_BODY))

        # ask: a batch of gw-s's first schema, which the receiver forgot.
        pub.publish("wg/gw-s/b", wire.batch(3, ask_ids[0], wire.DOC_BODY))

        time.sleep(0.5)
        pub.publish("wg/gw-r/s/%08x" % r_id, r_doc, retain=True)

        # Past the TTL everything unmatched has left the queue.
        wait(lambda: len([f for f in os.listdir(spool) if f.startswith("gw-q.")]) == 300,
             TTL_S + 15, "gw-q's 300 batches in the spool")
        time.sleep(TTL_S + 1.5)
        recv.stop(signal.SIGTERM)
        err = recv.stderr()
        pub.close()

        lines = read_jsonl(out)
        by_gw = {}
        for r in lines:
            by_gw.setdefault(r["gateway"], []).append(r)

        # poison: the span printed (no readings), 1001 and 1002 printed as
        # overlaps, 1001 again a duplicate; seq 5 printed once.
        batches, readings, dups, gaps, overlaps = summary(err, "gw-p")
        check(overlaps == 2, "gw-p: %d overlaps, want 2 (1001, 1002)", overlaps)
        p_seqs = sorted(r["seq"] for r in by_gw.get("gw-p", []))
        check(p_seqs == [5] * 9 + [1001] * 9 + [1002] * 9,
              "gw-p printed seqs %s, want 9 readings of each of 5, 1001, 1002",
              sorted(set(p_seqs)))
        check(batches == 4, "gw-p: %d batches printed, want 4 (span, 1001, 1002, 5)",
              batches)
        check(dups >= 1, "gw-p: the redelivered 1001 was not a duplicate")

        b_seqs = sorted(r["seq"] for r in by_gw.get("gw-b", []))
        check(b_seqs == [5] * 9 + [6] * 9, "gw-b printed seqs %s, want 5 and 6 once "
              "each (6 after a span over 5..5+2^20)", sorted(set(b_seqs)))
        batches, readings, dups, gaps, overlaps = summary(err, "gw-b")
        check((overlaps, dups) == (2, 2), "gw-b: %d overlaps, %d duplicates, want "
              "2 (the span, 6) and 2 (5, 6 again)", overlaps, dups)

        # bitflips: none printed (above); each is a bad batch or unmatched.
        flipped = len(real) * 8
        spooled_p = [f for f in os.listdir(spool) if f.startswith("gw-p.")]
        m = re.search(r"bad batches (\d+), bad schemas (\d+), dropped (\d+), "
                      r"unmatched (\d+)", err)
        check(m is not None, "no totals line:\n%s", err[-2000:])
        bad, bad_schemas, dropped, unmatched = (int(x) for x in m.groups())
        check(bad + len(spooled_p) == flipped + 1,
              "flips: %d bad + %d unmatched, want %d (+1: the 2^63 span)",
              bad, len(spooled_p), flipped)
        check(dropped == 0, "%d batches dropped", dropped)
        check(bad_schemas == 0, "%d bad schemas", bad_schemas)
        for f in spooled_p:
            with open(os.path.join(spool, f), "rb") as fh:
                b = fh.read()
            diff = sum(bin(x ^ y).count("1") for x, y in zip(b, real))
            check(len(b) == len(real) and diff == 1,
                  "spooled %s is not a one-bit flip of the batch", f)

        # pending: all 300 of gw-q kept in the spool, none lost.
        check(re.search(r"gw-q: unmatched 300 \(no schema matched in time\), kept "
                        r"in the spool 300, lost 0", err) is not None,
              "gw-q's unmatched line missing:\n%s", err[-2000:])
        check("pushed out of a full pending queue" in err,
              "gw-q's 300 batches never pushed one out (its share is 256)")
        q_files = sorted(int(f.split(".")[1]) for f in os.listdir(spool)
                         if f.startswith("gw-q."))
        check(q_files == list(range(1, 301)), "gw-q spool holds seqs %s..",
              q_files[:5])
        check(len(by_gw.get("gw-r", [])) == 9,
              "gw-r: %d readings printed, want 9 (its batch overtook its schema)",
              len(by_gw.get("gw-r", [])))
        check(unmatched == 300 + len(spooled_p), "unmatched %d, want %d",
              unmatched, 300 + len(spooled_p))

        # ask: the forgotten schema came again.
        check(len(by_gw.get("gw-s", [])) == 9,
              "gw-s: %d readings printed, want 9 (its schema asked for again)",
              len(by_gw.get("gw-s", [])))
        check(by_gw["gw-s"][0]["device"] == "meter0",
              "gw-s printed with device %s, want meter0", by_gw["gw-s"][0]["device"])
        print("hostile receiver: %d flips refused (%d bad, %d unmatched), "
              "300 unmatched spooled, poison span harmless" %
              (flipped, bad - 1, len(spooled_p)))


if __name__ == "__main__":
    run(main)
