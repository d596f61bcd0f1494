/*
 * libcoap is loaded, not linked: the variant is chosen by the URI.
 *
 * Debian's libcoap3 ships the same library (same headers, same ABI) built
 * three ways; the OpenSSL one does its TLS set-up whatever the URI says:
 * coap_startup() initialises OpenSSL (config, error strings, providers) and
 * coap_new_context() makes a DTLS and a TLS SSL_CTX. For a plain coap:// link
 * that is ~2.8 MB of RSS for nothing (docs/memory.md: libcrypto's mapped pages
 * 1.4 -> 3.5 MB, libssl's 244 -> 544 kB, ~390 kB of heap). Linked, there is no
 * way around it; loaded, a coap:// link takes the variant without TLS and only
 * coaps:// pays for OpenSSL.
 *
 * The library stays loaded for the life of the process: a restarted uplink
 * (failover) finds it there, and a config reload is a new process anyway.
 *
 * The uplink (on the event loop) and the OTA download (in its worker
 * thread, with its own coap_context_t) share this one copy. Linking the
 * OpenSSL variant into the OTA layer instead would map it at every start,
 * and a process holding a linked libcoap and a loaded one has two copies of
 * every coap_* symbol: the loaded one's internal calls may bind to the
 * linked one's (ELF interposition). So there is one loader, here in base,
 * and a plain coap:// site never maps OpenSSL's libcoap at all.
 */
#include "firmware/base/coap_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "firmware/base/log.h"

struct coap_lib coap_lib;

static int loaded = -1;		/* the variant in coap_lib: 1 DTLS, 0 plain */
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

static int
load(int dtls)
{
	const char *name = dtls ? WG_COAP_LIB_DTLS : WG_COAP_LIB_PLAIN;
	void *h, *p;

	if (loaded == !!dtls || (loaded == 1 && !dtls))
		return 0;
	if (loaded != -1) {
		log_warnx("coap: %s: libcoap without DTLS is already loaded (a "
		    "coap:// link came first)", name);
		return -EINVAL;
	}
	if ((h = dlopen(name, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_warnx("coap: cannot load %s: %s", name, dlerror());
		return -ENOENT;
	}
	/* memcpy: ISO C has no cast from dlsym's void * to a function pointer. */
#define COAP_LIB_SYM(f)							\
	if ((p = dlsym(h, "coap_" #f)) == NULL) {			\
		log_warnx("coap: %s has no coap_" #f, name);		\
		goto fail;						\
	}								\
	memcpy(&coap_lib.f, &p, sizeof(p));
	COAP_LIB_FUNCS(COAP_LIB_SYM)
#undef COAP_LIB_SYM
	loaded = !!dtls;
	return 0;
fail:
	memset(&coap_lib, 0, sizeof(coap_lib));
	dlclose(h);
	return -ENOENT;
}

int
coap_lib_load(int dtls)
{
	int rc;

	pthread_mutex_lock(&load_mu);
	rc = load(dtls);
	pthread_mutex_unlock(&load_mu);
	return rc;
}
