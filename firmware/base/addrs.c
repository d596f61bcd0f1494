#include "firmware/base/addrs.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/*
 * One entry as we keep it: only family, address, scope and port, the rest
 * zero, so that two entries for the same address compare equal bytewise
 * whatever else getaddrinfo put in (flow labels).
 */
static int
normalize(const struct addrinfo *p, int family, unsigned port, struct addr *a)
{
	const struct sockaddr *sa = p->ai_addr;

	memset(a, 0, sizeof(*a));
	if (sa == NULL || sa->sa_family != family)
		return 0;
	if (family == AF_INET && p->ai_addrlen >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;

		in->sin_family = AF_INET;
		in->sin_addr = ((const struct sockaddr_in *)sa)->sin_addr;
		in->sin_port = htons((uint16_t)port);
		a->len = sizeof(*in);
		return 1;
	}
	if (family == AF_INET6 && p->ai_addrlen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *from = (const struct sockaddr_in6 *)sa;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = from->sin6_addr;
		in6->sin6_scope_id = from->sin6_scope_id;
		in6->sin6_port = htons((uint16_t)port);
		a->len = sizeof(*in6);
		return 1;
	}
	return 0;
}

static int
seen(const struct addrs *out, const struct addr *a)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		if (out->a[i].len == a->len && memcmp(&out->a[i].ss, &a->ss, a->len) == 0)
			return 1;
	return 0;
}

/* The next new address of this family from *it on; *it moves past it. */
static int
take(const struct addrinfo **it, int family, const struct addrs *out,
    unsigned port, struct addr *a)
{
	const struct addrinfo *p;

	for (p = *it; p != NULL; p = p->ai_next) {
		if (normalize(p, family, port, a) && !seen(out, a)) {
			*it = p->ai_next;
			return 1;
		}
	}
	*it = NULL;
	return 0;
}

/*
 * Two cursors over the same list, one per family, taking turns; a family
 * that has run out passes its turn. The first usable entry decides which
 * family opens, so getaddrinfo's (RFC 6724) preference is kept.
 */
size_t
addrs_order(struct addrs *out, const struct addrinfo *ai, unsigned port)
{
	const struct addrinfo *it[2] = { ai, ai }, *p;
	int fam[2] = { AF_INET6, AF_INET };
	struct addr a;
	int turn = 0, k, f;

	memset(out, 0, sizeof(*out));
	for (p = ai; p != NULL; p = p->ai_next) {
		if (p->ai_addr == NULL)
			continue;
		if (p->ai_addr->sa_family == AF_INET)
			fam[0] = AF_INET, fam[1] = AF_INET6;
		if (p->ai_addr->sa_family == AF_INET ||
		    p->ai_addr->sa_family == AF_INET6)
			break;
	}
	while (out->n < ADDRS_MAX && (it[0] != NULL || it[1] != NULL)) {
		for (k = 0; k < 2; k++) {
			f = (turn + k) % 2;
			if (it[f] != NULL && take(&it[f], fam[f], out, port, &a)) {
				out->a[out->n++] = a;
				break;
			}
		}
		turn ^= 1;
	}
	return out->n;
}

const struct addr *
addrs_next(struct addrs *c)
{
	return c->next < c->n ? &c->a[c->next++] : NULL;
}

void
addrs_rewind(struct addrs *c)
{
	c->next = 0;
}

int
addrs_str(const struct addr *a, char *buf, size_t len)
{
	int fam = a->ss.ss_family;

	/* NI_NUMERICHOST: no lookup, safe on the loop. */
	if ((fam != AF_INET && fam != AF_INET6) ||
	    getnameinfo((const struct sockaddr *)&a->ss, a->len, buf,
	    (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		return -EINVAL;
	return 0;
}

unsigned
addrs_port(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}
