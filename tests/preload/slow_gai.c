/*
 * slow_gai: getaddrinfo for tests, without DNS and without touching /etc/hosts.
 *
 *   LD_PRELOAD=tests/preload/libslow_gai.so \
 *       WG_GAI_SLOW=.hang.test WG_GAI_SLEEP_MS=60000 \
 *       WG_GAI_MAP="dual.test=::1,127.0.0.1 gone.test=" wattgate -c site.json
 *
 * WG_GAI_SLOW       Name suffixes, separated by spaces, compared without case
 *                   (".hang.test" matches "mqtt.hang.test", not "hang.test").
 *                   A matching name sleeps WG_GAI_SLEEP_MS first, like a
 *                   lookup whose DNS server does not answer; then it is looked
 *                   up in WG_GAI_MAP, and fails with EAI_AGAIN ("Temporary
 *                   failure in name resolution", what glibc says when no server
 *                   answered) if it is not there.
 * WG_GAI_SLEEP_MS   How long, in ms (default 60000).
 * WG_GAI_MAP        Entries "name=addr,addr,..." separated by spaces: the name
 *                   (any case) resolves to exactly these numeric addresses, in
 *                   this order, IPv6 and IPv4 mixed as given, filtered by the
 *                   caller's ai_family. "name=" fails with EAI_NONAME. A test
 *                   can thus serve a name whose first address refuses and whose
 *                   second answers ("dual.test=::1,127.0.0.1" with a server on
 *                   127.0.0.1 only). A name "*.suffix" maps every name
 *                   ending in ".suffix" ("*.nx.test=": no such names).
 *
 * Every other name, and every call with AI_NUMERICHOST, goes to the real
 * getaddrinfo. The variables are read at each call; set them before the
 * first lookup (setenv is not thread-safe against getenv). Each address
 * becomes one entry of the caller's ai_socktype (SOCK_STREAM if 0), its port
 * the numeric service (0 without one; a service by name: EAI_SERVICE).
 * freeaddrinfo is wrapped too: it frees our lists and passes the others on.
 *
 * The same file is linked into test_resolve itself (an executable's
 * definition interposes libc's just as a preload does), so that test runs
 * the same under ctest, valgrind and qemu-user without LD_PRELOAD.
 *
 * Under AddressSanitizer the ASan runtime wants to be the first library; a
 * preload before it makes it abort ("ASan runtime does not come first in
 * initial library list"). Either preload it first
 * (LD_PRELOAD=$(gcc -print-file-name=libasan.so):libslow_gai.so) or set
 * ASAN_OPTIONS=verify_asan_link_order=0, as tests/unit/core.cmake does. The
 * shim is built with the same sanitizers as what it is preloaded into.
 * Under valgrind, LD_PRELOAD is passed on as set (valgrind adds its own
 * preloads in front).
 */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAP_ADDRS_MAX	16

typedef int gai_fn(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);
typedef void freeai_fn(struct addrinfo *);

/* One list we made: its nodes and addresses in one allocation. */
struct block {
	struct block *next;	/* all lists not yet freed */
	size_t n;
	struct addrinfo ai[MAP_ADDRS_MAX];
	struct sockaddr_in6 sa[MAP_ADDRS_MAX];
};

static pthread_mutex_t blocks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct block *blocks;

static gai_fn *
real_gai(void)
{
	return (gai_fn *)dlsym(RTLD_NEXT, "getaddrinfo");
}

static freeai_fn *
real_freeai(void)
{
	return (freeai_fn *)dlsym(RTLD_NEXT, "freeaddrinfo");
}

/* Is name followed by a word of list (space-separated) as a suffix? */
static int
slow(const char *name)
{
	const char *list = getenv("WG_GAI_SLOW"), *p, *e;
	size_t n = strlen(name), k;

	if (list == NULL)
		return 0;
	for (p = list; *p != '\0'; p = e) {
		p += strspn(p, " ");
		e = p + strcspn(p, " ");
		k = (size_t)(e - p);
		if (k > 0 && k <= n && strncasecmp(name + n - k, p, k) == 0)
			return 1;
	}
	return 0;
}

static void
nap(void)
{
	const char *v = getenv("WG_GAI_SLEEP_MS");
	long ms = v != NULL ? strtol(v, NULL, 10) : 60000;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* key is a name, or "*.suffix" for every name ending in ".suffix". */
static int
matches(const char *name, size_t n, const char *key, size_t k)
{
	if (k > 1 && key[0] == '*')
		return k - 1 < n && strncasecmp(name + n - (k - 1), key + 1, k - 1) == 0;
	return k == n && strncasecmp(name, key, n) == 0;
}

/*
 * The addresses mapped for name, "a,b,c", into buf; NULL if not mapped.
 * "" if mapped to nothing.
 */
static const char *
mapped(const char *name, char *buf, size_t len)
{
	const char *list = getenv("WG_GAI_MAP"), *p, *e, *eq;
	size_t n = strlen(name), k;

	if (list == NULL)
		return NULL;
	for (p = list; *p != '\0'; p = e) {
		p += strspn(p, " ");
		e = p + strcspn(p, " ");
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq == NULL || !matches(name, n, p, (size_t)(eq - p)))
			continue;
		k = (size_t)(e - eq - 1);
		if (k >= len)
			return NULL;
		memcpy(buf, eq + 1, k);
		buf[k] = '\0';
		return buf;
	}
	return NULL;
}

static int
port_of(const char *service, unsigned *port)
{
	char *end;
	unsigned long v;

	*port = 0;
	if (service == NULL)
		return 0;
	v = strtoul(service, &end, 10);
	if (*service == '\0' || *end != '\0' || v > 65535)
		return EAI_SERVICE;
	*port = (unsigned)v;
	return 0;
}

/* One entry per address of the caller's family, in the order given. */
static int
build(const char *addrs, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	int family = hints != NULL ? hints->ai_family : AF_UNSPEC;
	int socktype = hints != NULL && hints->ai_socktype != 0 ?
	    hints->ai_socktype : SOCK_STREAM;
	char one[INET6_ADDRSTRLEN];
	const char *p, *e;
	struct block *b;
	unsigned port;
	size_t k;
	int rc;

	if ((rc = port_of(service, &port)) != 0)
		return rc;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return EAI_MEMORY;
	for (p = addrs; *p != '\0' && b->n < MAP_ADDRS_MAX; p = *e == ',' ? e + 1 : e) {
		struct addrinfo *ai = &b->ai[b->n];
		struct sockaddr_in6 *s6 = &b->sa[b->n];
		struct sockaddr_in *s4 = (struct sockaddr_in *)s6;

		e = p + strcspn(p, ",");
		k = (size_t)(e - p);
		if (k == 0 || k >= sizeof(one))
			continue;
		memcpy(one, p, k);
		one[k] = '\0';
		if (inet_pton(AF_INET6, one, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			ai->ai_addrlen = sizeof(*s6);
		} else if (inet_pton(AF_INET, one, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			ai->ai_addrlen = sizeof(*s4);
		} else {
			continue;
		}
		ai->ai_family = s6->sin6_family;
		if (family != AF_UNSPEC && family != ai->ai_family) {
			memset(s6, 0, sizeof(*s6));
			continue;
		}
		ai->ai_socktype = socktype;
		ai->ai_protocol = socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
		ai->ai_addr = (struct sockaddr *)s6;
		if (b->n > 0)
			b->ai[b->n - 1].ai_next = ai;
		b->n++;
	}
	if (b->n == 0) {
		free(b);
		return EAI_NONAME;
	}
	pthread_mutex_lock(&blocks_mu);
	b->next = blocks;
	blocks = b;
	pthread_mutex_unlock(&blocks_mu);
	*res = &b->ai[0];
	return 0;
}

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	char buf[1024];
	const char *addrs;
	int is_slow;

	if (node == NULL || (hints != NULL && (hints->ai_flags & AI_NUMERICHOST)))
		return real_gai()(node, service, hints, res);
	is_slow = slow(node);
	if (is_slow)
		nap();
	if ((addrs = mapped(node, buf, sizeof(buf))) != NULL)
		return build(addrs, service, hints, res);
	if (is_slow)
		return EAI_AGAIN;
	return real_gai()(node, service, hints, res);
}

void
freeaddrinfo(struct addrinfo *ai)
{
	struct block **pp, *b;

	pthread_mutex_lock(&blocks_mu);
	for (pp = &blocks; (b = *pp) != NULL; pp = &b->next) {
		if (&b->ai[0] == ai) {
			*pp = b->next;
			break;
		}
	}
	pthread_mutex_unlock(&blocks_mu);
	if (b != NULL)
		free(b);
	else if (ai != NULL)
		real_freeai()(ai);
}
