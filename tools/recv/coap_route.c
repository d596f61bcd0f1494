/*
 * The receiver's CoAP resources (coap_route.h): a path into a resource, a
 * whole body into recv_batch() or recv_schema(), their result into a
 * response code. libcoap stays in coap_server.c, which hands whole bodies
 * over.
 */
#include <stdio.h>
#include <string.h>

#include "tools/recv/coap_route.h"
#include "tools/recv/recv.h"

int
coap_route_parse(const struct recv *rv, int method, const uint8_t *path,
    size_t len, struct coap_route *rt, const char **why)
{
	size_t plen = strlen(rv->prefix), glen;
	const char *p, *slash;

	*why = NULL;
	rt->res = COAP_RES_NONE;
	rt->gw[0] = '\0';
	rt->rest = "";
	/* Longer than any resource of ours, or a NUL that would cut it short. */
	if (len > sizeof(rt->where) - 7 || memchr(path, '\0', len) != NULL) {
		snprintf(rt->where, sizeof(rt->where), "coap:/(%zu bytes)", len);
		return 404;
	}
	snprintf(rt->where, sizeof(rt->where), "coap:/%.*s", (int)len,
	    (const char *)path);
	p = rt->where + 6;
	if (strncmp(p, rv->prefix, plen) != 0 || p[plen] != '/' ||
	    (slash = strchr(p + plen + 1, '/')) == NULL)
		return 404;
	glen = (size_t)(slash - (p + plen + 1));
	if (glen == 0 || glen > BATCH_GW_MAX) {
		*why = "bad gateway id";
		return 400;
	}
	memcpy(rt->gw, p + plen + 1, glen);
	rt->gw[glen] = '\0';
	if (!batch_gw_valid(rt->gw)) {
		recv_warnx("%s: not a valid gateway id in the path", rt->where);
		rt->gw[0] = '\0';
		*why = "bad gateway id";
		return 400;
	}
	rt->rest = slash + 1;
	if (strcmp(rt->rest, "b") == 0 && method == COAP_ROUTE_POST)
		rt->res = COAP_RES_BATCH;
	else if (strncmp(rt->rest, "s/", 2) == 0 && method == COAP_ROUTE_PUT)
		rt->res = COAP_RES_SCHEMA;
	else if (strcmp(rt->rest, "metrics") == 0 && method == COAP_ROUTE_PUT)
		rt->res = COAP_RES_METRICS;
	return 0;
}

size_t
coap_route_limit(const struct coap_route *rt, size_t max_body)
{
	switch (rt->res) {
	case COAP_RES_SCHEMA:
		return RECV_SCHEMA_MAX;
	case COAP_RES_METRICS:
		return COAP_ROUTE_METRICS_MAX;
	default:
		return max_body;
	}
}

int
coap_route_body(struct recv *rv, const struct coap_route *rt,
    const uint8_t *data, size_t len, size_t max_body, const char **why)
{
	size_t limit = coap_route_limit(rt, max_body);
	enum recv_result r;

	*why = NULL;
	/* No body: a gateway asking whether it is still refused (docs/coap.md). */
	if (len == 0) {
		*why = "empty";
		return 400;
	}
	if (rt->res == COAP_RES_NONE)
		return 404;
	if (len > limit) {
		recv_warnx("%s: %zu bytes, more than %s %zu: 4.13", rt->where, len,
		    rt->res == COAP_RES_BATCH ? "--coap-max" : "it takes,", limit);
		return 413;
	}
	switch (rt->res) {
	case COAP_RES_BATCH:
		r = recv_batch(rv, rt->where, rt->gw, data, len, 0);
		break;
	case COAP_RES_SCHEMA:
		r = recv_schema(rv, rt->where, rt->gw, rt->rest + 2,
		    (const char *)data, len);
		break;
	default:
		if (rv->verbose)
			recv_warnx("%s: metrics %.*s", rt->gw,
			    (int)(len < 512 ? len : 512), (const char *)data);
		r = RECV_DONE;
		break;
	}
	switch (r) {
	case RECV_DONE:
		return 204;
	case RECV_BAD:
		*why = "undecodable";
		return 400;
	case RECV_HELD:
		*why = "schema unknown";
		return 503;
	default:
		return 500;
	}
}
