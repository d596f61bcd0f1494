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
 */
#include "firmware/uplink/coap_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "firmware/base/log.h"

struct coap_lib coap_lib;

static int loaded = -1;		/* the variant in coap_lib: 1 DTLS, 0 plain */

int
coap_lib_load(int dtls)
{
	const char *name = dtls ? WG_COAP_LIB_DTLS : WG_COAP_LIB_PLAIN;
	void *h, *p;

	if (loaded == !!dtls)
		return 0;
	if (loaded != -1) {
		log_warnx("coap: %s: the other libcoap variant is already loaded",
		    name);
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
