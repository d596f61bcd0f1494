/*
 * The challenge fuzz_techcred checks answers against, and fuzz_seeds signs
 * with the test key (tests/fixtures/cmdkey.h) in its seed responses, so the
 * harness reaches an answer that verifies.
 */
#ifndef WG_FUZZ_TECHCRED_H
#define WG_FUZZ_TECHCRED_H

#define TECHCRED_FUZZ_CHALLENGE \
	"wgc1 gw-0001 000102030405060708090a0b0c0d0e0f 1796515200"

#endif
