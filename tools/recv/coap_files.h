/*
 * GET fw/<name> (docs/coap.md "Images"): a file of the receiver's
 * --coap-files DIR, in RFC 7959 Block2 blocks, for the gateways' OTA
 * download over CoAP (firmware/ota/fetch_coap.c). Outside the prefix, as c/
 * and r/ are: the platform's own resource, not a gateway's.
 *
 * A name is 1..COAP_FILES_NAME_MAX of [A-Za-z0-9._-] and not dots only: no
 * slash can get in (the path is one segment), "." and ".." are refused, and
 * the file is opened under DIR's descriptor without following a symbolic
 * link, so nothing outside DIR is ever read. Each block is read from the
 * file when asked for (pread): an image is never held in memory.
 */
#ifndef WG_RECV_COAP_FILES_H
#define WG_RECV_COAP_FILES_H

#include <stddef.h>
#include <stdint.h>

#define COAP_FILES_NAME_MAX	128
#define COAP_FILES_SZX_MAX	6	/* blocks of 1024 bytes at most */

struct recv;
struct coap_reply;

/* 1 if name may name a file (see above), else 0. */
int coap_files_name_ok(const char *name, size_t len);

/* --coap-files DIR opened into rv: 0, or -1 (logged). */
int coap_files_open(struct recv *rv, const char *dir);
void coap_files_close(struct recv *rv);

/*
 * Block num of 2^(szx+4) bytes of the file name (szx capped at
 * COAP_FILES_SZX_MAX, the block renumbered to match) into r: 205 with
 * r->body, r->block2, r->size2, r->etag; 404 no such file (or no
 * --coap-files, or a name not allowed); 400 a block past the end; 500 a
 * read that failed.
 */
int coap_files_get(struct recv *rv, const char *name, uint32_t num,
    unsigned szx, struct coap_reply *r);

#endif
