/*
 * Seeds for the harnesses that take what the gateway makes: batches (live,
 * backlog spans, volatile, with and without the gateway id) and the schema
 * of two shipped profiles, as the encoder writes them. Also MQTT records
 * for fuzz_recv_mqtt: a schema then its batches, as a broker delivers them;
 * and CoAP requests for fuzz_recv_coap: the same, whole and in Block1
 * blocks, and a Size1 too large.
 *
 * And a small store as the daemon leaves it (batches, a schema, an ack).
 *
 * And the devices wattgate scan identifies (fuzz_scan.h): each profile the
 * scan harness tries, served by the simulator as test_scan.py and
 * test_info.py scan them.
 *
 * And signed commands for fuzz_command: one frame per command type, signed
 * with the test key (tests/fixtures/cmdkey.h), so the harness reaches a
 * signature that verifies; and one with a signature of zeros.
 *
 * And login responses for fuzz_techcred: credentials signed with the test
 * key, certifying that same key as the technician's, and its answer to the
 * harness's challenge (fuzz_techcred.h); one for every gateway, one with a
 * signature of zeros; and the challenge itself.
 *
 * And OTA manifests for fuzz_manifest, signed the same way: one chunk, the
 * most chunks and boards, a short last chunk, a bundle with its image
 * behind the manifest, and a signature of zeros.
 *
 *   fuzz_seeds DIR      writes DIR/batch/, DIR/schema/, DIR/recv_mqtt/,
 *                       DIR/recv_coap/, DIR/store/, DIR/scan/ (and
 *                       DIR/scan_profiles/, the harness's two profiles with
 *                       an info string check), DIR/command/,
 *                       DIR/manifest/, DIR/techcred/
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/identify.h"
#include "drivers/profile.h"
#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"
#include "firmware/store/store.h"
#include "firmware/codec/command.h"
#include "firmware/codec/manifest.h"
#include "firmware/codec/techcred.h"
#include "tests/fixtures/cmdkey.h"
#include "tests/fuzz/fuzz_profiles.h"
#include "tests/fuzz/fuzz_scan.h"
#include "tests/fuzz/fuzz_techcred.h"
#include "tools/sim/sim.h"

#define T0	1796515200000LL	/* 2026-12-06 */

static const char *out_dir;

static void
put(const char *sub, const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, sub, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* A schema of one device per profile; its JSON and id. */
static char *
make_schema(const struct profile *ps, size_t n, uint32_t *id)
{
	struct schema s = { .gateway = "gw-0001", .n_devices = n };
	struct schema_device d[4];
	char *json;
	size_t i, k;

	s.devices = d;
	for (i = 0; i < n; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "dev%zu", i);
		snprintf(d[i].profile, sizeof(d[i].profile), "%s", ps[i].name);
		d[i].n_points = ps[i].n_points;
		d[i].points = calloc(ps[i].n_points, sizeof(*d[i].points));
		for (k = 0; k < ps[i].n_points; k++) {
			snprintf(d[i].points[k].name, sizeof(d[i].points[k].name),
			    "%s", ps[i].points[k].name);
			snprintf(d[i].points[k].unit, sizeof(d[i].points[k].unit),
			    "%s", ps[i].points[k].unit);
		}
	}
	if (schema_to_json(&s, &json, id) != 0)
		exit(1);
	for (i = 0; i < n; i++)
		free(d[i].points);
	return json;
}

/* cycles of every point of every device, values drifting, some invalid. */
static size_t
make_readings(const struct profile *ps, size_t n, int cycles, struct reading *r)
{
	size_t m = 0, i, k;
	int c;

	for (c = 0; c < cycles; c++)
		for (i = 0; i < n; i++)
			for (k = 0; k < ps[i].n_points; k++)
				r[m++] = (struct reading){ .ts_ms = T0 + c * 30000LL,
				    .dev = (uint16_t)i, .point = (uint16_t)k,
				    .quality = (k + c) % 17 == 0 ? 1 : 0,
				    .v = { 23000 + (int64_t)(c * 7 + k * 13),
				    (int16_t)-2 } };
	return m;
}

static size_t
wrap(const struct reading *r, size_t n, struct batch_hdr *h, uint8_t *out,
    size_t cap)
{
	size_t blen, raw, len;
	uint8_t *body = malloc(batch_body_bound(n));

	if (batch_encode_body(r, n, body, batch_body_bound(n), &blen, &h->flags,
	    &raw) != 0 || batch_wrap(h, body, blen, raw, out, cap, &len) != 0)
		exit(1);
	free(body);
	return len;
}

/* One MQTT record of fuzz_recv_mqtt.c. */
static size_t
record(uint8_t *out, const char *topic, const void *p, size_t len)
{
	size_t tl = strlen(topic);

	out[0] = (uint8_t)tl;
	memcpy(out + 1, topic, tl);
	out[1 + tl] = (uint8_t)len;
	out[2 + tl] = (uint8_t)(len >> 8);
	memcpy(out + 3 + tl, p, len);
	return 3 + tl + len;
}

/*
 * One request record of fuzz_recv_coap.c; ctl as there (bit 0 PUT, bit 1
 * Block1, bit 2 More, bits 3-5 szx, bit 6 Size1).
 */
static size_t
coap_record(uint8_t *out, uint8_t ctl, uint32_t num, uint32_t size1,
    const char *path, const void *p, size_t len)
{
	size_t pl = strlen(path);
	int i;

	out[0] = ctl;
	out[1] = 0;		/* no time passes */
	for (i = 0; i < 3; i++)
		out[2 + i] = (uint8_t)(num >> 8 * i);
	for (i = 0; i < 4; i++)
		out[5 + i] = (uint8_t)(size1 >> 8 * i);
	out[9] = (uint8_t)pl;
	memcpy(out + 10, path, pl);
	out[10 + pl] = (uint8_t)len;
	out[11 + pl] = (uint8_t)(len >> 8);
	memcpy(out + 12 + pl, p, len);
	return 12 + pl + len;
}

/* A body in Block1 blocks of 2^(szx+4) bytes with Size1, as libcoap sends. */
static size_t
coap_blocks(uint8_t *out, uint8_t is_put, unsigned szx, const char *path,
    const uint8_t *p, size_t len)
{
	size_t bs = (size_t)16 << szx, off, l, n = 0;
	uint32_t num;
	int more;

	for (num = 0, off = 0;; num++, off += bs) {
		l = len - off < bs ? len - off : bs;
		more = off + l < len;
		n += coap_record(out + n, (uint8_t)(is_put | 2 | more << 2 |
		    szx << 3 | 0x40), num, (uint32_t)len, path, p + off, l);
		if (!more)
			return n;
	}
}

/* A store of three batches, one acked, and the schema: DIR/store/small.db. */
static void
make_store(const uint8_t *body, size_t len, uint32_t id, const char *json)
{
	char path[512], err[512], sub[512];
	struct store *s;
	struct store_batch b = { .schema_id = id, .flags = 0, .t_first = T0,
		.n_readings = 21, .raw_len = len, .body = body, .body_len = len };
	int i;

	snprintf(sub, sizeof(sub), "%s/store", out_dir);
	mkdir(sub, 0755);
	snprintf(path, sizeof(path), "%s/small.db", sub);
	unlink(path);
	if (store_open("sqlite", path, &s, err, sizeof(err)) != 0 ||
	    store_put_schema(s, id, json) != 0) {
		fprintf(stderr, "fuzz_seeds: %s\n", err);
		exit(1);
	}
	for (i = 0; i < 3; i++) {
		b.t_first = T0 + i * 30000LL;
		if (store_append(s, &b) != 0)
			exit(1);
	}
	if (store_ack(s, b.seq) != 0)
		exit(1);
	store_close(s);
	snprintf(path, sizeof(path), "%s/small.db-reserve", sub);
	unlink(path);
}

/* Ask the simulator's unit 1 for count values at (fc, addr); into in[]. */
static void
serve(struct sim *s, int fc, int addr, int count, uint8_t *in)
{
	uint8_t q[5] = { (uint8_t)fc, (uint8_t)(addr >> 8), (uint8_t)addr,
		(uint8_t)(count >> 8), (uint8_t)count };
	uint8_t rsp[SIM_PDU_MAX];
	unsigned v;
	size_t off;
	int i;

	if (sim_pdu(s, 1, q, sizeof(q), T0, rsp) < 2 || rsp[0] != fc)
		return;		/* an exception: nothing to place */
	for (i = 0; i < count; i++) {
		v = fc <= 2 ? (unsigned)(rsp[2 + i / 8] >> (i % 8)) & 1 :
		    (unsigned)rsp[2 + 2 * i] << 8 | rsp[3 + 2 * i];
		off = scan_offset(fc, addr + i);
		in[off] = (uint8_t)(v >> 8);
		in[off + 1] = (uint8_t)v;
	}
}

/*
 * The seed of profile p (dir/NAME.json): what the simulator serves for its
 * plan and its info strings.
 */
static void
scan_seed(const char *dir, const struct profile *p)
{
	struct plan_req reqs[PROFILE_POINTS_MAX];
	uint8_t in[SCAN_INPUT_MAX] = { 0 };
	struct scan_device dev = { in, sizeof(in) };
	struct identify_src src = { scan_answer, &dev };
	struct identify_fit f;
	struct sim s;
	char err[512], file[80];
	int n, i;

	memset(&s, 0, sizeof(s));
	if (sim_add(&s, 1, dir, p->name, 1, err, sizeof(err)) != 0 ||
	    (n = plan_build(p, reqs, PROFILE_POINTS_MAX)) < 0) {
		fprintf(stderr, "fuzz_seeds: scan: %s: %s\n", p->name, err);
		exit(1);
	}
	for (i = 0; i < n; i++)
		serve(&s, reqs[i].fc, reqs[i].addr, reqs[i].count, in);
	for (i = 0; i < (int)p->n_info; i++)
		serve(&s, p->info[i].fc, p->info[i].addr, p->info[i].len, in);
	/* Two registers in one place of the input can spoil a seed: say so. */
	if (identify_answers(&src, p, 1, &f, 1) != 1)
		fprintf(stderr, "fuzz_seeds: scan: %s: the seed does not fit its "
		    "own profile\n", p->name);
	snprintf(file, sizeof(file), "%s.bin", p->name);
	put("scan", file, in, sizeof(in));
	sim_free(&s);
}

static void
make_scan_seeds(void)
{
	static const char *const info[][2] = {
		{ "sdm120i", "SDMI" }, { "sdm120x", "NOPE" },
	};
	static struct profile ps[64];
	char pdir[512], file[80], err[512], *doc;
	struct profile p;
	size_t n, i;

	n = fuzz_profiles_load(ps, sizeof(ps) / sizeof(ps[0]));
	for (i = 0; i < n; i++) {
		scan_seed(FUZZ_PROFILE_DIR, &ps[i]);
		profile_free(&ps[i]);
	}
	/* The simulator loads profiles from files: these two get theirs. */
	snprintf(pdir, sizeof(pdir), "%s/scan_profiles", out_dir);
	for (i = 0; i < sizeof(info) / sizeof(info[0]); i++) {
		if ((doc = scan_info_profile(FUZZ_PROFILE_DIR, info[i][0],
		    info[i][1])) == NULL ||
		    profile_parse(info[i][0], doc, strlen(doc), &p, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_seeds: scan: %s\n", info[i][0]);
			exit(1);
		}
		snprintf(file, sizeof(file), "%s.json", info[i][0]);
		put("scan_profiles", file, doc, strlen(doc));
		scan_seed(pdir, &p);
		profile_free(&p);
		free(doc);
	}
}

/* One signed frame per command type the fleet sends (docs/commands.md). */
static void
make_command_seeds(void)
{
	static const char *const bodies[][2] = {
		{ "config_set", "{\"v\":1,\"id\":\"c-1\",\"gw\":\"gw-0001\","
		    "\"seq\":1,\"nbf\":1796515200,\"exp\":1796518800,\"type\":"
		    "\"config.set\",\"args\":{\"interval\":30,\"devices\":[{\"name\":"
		    "\"main\",\"unit\":1}]}}" },
		{ "charger", "{\"v\":1,\"id\":\"fleet:2026-12-06.0002\",\"gw\":"
		    "\"gw-0001\",\"seq\":2,\"nbf\":1796515200,\"exp\":1796515260,"
		    "\"type\":\"charger.set_current\",\"args\":{\"device\":"
		    "\"wallbox\",\"amps\":16.5}}" },
		{ "state", "{\"v\":1,\"id\":\"3d032ecaf3017032\",\"gw\":\"GW_1.a\","
		    "\"seq\":9007199254740991,\"nbf\":0,\"exp\":1099511627776,"
		    "\"type\":\"state\"}" },
		{ "scan", "{\"v\":1,\"id\":\"s\",\"gw\":\"g\",\"seq\":3,\"nbf\":1,"
		    "\"exp\":2,\"type\":\"scan\",\"args\":{}}" },
		{ "reboot", "{\"type\":\"reboot\",\"args\":{\"why\":\"\u00e9t\u00e9"
		    "\\n\"},\"exp\":1796518800,\"nbf\":1796515200,\"seq\":4,"
		    "\"gw\":\"gw-0001\",\"id\":\"r-4\",\"v\":1}" },
		{ "ota_start", "{\"v\":1,\"id\":\"ota-7\",\"gw\":\"gw-0001\","
		    "\"seq\":5,\"nbf\":1796515200,\"exp\":1796601600,\"type\":"
		    "\"ota.start\",\"args\":{\"url\":\"https://fw.example/wg-0.2.0."
		    "bundle\",\"sha256\":\"00112233445566778899aabbccddeeff00112233"
		    "445566778899aabbccddeeff\",\"size\":12582912}}" },
	};
	static uint8_t frame[CMD_FRAME_MAX];
	struct signer *s;
	char err[256], name[64];
	size_t len, i;

	if ((s = cmdkey_signer()) == NULL)
		exit(1);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		if (signer_frame(s, (const uint8_t *)bodies[i][1],
		    strlen(bodies[i][1]), frame, sizeof(frame), &len, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_seeds: command: %s\n", err);
			exit(1);
		}
		snprintf(name, sizeof(name), "%s.bin", bodies[i][0]);
		put("command", name, frame, len);
	}
	memset(frame + len - CMD_SIG_LEN, 0, CMD_SIG_LEN);
	put("command", "zero_sig.bin", frame, len);
	signer_free(s);
}

/* Responses as wattgate-fleet tech-answer prints them (docs/console.md). */
static void
make_techcred_seeds(void)
{
	static const char *const bodies[][2] = {
		{ "two_gws", "{\"v\":1,\"tech\":\"alice\",\"key\":\"" CMDKEY_POINT
		    "\",\"gws\":[\"gw-0001\",\"gw-0002\"],\"nbf\":1796515200,"
		    "\"exp\":1796544000}" },
		{ "star", "{\"v\":1,\"tech\":\"bob@example.org\",\"key\":\""
		    CMDKEY_POINT "\",\"gws\":[\"*\"],\"nbf\":0,\"exp\":"
		    "1099511627776}" },
	};
	static uint8_t cred[TECHCRED_MAX];
	static char line[TECHCRED_RESPONSE_MAX + 1];
	uint8_t sig[SIG_LEN];
	struct signer *s;
	char err[256], name[64];
	size_t len = 0, i;
	int n;

	if ((s = cmdkey_signer()) == NULL)
		exit(1);
	if (signer_sign(s, (const uint8_t *)TECHCRED_FUZZ_CHALLENGE,
	    strlen(TECHCRED_FUZZ_CHALLENGE), sig, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_seeds: techcred: %s\n", err);
		exit(1);
	}
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		if (signer_frame(s, (const uint8_t *)bodies[i][1],
		    strlen(bodies[i][1]), cred, sizeof(cred), &len, err,
		    sizeof(err)) != 0 || (n = techcred_response_format(cred, len,
		    sig, line, sizeof(line))) < 0) {
			fprintf(stderr, "fuzz_seeds: techcred: %s\n", err);
			exit(1);
		}
		snprintf(name, sizeof(name), "%s.txt", bodies[i][0]);
		put("techcred", name, line, (size_t)n);
	}
	memset(cred + len - SIG_LEN, 0, SIG_LEN);
	n = techcred_response_format(cred, len, sig, line, sizeof(line));
	put("techcred", "zero_sig.txt", line, (size_t)n);
	put("techcred", "challenge.txt", TECHCRED_FUZZ_CHALLENGE,
	    strlen(TECHCRED_FUZZ_CHALLENGE));
	signer_free(s);
}

static void
make_manifest_seeds(void)
{
	static const struct {
		const char *name, *boards;
		unsigned long long size;
		unsigned chunk;
	} kinds[] = {
		{ "one_chunk", "[\"host\"]", 1000, 65536 },
		{ "most", "[\"host\",\"a\",\"b\",\"c\",\"d\",\"e\",\"f\","
		    "\"pi-4\"]", 128ULL * 4096, 4096 },
		{ "short_last", "[\"generic-arm64\",\"host\"]", 200000, 65536 },
	};
	static char body[MANIFEST_BODY_MAX + 1];
	static uint8_t text[MANIFEST_TEXT_MAX + 64];
	struct signer *s;
	char err[256], name[64];
	size_t i, c, n, len = 0;

	if ((s = cmdkey_signer()) == NULL)
		exit(1);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = (size_t)snprintf(body, sizeof(body), "{\"v\":1,\"version\":"
		    "\"2.%zu.0\",\"counter\":%zu,\"boards\":%s,\"size\":%llu,"
		    "\"sha256\":\"%064zx\",\"chunk\":%u,\"chunks\":[", i, i,
		    kinds[i].boards, kinds[i].size, i, kinds[i].chunk);
		for (c = 0; c * kinds[i].chunk < kinds[i].size; c++)
			n += (size_t)snprintf(body + n, sizeof(body) - n,
			    "%s\"%064zx\"", c > 0 ? "," : "", c);
		snprintf(body + n, sizeof(body) - n, "],\"expires\":1828103860}");
		if (signer_manifest(s, (const uint8_t *)body, strlen(body), text,
		    sizeof(text), &len, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_seeds: manifest: %s\n", err);
			exit(1);
		}
		snprintf(name, sizeof(name), "%s.bin", kinds[i].name);
		put("manifest", name, text, len);
	}
	memset(text + len, 0xa5, 64);
	put("manifest", "bundle.bin", text, len + 64);
	memset(text + len - 1 - MANIFEST_SIG_HEX, '0', MANIFEST_SIG_HEX);
	put("manifest", "zero_sig.bin", text, len);
	signer_free(s);
}

int
main(int argc, char **argv)
{
	static struct reading r[8192];
	static uint8_t msg[1 << 16], rec[1 << 17], crec[1 << 15], cblk[1 << 15];
	static const struct { uint8_t flags; int cycles; uint64_t span; } kinds[] = {
		{ 0, 1, 0 },
		{ BATCH_F_GW_TRANSPORT, 1, 0 },
		{ BATCH_F_HISTORICAL | BATCH_F_SPAN, 12, 11 },
		{ BATCH_F_HISTORICAL | BATCH_F_SPAN | BATCH_F_GW_TRANSPORT, 60, 59 },
		{ BATCH_F_VOLATILE, 1, 0 },
	};
	struct profile ps[2];
	char err[512], name[64], topic[128];
	const char *dir = WG_SOURCE_DIR "/drivers/profiles";
	size_t n, len, rl = 0, cl = 0, bl = 0, i;
	uint32_t id;
	char *json;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0755);
	if (profile_load_named(dir, "sdm630", &ps[0], err, sizeof(err)) != 0 ||
	    profile_load_named(dir, "keba_p30", &ps[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_seeds: %s\n", err);
		return 1;
	}
	json = make_schema(ps, 2, &id);
	put("schema", "two_devices.json", json, strlen(json));
	snprintf(topic, sizeof(topic), "wg/gw-0001/s/%08x", id);
	rl += record(rec + rl, topic, json, strlen(json));
	cl += coap_record(crec + cl, 1, 0, 0, topic, json, strlen(json));
	bl += coap_blocks(cblk + bl, 1, 2, topic, (const uint8_t *)json,
	    strlen(json));
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct batch_hdr h = { .gw = "gw-0001", .schema_id = id,
			.flags = kinds[i].flags };

		h.seq = kinds[i].flags & BATCH_F_VOLATILE ? 0 :
		    1796515200000ULL + i * 100;
		h.seq_last = h.seq + kinds[i].span;
		n = make_readings(ps, 2, kinds[i].cycles, r);
		len = wrap(r, n, &h, msg, sizeof(msg));
		snprintf(name, sizeof(name), "kind%zu.bin", i);
		put("batch", name, msg, len);
		if (len <= 0xffff && rl + len + 64 < sizeof(rec))
			rl += record(rec + rl, "wg/gw-0001/b", msg, len);
		if (cl + len + 64 < sizeof(crec))
			cl += coap_record(crec + cl, 0, 0, 0, "wg/gw-0001/b", msg,
			    len);
		if ((i == 0 || i == 2) && bl + 4 * len + 4096 < sizeof(cblk))
			bl += coap_blocks(cblk + bl, 0, i == 0 ? 0 : 6,
			    "wg/gw-0001/b", msg, len);
	}
	put("recv_mqtt", "schema_then_batches.bin", rec, rl);
	put("recv_coap", "schema_then_batches.bin", crec, cl);
	put("recv_coap", "blockwise.bin", cblk, bl);
	/* Size1 2^31 at block 0; then blocks with no Size1 up to the limit. */
	cl = coap_record(crec, 0x40 | 6 << 3 | 4 | 2, 0, 1u << 31, "wg/gw-0001/b",
	    msg, 1024);
	for (i = 0; i < 5; i++)
		cl += coap_record(crec + cl, 6 << 3 | 4 | 2, (uint32_t)i, 0,
		    "wg/gw-0001/b", msg, 1024);
	put("recv_coap", "too_large.bin", crec, cl);
	/* An uncompressed body: the store keeps bodies as they are. */
	make_store((const uint8_t *)"fuzz", 4, id, json);
	/* A status message, as the gateway retains it. */
	put("recv_mqtt", "status.bin", rec, record(rec, "wg/gw-0001/status",
	    "{\"online\":true}", 15));
	/* A control plane result record, and the same one again (deduplicated). */
	{
		static const char res[] = "{\"r\":7,\"gw\":\"gw-0001\",\"id\":"
		    "\"c1\",\"seq\":3,\"type\":\"state\",\"state\":\"applied\","
		    "\"at\":1796556401336,\"result\":{\"connected\":true}}";
		size_t rl2 = record(rec, "wg/gw-0001/r", res, sizeof(res) - 1);

		rl2 += record(rec + rl2, "wg/gw-0001/r", res, sizeof(res) - 1);
		put("recv_mqtt", "result.bin", rec, rl2);
	}
	make_scan_seeds();
	make_command_seeds();
	make_manifest_seeds();
	make_techcred_seeds();
	free(json);
	profile_free(&ps[0]);
	profile_free(&ps[1]);
	return 0;
}
