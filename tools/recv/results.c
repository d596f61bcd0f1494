/*
 * Result records of the control plane (docs/commands.md "Journal and
 * results"): printed as one JSON line {"result": RECORD} each, once per
 * (gateway, r) however often the gateway sends it (it sends again after
 * every reconnect until acknowledged). The record is the gateway's and is
 * checked only as far as printing and deduplication need: a JSON object
 * under RESULT_MAX bytes, "r" a positive integer, "gw" the topic's gateway.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/recv/gwtab.h"
#include "tools/recv/recv.h"

#define RESULT_MAX	65536

enum recv_result
recv_result_record(struct recv *rv, const char *where, const char *gwname,
    const uint8_t *p, size_t len)
{
	json_error_t e;
	json_t *o, *r, *gw, *line;
	struct gw *g;
	json_int_t n;
	enum recv_result res = RECV_BAD;
	int rc;

	if (len > RESULT_MAX) {
		recv_warnx("%s: result record of %zu bytes, over %d", where, len,
		    RESULT_MAX);
		rv->bad_batches++;
		return RECV_BAD;
	}
	if ((o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &e)) == NULL ||
	    !json_is_object(o)) {
		recv_warnx("%s: result record: not a JSON object%s%s", where,
		    o == NULL ? ": " : "", o == NULL ? e.text : "");
		goto bad;
	}
	r = json_object_get(o, "r");
	gw = json_object_get(o, "gw");
	if (!json_is_integer(r) || (n = json_integer_value(r)) < 1) {
		recv_warnx("%s: result record: \"r\" is not a positive integer", where);
		goto bad;
	}
	if (!json_is_string(gw) || strcmp(json_string_value(gw), gwname) != 0) {
		recv_warnx("%s: result record: \"gw\" is not '%s'", where, gwname);
		goto bad;
	}
	if ((g = gwtab_get(&rv->gws, gwname, 1)) == NULL) {
		res = RECV_FAILED;
		goto out;
	}
	if (dedupe_check(&g->results, (uint64_t)n)) {
		g->result_dups++;
		res = RECV_DONE;
		goto out;
	}
	line = json_pack("{s:O}", "result", o);
	rc = line != NULL ? json_dumpf(line, stdout, JSON_COMPACT) : -1;
	json_decref(line);
	if (rc < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		recv_warnx("stdout: %s", strerror(errno));
		rv->exit_code = 1;
		res = RECV_FAILED;
		goto out;
	}
	if (dedupe_mark(&g->results, (uint64_t)n) < 0)
		recv_warnx("%s: result %lld printed but not remembered (memory)",
		    where, (long long)n);
	g->results_printed++;
	res = RECV_DONE;
	goto out;
bad:
	rv->bad_batches++;
out:
	json_decref(o);
	return res;
}
