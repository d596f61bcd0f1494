/*
 * wattgate-fleet's console logins (docs/console.md "Login"): technician
 * keys and credentials, answers to challenges (tech.c), and the password
 * hash the console.password command carries (password.c).
 */
#ifndef WG_FLEET_TECH_H
#define WG_FLEET_TECH_H

#include <stdint.h>

/*
 * verb is tech-keygen, tech-issue, tech-answer or password-hash: its
 * options from argv[2] on; the exit code. -1: not one of these verbs.
 */
int tech_main(const char *verb, int argc, char **argv);

/*
 * The password from stdin (asked twice, without echo, on a terminal),
 * hashed with a random salt and iterations rounds; prints console.password's
 * args. The exit code.
 */
int password_hash(uint32_t iterations);

#endif
