/*
 * wattgate-sim: Modbus meters for tests, demos and benchmarks.
 *
 *   wattgate-sim --profiles DIR --device UNIT:PROFILE [--device ...]
 *       (--tcp HOST:PORT | --rtu PATH | --rtu-tcp HOST:PORT) [--log FILE] [--seed N]
 *       [--invalid-every N] [--fault UNIT:MODE ...] [--fault-file FILE]
 *
 * Prints "wattgate-sim: ready tcp HOST:PORT", "wattgate-sim: ready rtu PATH" or
 * "wattgate-sim: ready rtu-tcp HOST:PORT" on stdout once it serves; SIGINT/SIGTERM end it with status 0. See
 * docs/simulator.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/sim/chgmodel.h"
#include "tools/sim/rtu.h"
#include "tools/sim/rtutcp.h"
#include "tools/sim/sim.h"
#include "tools/sim/tcp.h"

struct opts {
	const char *profiles, *tcp, *rtu, *rtutcp, *log;
	const char *devices[SIM_DEVICES_MAX];
	size_t n_devices;
	const char *faults[SIM_DEVICES_MAX];
	size_t n_faults;
	const char *fault_file;
	uint64_t seed;
	unsigned invalid_every;
	uint64_t charger_cycle_s;
};

static volatile sig_atomic_t stop, reload;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		reload = 1;
	else
		stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: wattgate-sim --profiles DIR --device UNIT:PROFILE "
	    "[--device UNIT:PROFILE ...]\n"
	    "                    (--tcp HOST:PORT | --rtu PATH | --rtu-tcp "
	    "HOST:PORT)\n"
	    "                    [--log FILE] [--seed N]\n"
	    "                    [--invalid-every N] [--fault UNIT:MODE ...] "
	    "[--fault-file FILE]\n"
	    "                    [--charger-cycle SECONDS]\n");
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "profiles", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'd' },
		{ "tcp", required_argument, NULL, 't' },
		{ "rtu", required_argument, NULL, 'r' },
		{ "rtu-tcp", required_argument, NULL, 'R' },
		{ "log", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 's' },
		{ "invalid-every", required_argument, NULL, 'i' },
		{ "fault", required_argument, NULL, 'f' },
		{ "fault-file", required_argument, NULL, 'F' },
		{ "charger-cycle", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->profiles = optarg; break;
		case 't': o->tcp = optarg; break;
		case 'r': o->rtu = optarg; break;
		case 'R': o->rtutcp = optarg; break;
		case 'l': o->log = optarg; break;
		case 'd':
			if (o->n_devices == SIM_DEVICES_MAX) {
				fprintf(stderr, "wattgate-sim: --device: more "
				    "than %d\n", SIM_DEVICES_MAX);
				return -EINVAL;
			}
			o->devices[o->n_devices++] = optarg;
			break;
		case 's':
			if (parse_u64(optarg, UINT64_MAX, &o->seed) != 0) {
				fprintf(stderr, "wattgate-sim: --seed '%s': not an "
				    "unsigned integer\n", optarg);
				return -EINVAL;
			}
			break;
		case 'i':
			if (parse_u64(optarg, 1000000, &n) != 0) {
				fprintf(stderr, "wattgate-sim: --invalid-every "
				    "'%s': not 0..1000000\n", optarg);
				return -EINVAL;
			}
			o->invalid_every = (unsigned)n;
			break;
		case 'f':
			if (o->n_faults == SIM_DEVICES_MAX) {
				fprintf(stderr, "wattgate-sim: --fault: more "
				    "than %d\n", SIM_DEVICES_MAX);
				return -EINVAL;
			}
			o->faults[o->n_faults++] = optarg;
			break;
		case 'F': o->fault_file = optarg; break;
		case 'c':
			if (parse_u64(optarg, CHGMODEL_PERIOD_MAX_MS / 1000,
			    &o->charger_cycle_s) != 0 || o->charger_cycle_s *
			    1000 < CHGMODEL_PERIOD_MIN_MS) {
				fprintf(stderr, "wattgate-sim: --charger-cycle "
				    "'%s': not %lld..%lld seconds\n", optarg,
				    CHGMODEL_PERIOD_MIN_MS / 1000,
				    CHGMODEL_PERIOD_MAX_MS / 1000);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc || o->profiles == NULL || o->n_devices == 0 ||
	    (o->tcp != NULL) + (o->rtu != NULL) + (o->rtutcp != NULL) != 1) {
		fprintf(stderr, "wattgate-sim: need --profiles, at least one "
		    "--device and exactly one of --tcp, --rtu, --rtu-tcp\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int
add_devices(struct sim *s, const struct opts *o)
{
	char err[512], unit_s[8];
	const char *spec, *colon;
	uint64_t unit;
	size_t i;

	for (i = 0; i < o->n_devices; i++) {
		spec = o->devices[i];
		colon = strchr(spec, ':');
		if (colon == NULL || colon == spec || colon[1] == '\0' ||
		    (size_t)(colon - spec) >= sizeof(unit_s)) {
			fprintf(stderr, "wattgate-sim: --device '%s': expected "
			    "UNIT:PROFILE\n", spec);
			return -EINVAL;
		}
		memcpy(unit_s, spec, (size_t)(colon - spec));
		unit_s[colon - spec] = '\0';
		if (parse_u64(unit_s, 247, &unit) != 0 || unit == 0) {
			fprintf(stderr, "wattgate-sim: --device '%s': unit must be "
			    "1..247\n", spec);
			return -EINVAL;
		}
		if (sim_add(s, (unsigned)unit, o->profiles, colon + 1, o->seed,
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "wattgate-sim: --device '%s': %s\n", spec,
			    err);
			return -EINVAL;
		}
	}
	return 0;
}

static int
add_faults(struct sim *s, const struct opts *o)
{
	struct fault f;
	char err[384];
	unsigned unit;
	size_t i;

	for (i = 0; i < o->n_faults; i++) {
		if (fault_parse(o->faults[i], &unit, &f, err, sizeof(err)) != 0 ||
		    sim_fault_set(s, unit, &f, err, sizeof(err)) != 0) {
			fprintf(stderr, "wattgate-sim: --fault %s\n", err);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The fault file: one UNIT:MODE per line (blank lines and # comments skipped)
 * on top of the --fault options: each load starts again from those, so a unit
 * neither names goes back to none. The file is applied whole or not at all: a
 * bad line keeps the faults as they were, so a half-written file never leaves
 * a half-applied state. Read at start and on each SIGUSR1; each reading ends
 * with one line on stderr the tests wait for.
 */
static int
load_fault_file(struct sim *s, const struct opts *o)
{
	const char *path = o->fault_file;
	struct { unsigned unit; struct fault f; } rule[SIM_DEVICES_MAX];
	char line[256], err[384], *p;
	size_t n = 0, i, lineno = 0;
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "re")) == NULL) {
		rc = -errno;
		fprintf(stderr, "wattgate-sim: --fault-file %s: %s; faults "
		    "unchanged\n", path, strerror(-rc));
		return rc;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			fprintf(stderr, "wattgate-sim: --fault-file %s:%zu: line "
			    "too long; faults unchanged\n", path, lineno);
			rc = -EINVAL;
			goto out;
		}
		line[strcspn(line, "\r\n#")] = '\0';
		for (p = line + strlen(line); p > line && (p[-1] == ' ' ||
		    p[-1] == '\t'); p--)
			p[-1] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0')
			continue;
		if (n == SIM_DEVICES_MAX) {
			fprintf(stderr, "wattgate-sim: --fault-file %s:%zu: more "
			    "than %d rules; faults unchanged\n", path, lineno,
			    SIM_DEVICES_MAX);
			rc = -EINVAL;
			goto out;
		}
		if (fault_parse(p, &rule[n].unit, &rule[n].f, err,
		    sizeof(err)) != 0 || sim_fault_check(s, rule[n].unit,
		    &rule[n].f, err, sizeof(err)) != 0) {
			fprintf(stderr, "wattgate-sim: --fault-file %s:%zu: %s; "
			    "faults unchanged\n", path, lineno, err);
			rc = -EINVAL;
			goto out;
		}
		n++;
	}
	if (ferror(f)) {
		fprintf(stderr, "wattgate-sim: --fault-file %s: read error; "
		    "faults unchanged\n", path);
		rc = -EIO;
		goto out;
	}
out:
	fclose(f);
	if (rc != 0)
		return rc;
	sim_faults_clear(s);
	if (add_faults(s, o) != 0)
		return -EINVAL;		/* cannot happen: they were checked */
	for (i = 0; i < n; i++)
		sim_fault_set(s, rule[i].unit, &rule[i].f, err, sizeof(err));
	fprintf(stderr, "wattgate-sim: faults from %s: %zu rule%s\n", path, n,
	    n == 1 ? "" : "s");
	return 0;
}

static void
reload_faults(struct sim *s)
{
	load_fault_file(s, s->reload_arg);
}

/*
 * SIGINT and SIGTERM stay blocked except inside ppoll(), so a signal can never
 * fall between the check of the flag and the wait.
 */
static int
setup_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &block, waitmask) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGUSR1, &sa, NULL) != 0)
		return -errno;
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGUSR1);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/*
 * The ready line goes out only once the socket listens or the symlink exists,
 * so a test that waits for it can connect at once.
 */
static int
serve(struct sim *s, const struct opts *o, const sigset_t *waitmask)
{
	char err[512], name[128];
	struct rtu r;
	int fd, rc;

	if (o->tcp != NULL || o->rtutcp != NULL) {
		fd = tcp_listen(o->tcp != NULL ? o->tcp : o->rtutcp, name,
		    sizeof(name), err, sizeof(err));
		if (fd < 0) {
			fprintf(stderr, "wattgate-sim: --%s %s\n", o->tcp != NULL ?
			    "tcp" : "rtu-tcp", err);
			return fd;
		}
		printf("wattgate-sim: ready %s %s\n", o->tcp != NULL ? "tcp" :
		    "rtu-tcp", name);
		fflush(stdout);
		if (o->tcp != NULL)
			rc = tcp_serve(s, fd, waitmask, &stop);
		else
			rc = rtutcp_serve(s, fd, waitmask, &stop);
		close(fd);
		return rc;
	}
	if ((rc = rtu_open(o->rtu, &r, err, sizeof(err))) != 0) {
		fprintf(stderr, "wattgate-sim: %s\n", err);
		return rc;
	}
	printf("wattgate-sim: ready rtu %s\n", o->rtu);
	fflush(stdout);
	rc = rtu_serve(s, &r, waitmask, &stop);
	rtu_close(&r);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct sim s;
	sigset_t waitmask;
	int rc = 1;

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	o.seed = 1;
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	if (setup_signals(&waitmask) != 0) {
		fprintf(stderr, "wattgate-sim: signals: %s\n", strerror(errno));
		return 1;
	}
	s.invalid_every = o.invalid_every;
	s.charger_cycle_ms = (int64_t)o.charger_cycle_s * 1000;
	s.mbap = o.tcp != NULL;
	if (add_devices(&s, &o) != 0 || add_faults(&s, &o) != 0)
		goto out;
	if (o.fault_file != NULL) {
		if (load_fault_file(&s, &o) != 0)
			goto out;
		s.reload_req = &reload;
		s.reload = reload_faults;
		s.reload_arg = &o;
	}
	/* Appended to: a restarted simulator continues the same record. */
	if (o.log != NULL && (s.log = fopen(o.log, "ae")) == NULL) {
		fprintf(stderr, "wattgate-sim: --log %s: %s\n", o.log,
		    strerror(errno));
		goto out;
	}
	if (serve(&s, &o, &waitmask) == 0)
		rc = 0;
out:
	if (s.log != NULL && fclose(s.log) != 0 && rc == 0) {
		fprintf(stderr, "wattgate-sim: --log %s: %s\n", o.log,
		    strerror(errno));
		rc = 1;
	}
	sim_free(&s);
	return rc;
}
