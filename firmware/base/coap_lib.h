/*
 * libcoap, loaded when the CoAP uplink starts or the OTA download fetches
 * from a coap:// URL (coap_lib.c says why).
 *
 * Include this instead of <coap3/coap.h>. Every libcoap function the daemon
 * calls is listed in COAP_LIB_FUNCS (without its coap_ prefix) and has a macro
 * below for the pointer coap_lib_load() filled in, so the uplink's files and
 * firmware/ota/fetch_coap.c keep calling libcoap by its own names. The daemon
 * does not link libcoap: a function missing here fails the build ("undefined
 * reference"); add it to both lists.
 */
#ifndef WG_COAP_LIB_H
#define WG_COAP_LIB_H

#include <coap3/coap.h>

#define COAP_LIB_FUNCS(X)						\
	X(add_data_large_request)					\
	X(add_option)							\
	X(add_token)							\
	X(address_init)							\
	X(check_option)							\
	X(cleanup)							\
	X(context_get_coap_fd)						\
	X(context_set_block_mode)					\
	X(decode_var_bytes)						\
	X(decode_var_bytes8)						\
	X(delete_pdu)							\
	X(dtls_is_supported)						\
	X(encode_var_safe)						\
	X(free_context)							\
	X(get_data)							\
	X(get_data_large)						\
	X(get_app_data)							\
	X(io_prepare_epoll)						\
	X(io_process)							\
	X(new_client_session)						\
	X(new_client_session_pki)					\
	X(new_client_session_psk2)					\
	X(new_context)							\
	X(new_message_id)						\
	X(opt_length)							\
	X(opt_value)							\
	X(pdu_get_code)							\
	X(pdu_get_token)						\
	X(pdu_init)							\
	X(register_event_handler)					\
	X(register_nack_handler)					\
	X(register_pong_handler)					\
	X(register_response_handler)					\
	X(send)								\
	X(session_get_context)						\
	X(session_get_tls)						\
	X(session_max_pdu_size)						\
	X(session_new_token)						\
	X(session_release)						\
	X(session_send_ping)						\
	X(session_set_ack_timeout)					\
	X(session_set_max_retransmit)					\
	X(session_set_nstart)						\
	X(set_app_data)							\
	X(set_log_handler)						\
	X(set_log_level)						\
	X(split_uri)							\
	X(startup)							\
	X(ticks)

#define COAP_LIB_FIELD(f) __typeof__(coap_##f) *f;
struct coap_lib {
	COAP_LIB_FUNCS(COAP_LIB_FIELD)
};
#undef COAP_LIB_FIELD

extern struct coap_lib coap_lib;

/*
 * Loads the libcoap variant for a link: with DTLS (OpenSSL) if dtls, the one
 * without otherwise. Once per process, from any thread: the first caller
 * chooses. Later, a plain link takes whichever is loaded (the OpenSSL variant
 * speaks coap:// too); a DTLS link when the plain one is loaded is refused
 * (-EINVAL). 0, or a negative errno after logging why.
 */
int	coap_lib_load(int dtls);

/* From here on, a libcoap call goes through the table. */
#define coap_add_data_large_request	(coap_lib.add_data_large_request)
#define coap_add_option			(coap_lib.add_option)
#define coap_add_token			(coap_lib.add_token)
#define coap_address_init		(coap_lib.address_init)
#define coap_check_option		(coap_lib.check_option)
#define coap_cleanup			(coap_lib.cleanup)
#define coap_context_get_coap_fd	(coap_lib.context_get_coap_fd)
#define coap_context_set_block_mode	(coap_lib.context_set_block_mode)
#define coap_decode_var_bytes		(coap_lib.decode_var_bytes)
#define coap_decode_var_bytes8		(coap_lib.decode_var_bytes8)
#define coap_delete_pdu			(coap_lib.delete_pdu)
#define coap_dtls_is_supported		(coap_lib.dtls_is_supported)
#define coap_encode_var_safe		(coap_lib.encode_var_safe)
#define coap_free_context		(coap_lib.free_context)
#define coap_get_data			(coap_lib.get_data)
#define coap_get_data_large		(coap_lib.get_data_large)
#define coap_get_app_data		(coap_lib.get_app_data)
#define coap_io_prepare_epoll		(coap_lib.io_prepare_epoll)
#define coap_io_process			(coap_lib.io_process)
#define coap_new_client_session		(coap_lib.new_client_session)
#define coap_new_client_session_pki	(coap_lib.new_client_session_pki)
#define coap_new_client_session_psk2	(coap_lib.new_client_session_psk2)
#define coap_new_context		(coap_lib.new_context)
#define coap_new_message_id		(coap_lib.new_message_id)
#define coap_opt_length			(coap_lib.opt_length)
#define coap_opt_value			(coap_lib.opt_value)
#define coap_pdu_get_code		(coap_lib.pdu_get_code)
#define coap_pdu_get_token		(coap_lib.pdu_get_token)
#define coap_pdu_init			(coap_lib.pdu_init)
#define coap_register_event_handler	(coap_lib.register_event_handler)
#define coap_register_nack_handler	(coap_lib.register_nack_handler)
#define coap_register_pong_handler	(coap_lib.register_pong_handler)
#define coap_register_response_handler	(coap_lib.register_response_handler)
#define coap_send			(coap_lib.send)
#define coap_session_get_tls		(coap_lib.session_get_tls)
#define coap_session_get_context	(coap_lib.session_get_context)
#define coap_session_max_pdu_size	(coap_lib.session_max_pdu_size)
#define coap_session_new_token		(coap_lib.session_new_token)
#define coap_session_release		(coap_lib.session_release)
#define coap_session_send_ping		(coap_lib.session_send_ping)
#define coap_session_set_ack_timeout	(coap_lib.session_set_ack_timeout)
#define coap_session_set_max_retransmit	(coap_lib.session_set_max_retransmit)
#define coap_session_set_nstart		(coap_lib.session_set_nstart)
#define coap_set_app_data		(coap_lib.set_app_data)
#define coap_set_log_handler		(coap_lib.set_log_handler)
#define coap_set_log_level		(coap_lib.set_log_level)
#define coap_split_uri			(coap_lib.split_uri)
#define coap_startup			(coap_lib.startup)
#define coap_ticks			(coap_lib.ticks)

#endif
