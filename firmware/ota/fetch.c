#include "firmware/ota/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "firmware/base/clock.h"
#include "firmware/base/rfile.h"
#include "firmware/ota/fetch_coap.h"
#include "firmware/ota/http_range.h"

#define STALL_DEFAULT_S	30
/* How much of the URL a why line names (the query is never shown). */
#define WHERE_MAX	200
/* A CA file, at most (Debian's whole bundle is about 200 KiB). */
#define CA_FILE_MAX	(1024 * 1024)

/* One transfer: what was asked, what came, and why it stopped. */
struct xfer {
	CURL *c;
	const struct fetch_req *r;
	int (*data)(void *arg, const uint8_t *p, size_t n);
	void *arg;
	const volatile int *cancel;
	uint64_t want;		/* to - from */
	uint64_t got;		/* delivered to data() */
	int have_range;		/* the last response had a Content-Range */
	int range_bad;		/* ... that did not read as "bytes A-B/T" */
	uint64_t cr_first, cr_last, cr_total;	/* cr_total 0: "*" */
	int checked;		/* the head was checked */
	int64_t t0_ms;		/* CLOCK_MONOTONIC of the first body byte */
	int err;		/* a callback's verdict, 0 if none */
	char *why;
	size_t len;
	char where[WHERE_MAX + 1];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
fetch_global_init(void)
{
	pthread_once(&global_once, global_init);
}

int
fetch_vsay(char *why, size_t len, const char *where, int err, const char *fmt,
    va_list ap)
{
	int n;

	if (why == NULL || len == 0)
		return err;
	n = snprintf(why, len, "%s: ", where);
	if (n < 0 || (size_t)n >= len)
		return err;
	vsnprintf(why + n, len - (size_t)n, fmt, ap);
	return err;
}

static int __attribute__((format(printf, 3, 4)))
say(struct xfer *x, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = fetch_vsay(x->why, x->len, x->where, err, fmt, ap);
	va_end(ap);
	return err;
}

/*
 * The URL as a why line names it: without its query or fragment, which may
 * carry a token the fleet signed for this download, and cut short.
 */
static void
where_of(const char *url, char *out)
{
	size_t n = strcspn(url, "?#");

	if (n > WHERE_MAX)
		n = WHERE_MAX;
	memcpy(out, url, n);
	out[n] = '\0';
}

/*
 * Every header line of every response (a status line starts a new one):
 * only Content-Range is kept, for check_head. The line is not
 * NUL-terminated.
 */
static size_t
on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nitems;
	char line[160];

	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		x->have_range = x->range_bad = 0;
		return n;
	}
	if (n < 14 || strncasecmp(buf, "Content-Range:", 14) != 0)
		return n;
	x->have_range = 1;
	if (n - 14 >= sizeof(line)) {
		x->range_bad = 1;
		return n;
	}
	memcpy(line, buf + 14, n - 14);
	line[n - 14] = '\0';
	x->range_bad = http_content_range(line, &x->cr_first, &x->cr_last,
	    &x->cr_total) < 0;
	return n;
}

/* A status other than 200 or 206: may it pass, or will it not? */
static int
status_error(struct xfer *x, long st)
{
	if (st == 408 || st == 429 || (st >= 500 && st <= 599))
		return say(x, -EAGAIN, "HTTP %ld", st);
	if (st >= 300 && st <= 399)
		return say(x, -EPERM, "HTTP %ld (redirects are not followed)", st);
	if (st == 0)
		return say(x, -EPERM, "no HTTP status");
	return say(x, -EPERM, "HTTP %ld", st);
}

/*
 * The response's head, before its first byte reaches data() (or at the end
 * of a response without a body): the status, and that the body is the range
 * asked for and nothing else. A server that answers another range, or the
 * whole file to a range from the middle, would otherwise hand the caller
 * bytes from the wrong offset.
 */
static int
check_head(struct xfer *x)
{
	const struct fetch_req *r = x->r;
	long st = 0;
	curl_off_t cl = -1;

	if (curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &st) != CURLE_OK ||
	    curl_easy_getinfo(x->c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) !=
	    CURLE_OK)
		return say(x, -EAGAIN, "no response head");
	if (st == 206) {
		if (!x->have_range)
			return say(x, -EPERM, "HTTP 206 without a Content-Range");
		if (x->range_bad)
			return say(x, -EPERM, "HTTP 206 with an unreadable "
			    "Content-Range");
		if (x->cr_first != r->from || x->cr_last != r->to - 1)
			return say(x, -EPERM, "Content-Range bytes %" PRIu64 "-%"
			    PRIu64 " for a request of bytes %" PRIu64 "-%" PRIu64,
			    x->cr_first, x->cr_last, r->from, r->to - 1);
	} else if (st == 200) {
		if (r->from != 0)
			return say(x, -EPERM, "HTTP 200 to a range from byte %"
			    PRIu64 ": the server ignored the range", r->from);
		if (cl >= 0 && (uint64_t)cl > x->want)
			return say(x, -EPERM, "HTTP 200 with %" PRId64 " bytes "
			    "for a range of %" PRIu64 ": the server ignored the "
			    "range", (int64_t)cl, x->want);
	} else
		return status_error(x, st);
	if (cl >= 0 && (uint64_t)cl != x->want)
		return say(x, -EPERM, "Content-Length %" PRId64 " for a range of "
		    "%" PRIu64 " bytes", (int64_t)cl, x->want);
	return 0;
}

/*
 * A transfer that failed before its body: if an error status had come, it
 * is the reason (a 404 whose body was cut short is still a 404).
 */
static int
head_failed(struct xfer *x, int *err)
{
	long st = 0;

	if (curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &st) != CURLE_OK ||
	    st == 0 || st == 200 || st == 206)
		return 0;
	*err = status_error(x, st);
	return 1;
}

/*
 * rate_bps, kept here as well as by libcurl: CURLOPT_MAX_RECV_SPEED_LARGE
 * lets through at once whatever the socket buffers already hold (seen with
 * libcurl 7.88: 1 MB in 9 ms under a limit of 100 kB/s). After each piece
 * the transfer waits until the bytes so far fit the rate since the first
 * byte; while it waits, libcurl does not read, the receive window fills and
 * the server slows down. The wait is in slices: a cancel is seen at once.
 */
static int
pace(struct xfer *x)
{
	int64_t due, now;
	struct timespec ts;

	if (x->r->rate_bps == 0 || x->got == x->want)
		return 0;
	due = x->t0_ms + (int64_t)(x->got * 1000 / x->r->rate_bps);
	while ((now = clock_mono_ms()) < due) {
		if (x->cancel != NULL && *x->cancel)
			return say(x, -ECANCELED, "cancelled after %" PRIu64
			    " bytes", x->got);
		ts.tv_sec = 0;
		ts.tv_nsec = (due - now > 100 ? 100 : due - now) * 1000000L;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/*
 * The body, in pieces of up to CURL_MAX_WRITE_SIZE. Returning anything but
 * n makes libcurl stop with CURLE_WRITE_ERROR; x->err says why. Not a byte
 * beyond the range reaches data().
 */
static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	int rc;

	if (n == 0)
		return 0;
	if (x->cancel != NULL && *x->cancel) {
		x->err = say(x, -ECANCELED, "cancelled after %" PRIu64 " bytes",
		    x->got);
		return 0;
	}
	if (!x->checked) {
		x->checked = 1;
		if ((rc = check_head(x)) < 0) {
			x->err = rc;
			return 0;
		}
	}
	if (x->t0_ms == 0)
		x->t0_ms = clock_mono_ms();
	if (n > x->want - x->got) {
		x->err = say(x, -EPERM, "sent more than the %" PRIu64 " bytes of "
		    "the range (%" PRIu64 " bytes)", x->want, x->got + n);
		return 0;
	}
	if ((rc = x->data(x->arg, (const uint8_t *)p, n)) < 0) {
		x->err = say(x, rc, "stopped by the receiver after %" PRIu64
		    " bytes: %s", x->got, strerror(-rc));
		return 0;
	}
	x->got += n;
	if ((rc = pace(x)) < 0) {
		x->err = rc;
		return 0;
	}
	return n;
}

/* Called about once a second, and while connecting: nonzero aborts. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x->cancel != NULL && *x->cancel;
}

/*
 * libcurl's own failures: those of the link may pass; a certificate that
 * does not verify, a protocol not allowed or a bad URL will not.
 */
static int
curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_REMOTE_ACCESS_DENIED:
	case CURLE_LOGIN_DENIED:
		return -EPERM;
	default:
		return -EAGAIN;
	}
}

#define SET(opt, val) do {						\
	if (e == CURLE_OK)						\
		e = curl_easy_setopt(c, opt, val);			\
} while (0)

/*
 * The handle for one range. Every option is checked: a libcurl that lacks
 * one (https, a TLS floor) must not quietly fetch with less. The strings
 * are copied by libcurl.
 */
static CURLcode
configure(CURL *c, struct xfer *x, struct curl_blob *ca, char *errbuf)
{
	const struct fetch_req *r = x->r;
	long stall = r->stall_s > 0 ? r->stall_s : STALL_DEFAULT_S;
	char range[48];
	uint64_t buf;
	CURLcode e = CURLE_OK;

	snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, r->from,
	    r->to - 1);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PROTOCOLS_STR, r->allow_http ? "https,http" : "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* Neither signals (a worker thread) nor the environment's proxy. */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_RANGE, range);
	/* The bytes as the server has them: no content coding. */
	SET(CURLOPT_HTTP_CONTENT_DECODING, 0L);
	SET(CURLOPT_USERAGENT, "wattgate/" WG_VERSION);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (ca != NULL) {
		/* Its certificates are the trust anchors, and only those. */
		SET(CURLOPT_CAINFO_BLOB, ca);
		SET(CURLOPT_CAINFO, (char *)NULL);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	/* As for the broker: an anchor is a root, not any certificate. */
	SET(CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_NO_PARTIALCHAIN);
	/* A link that carries nothing for stall seconds is a broken link. */
	SET(CURLOPT_CONNECTTIMEOUT, stall);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	if (r->rate_bps > 0) {
		/*
		 * pace() holds libcurl for a piece's worth of time: pieces of
		 * a quarter second's bytes, and that time on top of the stall
		 * limit, so that a slow rate is not taken for a stall.
		 */
		buf = r->rate_bps / 4;
		buf = buf < 1024 ? 1024 : buf > CURL_MAX_WRITE_SIZE ?
		    CURL_MAX_WRITE_SIZE : buf;
		stall += (long)(buf / r->rate_bps) + 1;
		SET(CURLOPT_BUFFERSIZE, (long)buf);
		SET(CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)(r->rate_bps >
		    INT64_MAX ? INT64_MAX : r->rate_bps));
	}
	SET(CURLOPT_LOW_SPEED_TIME, stall);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, x);
	return e;
}

#undef SET

/*
 * ca_file read as the MQTT uplink reads its own (rfile: whole, bounded, a
 * FIFO refused rather than waited on) and handed to libcurl as a blob, so
 * what is checked is what is used.
 */
static int
read_ca(struct xfer *x, struct curl_blob *ca)
{
	char err[256];
	char *text;
	size_t len;

	if (rfile_read(x->r->ca_file, CA_FILE_MAX, &text, &len, NULL, err,
	    sizeof(err)) < 0)
		return say(x, -EPERM, "ca_file %s", err);
	ca->data = text;
	ca->len = len;
	return 0;
}

static int
is_coap(const char *url)
{
	return strncasecmp(url, "coap://", 7) == 0 ||
	    strncasecmp(url, "coaps://", 8) == 0;
}

/* The scheme, before libcurl sees the URL: a clear why for a wrong one. */
static int
check_scheme(struct xfer *x)
{
	const char *url = x->r->url;

	if (strncasecmp(url, "https://", 8) == 0)
		return 0;
	if (strncasecmp(url, "http://", 7) == 0)
		return x->r->allow_http ? 0 : say(x, -EPERM, "http:// is not "
		    "allowed (https only)");
	if (is_coap(url))
		return 0;
	return say(x, -EPERM, "unsupported URL scheme (https or CoAP only)");
}

int
fetch_range(const struct fetch_req *r,
    int (*data)(void *arg, const uint8_t *p, size_t n), void *arg,
    const volatile int *cancel, uint64_t *got, char *why, size_t len)
{
	struct xfer x;
	char errbuf[CURL_ERROR_SIZE];
	struct curl_blob ca = { NULL, 0, CURL_BLOB_NOCOPY };
	CURLcode rc;
	int err;

	memset(&x, 0, sizeof(x));
	x.r = r;
	x.data = data;
	x.arg = arg;
	x.cancel = cancel;
	x.why = why;
	x.len = len;
	if (why != NULL && len > 0)
		why[0] = '\0';
	if (got != NULL)
		*got = 0;
	if (r == NULL || r->url == NULL || data == NULL) {
		if (why != NULL && len > 0)
			snprintf(why, len, "fetch: no URL or no receiver");
		return -EINVAL;
	}
	where_of(r->url, x.where);
	if (r->to <= r->from || r->to > (uint64_t)INT64_MAX)
		return say(&x, -EINVAL, "no bytes in the range [%" PRIu64 ", %"
		    PRIu64 ")", r->from, r->to);
	x.want = r->to - r->from;
	if ((err = check_scheme(&x)) < 0)
		return err;
	if (cancel != NULL && *cancel)
		return say(&x, -ECANCELED, "cancelled before the start");
	if (is_coap(r->url)) {
#ifdef WG_OTA_COAP
		err = fetch_coap(r, x.where, data, arg, cancel, &x.got, why, len);
		if (got != NULL)
			*got = x.got;
		return err;
#else
		/* Not linked at all: the image has no CoAP uplink either. */
		return say(&x, -EPERM, "CoAP is not in this build "
		    "(CONFIG_UPLINK_COAP)");
#endif
	}

	fetch_global_init();
	if (global_rc != CURLE_OK)
		return say(&x, -ENOMEM, "libcurl: %s", curl_easy_strerror(global_rc));
	if ((x.c = curl_easy_init()) == NULL)
		return say(&x, -ENOMEM, "libcurl: no handle");
	errbuf[0] = '\0';
	if (r->ca_file != NULL && (err = read_ca(&x, &ca)) < 0)
		goto out;
	if ((rc = configure(x.c, &x, r->ca_file != NULL ? &ca : NULL,
	    errbuf)) != CURLE_OK) {
		err = say(&x, rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EPERM,
		    "libcurl: %s", curl_easy_strerror(rc));
		goto out;
	}
	rc = curl_easy_perform(x.c);
	if (x.err != 0)
		err = x.err;		/* a callback said why */
	else if (rc == CURLE_ABORTED_BY_CALLBACK)
		err = say(&x, -ECANCELED, "cancelled after %" PRIu64 " bytes",
		    x.got);
	else if (rc != CURLE_OK && !x.checked && head_failed(&x, &err))
		;			/* an error status, then the link broke */
	else if (rc != CURLE_OK)
		err = say(&x, curl_errno(rc), "%s (after %" PRIu64 " of %" PRIu64
		    " bytes)", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc),
		    x.got, x.want);
	else if (!x.checked && (err = check_head(&x)) < 0)
		;			/* a response without a body */
	else if (x.got != x.want)
		err = say(&x, -EAGAIN, "the response ended after %" PRIu64 " of %"
		    PRIu64 " bytes", x.got, x.want);
	else
		err = 0;
out:
	curl_easy_cleanup(x.c);
	free(ca.data);
	if (got != NULL)
		*got = x.got;
	return err;
}
