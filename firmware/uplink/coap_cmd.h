/*
 * The CoAP uplink's part of the control plane (docs/coap.md, "Commands and
 * results"), split from coap.c, which keeps the link:
 *   POST <base>/<gw>/r            a result record (JSON), confirmable
 *   GET  <base>/<gw>/c?after=K    the next command frame after index K
 * coap.c tells it when the link is up or down and hands it the answers to
 * its requests; it reports through the uplink's events (command,
 * result_acked).
 */
#ifndef WG_COAP_CMD_H
#define WG_COAP_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/base/coap_lib.h"
#include "firmware/uplink/coap_req.h"
#include "firmware/uplink/uplink.h"

struct coap_cmd {
	struct uplink *u;
	struct coap_reqs *w;	/* coap.c's requests in flight */
	const char *base;	/* the URI's path */
	coap_session_t *sess;	/* while up; NULL while down */
	int timer_fd;		/* the poll period; -1 without commands */
	uint64_t after;		/* the index of the last frame taken */
	uint8_t *frame;		/* a frame's blocks so far (Block2) */
	size_t have;
	int refusing;		/* the frame in flight is too large: skipped */
	uint64_t polls, frames, too_large, results_acked;
};

/* Its poll timer in the loop if the site takes commands. 0 or -errno. */
int coap_cmd_start(struct coap_cmd *cc, struct uplink *u, struct coap_reqs *w,
    const char *base);
/* The link is up on sess: ask for commands at once, then every poll_s. */
void coap_cmd_up(struct coap_cmd *cc, coap_session_t *sess);
/* The link is down: what was in flight is void (coap.c cleared the slots). */
void coap_cmd_down(struct coap_cmd *cc);
/* uplink_ops.send_result, while up: at most CO_RESULTS in flight. */
enum uplink_result coap_cmd_result(struct coap_cmd *cc, const char *json,
    uint64_t r);
/*
 * The answer to one of its requests (REQ_RESULT, REQ_COMMANDS); r is freed
 * here (cleared) when done. 0, or -EIO if the link should go down (5.xx to a
 * result: the platform is in trouble; the store resends after the next up).
 */
int coap_cmd_response(struct coap_cmd *cc, struct req *r, const coap_pdu_t *rcvd);
void coap_cmd_stop(struct coap_cmd *cc);

#endif
