/*
 * A host's addresses in the order to try them, and a cursor over them: what
 * the resolver (resolve.h) hands an uplink, which then tries one address after
 * the other before it backs off.
 *
 * The order is RFC 8305's (Happy Eyeballs v2, 4): getaddrinfo's own order
 * (RFC 6724, /etc/gai.conf) within each family, the families interleaved,
 * starting with the family getaddrinfo put first. A host whose IPv6 address
 * is dead (or, for "localhost", ::1 where the server listens on 127.0.0.1
 * only) thus costs one failed attempt, not all of them.
 */
#ifndef WG_BASE_ADDRS_H
#define WG_BASE_ADDRS_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * Addresses kept per name. More are rarely useful: each one tried costs a
 * connection attempt, and the interleaving keeps both families among them.
 */
#define ADDRS_MAX	8

/* Numeric form of one address, without port or brackets: "fe80::1%eth0". */
#define ADDRS_STR_MAX	(INET6_ADDRSTRLEN + 1 + 16)

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct addrs {
	struct addr a[ADDRS_MAX];
	size_t n;
	size_t next;		/* the cursor: index of the next one to try */
};

/*
 * Fills out from a getaddrinfo list: IPv4 and IPv6 only, duplicates dropped
 * (a list asked without a socket type has each address once per type), the
 * port set on each, interleaved by family as above, at most ADDRS_MAX.
 * The cursor starts at the first one. Returns out->n.
 */
size_t addrs_order(struct addrs *out, const struct addrinfo *ai, unsigned port);

/*
 * The next address to try, or NULL once every one has been handed out
 * (then: back off, and ask the resolver again, the names may have moved).
 */
const struct addr *addrs_next(struct addrs *c);

/* Start over at the first address (a link that was up went down). */
void addrs_rewind(struct addrs *c);

/*
 * The address in numeric form (no port, no brackets), for a library that
 * takes a host string (mosquitto_connect_async) and for log lines.
 * 0, or -EINVAL (not IPv4/IPv6, or len too small).
 */
int addrs_str(const struct addr *a, char *buf, size_t len);

/* The port of an address (host order); 0 if not IPv4/IPv6. */
unsigned addrs_port(const struct addr *a);

#endif
