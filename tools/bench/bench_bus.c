/*
 * bench_bus: bus time of a poll cycle, the planner's plan against the least
 * possible and against one request per point (what collectd and the
 * ThingsBoard gateway do).
 *
 *   bench_bus PROFILE_DIR HOUSEHOLD      prints key=value lines (tools/bench/run)
 *
 * Every profile in PROFILE_DIR is planned alone at 9600 baud, 11-bit
 * characters, its own turnaround (bus_time_ratio_<name>); then the household
 * bus of HOUSEHOLD (tools/bench/household.conf: one device per role, the first
 * shipped profile matching the role's patterns, else sdm630) as one cycle.
 *
 * "Least possible" is computed here, not taken from the planner: a dynamic
 * program of its own over the points in address order, each read covering a
 * contiguous run of them, legality checked register by register. For points
 * that are identical or disjoint, which the profile loader enforces, some
 * cheapest plan has that form, so this is the exact minimum under the same
 * limits and the same bus-time model (bustime.h, the one thing shared with the
 * planner). The planner's plan is checked for legality
 * the same way before it is priced, so a ratio below 1 cannot come from an
 * illegal plan; a ratio below 1 would mean this reference is wrong.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/profile.h"

#define PROFILES_MAX 64
#define ROLES_MAX 16
#define FALLBACK "sdm630"
#define INF UINT64_MAX

struct cost {
	uint64_t plan_ns, min_ns, base_ns;
	size_t plan_reqs, base_reqs;
};

static struct profile profiles[PROFILES_MAX];
static size_t n_profiles;

/* covered[fc - 1][a]: some point of the profile at hand covers address a. */
static uint8_t covered[4][65536];

static unsigned
span(const struct profile_point *pt)
{
	return plan_point_span(pt);
}

static void
cover(const struct profile *p, uint8_t v)
{
	size_t i;
	unsigned a;

	for (i = 0; i < p->n_points; i++)
		for (a = 0; a < span(&p->points[i]); a++)
			covered[p->points[i].fc - 1][p->points[i].addr + a] = v;
}

/* Bus time of a read of fc a..b under p's limits, or INF if not allowed. */
static uint64_t
legal_read(const struct profile *p, const struct bustime *t, unsigned fc,
    unsigned a, unsigned b)
{
	unsigned limit, run = 0, r;
	size_t k;

	if (fc < 1 || fc > 4 || b < a || b > 65535)
		return INF;
	limit = fc <= 2 ? (p->max_read_bits ? p->max_read_bits :
	    PROFILE_BITS_MAX) : p->max_read;
	if (b - a + 1 > limit)
		return INF;
	for (r = a; r <= b; r++) {
		for (k = 0; k < p->n_forbidden; k++)
			if (p->forbidden[k].fc == fc && p->forbidden[k].from <= r &&
			    r <= p->forbidden[k].to)
				return INF;
		run = covered[fc - 1][r] ? 0 : run + 1;
		if (run > p->max_gap)
			return INF;
	}
	return bustime_read_ns(t, fc, b - a + 1);
}

struct unit {
	unsigned fc, a, b;
};

static int
unit_cmp(const void *x, const void *y)
{
	const struct unit *u = x, *v = y;

	if (u->fc != v->fc)
		return u->fc < v->fc ? -1 : 1;
	if (u->a != v->a)
		return u->a < v->a ? -1 : 1;
	return u->b < v->b ? 1 : u->b > v->b ? -1 : 0;	/* longest first */
}

/*
 * The reference minimum (see the top of the file), INF if none exists. Units
 * are the points in (fc, address) order, a repeated point once and a point
 * inside another with it; a partial overlap also joins the two into one unit,
 * and then the result only bounds the minimum from above (*exact = 0).
 */
static uint64_t
min_cost(const struct profile *p, const struct bustime *t, int *exact)
{
	static struct unit u[PROFILE_POINTS_MAX];
	static uint64_t best[PROFILE_POINTS_MAX + 1];
	size_t n = 0, m = 0, i, j;
	uint64_t c;

	*exact = 1;
	for (i = 0; i < p->n_points; i++)
		u[n++] = (struct unit){ p->points[i].fc, p->points[i].addr,
		    p->points[i].addr + span(&p->points[i]) - 1 };
	qsort(u, n, sizeof(u[0]), unit_cmp);
	for (i = 0; i < n; i++) {
		if (m > 0 && u[m - 1].fc == u[i].fc && u[i].a <= u[m - 1].b) {
			if (u[i].b > u[m - 1].b) {
				u[m - 1].b = u[i].b;
				*exact = 0;
			}
			continue;
		}
		u[m++] = u[i];
	}
	best[0] = 0;
	for (j = 1; j <= m; j++) {
		best[j] = INF;
		for (i = 0; i < j; i++) {
			if (best[i] == INF || u[i].fc != u[j - 1].fc)
				continue;
			c = legal_read(p, t, u[i].fc, u[i].a, u[j - 1].b);
			if (c != INF && best[i] + c < best[j])
				best[j] = best[i] + c;
		}
	}
	return best[m];
}

/* Plan p at 9600 baud, check the plan, price it, the minimum and baseline. */
static int
measure(const struct profile *p, struct cost *c)
{
	static struct plan_req reqs[PROFILE_POINTS_MAX];
	struct bustime t;
	size_t i, j;
	uint64_t r;
	int n, exact, rc = -EINVAL;

	memset(c, 0, sizeof(*c));
	bustime_default(&t, p->turnaround_ms);
	cover(p, 1);
	if ((n = plan_build_for(p, &t, reqs, PROFILE_POINTS_MAX)) < 0) {
		fprintf(stderr, "bench: %s: no plan (%s)\n", p->name,
		    strerror(-n));
		goto out;
	}
	for (j = 0; j < (size_t)n; j++) {
		r = legal_read(p, &t, reqs[j].fc, reqs[j].addr,
		    (unsigned)reqs[j].addr + reqs[j].count - 1);
		if (r == INF) {
			fprintf(stderr, "bench: %s: planned read fc %u %u+%u "
			    "breaks a limit\n", p->name, reqs[j].fc,
			    reqs[j].addr, reqs[j].count);
			goto out;
		}
		c->plan_ns += r;
	}
	for (i = 0; i < p->n_points; i++) {
		for (j = 0; j < (size_t)n; j++)
			if (reqs[j].fc == p->points[i].fc &&
			    reqs[j].addr <= p->points[i].addr &&
			    p->points[i].addr + span(&p->points[i]) <=
			    (unsigned)reqs[j].addr + reqs[j].count)
				break;
		if (j == (size_t)n) {
			fprintf(stderr, "bench: %s: the plan misses %s\n",
			    p->name, p->points[i].name);
			goto out;
		}
		c->base_ns += bustime_read_ns(&t, p->points[i].fc,
		    span(&p->points[i]));
	}
	c->plan_reqs = (size_t)n;
	c->base_reqs = p->n_points;
	c->min_ns = min_cost(p, &t, &exact);
	if (c->min_ns == INF || c->min_ns == 0) {
		fprintf(stderr, "bench: %s: no reference minimum\n", p->name);
		goto out;
	}
	if (!exact)
		fprintf(stderr, "bench: %s: points overlap partly; the "
		    "minimum is an upper bound\n", p->name);
	rc = 0;
out:
	cover(p, 0);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct profile *)a)->name,
	    ((const struct profile *)b)->name);
}

/* Every *.json of dir; a profile that does not load fails the bench. */
static int
load_all(const char *dir)
{
	char path[PATH_MAX], err[512];
	struct dirent *de;
	size_t len;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "bench: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL && rc == 0) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (n_profiles == PROFILES_MAX) {
			fprintf(stderr, "bench: more than %d profiles\n",
			    PROFILES_MAX);
			rc = -1;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (profile_load(path, &profiles[n_profiles], err,
		    sizeof(err)) < 0) {
			fprintf(stderr, "bench: %s\n", err);
			rc = -1;
			break;
		}
		n_profiles++;
	}
	closedir(d);
	qsort(profiles, n_profiles, sizeof(profiles[0]), name_cmp);
	return rc;
}

static const struct profile *
find(const char *pattern)
{
	size_t i;

	for (i = 0; i < n_profiles; i++)
		if (fnmatch(pattern, profiles[i].name, 0) == 0)
			return &profiles[i];
	return NULL;
}

/*
 * One role a line: "role pattern...". The first pattern that matches a
 * shipped profile picks it; none: the fallback.
 */
static int
household(const char *file, const struct profile **dev, char roles[][32],
    size_t *n)
{
	char line[512], *tok, *save;
	const struct profile *p;
	FILE *f;
	unsigned lineno = 0;

	if ((f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "bench: %s: %s\n", file, strerror(errno));
		return -1;
	}
	*n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if ((tok = strtok_r(line, " \t\n", &save)) == NULL ||
		    tok[0] == '#')
			continue;
		if (*n == ROLES_MAX) {
			fprintf(stderr, "bench: %s:%u: more than %d devices\n",
			    file, lineno, ROLES_MAX);
			fclose(f);
			return -1;
		}
		snprintf(roles[*n], 32, "%s", tok);
		p = NULL;
		while (p == NULL && (tok = strtok_r(NULL, " \t\n", &save)) != NULL)
			p = find(tok);
		if (p == NULL) {
			p = find(FALLBACK);
			fprintf(stderr, "bench: %s: no shipped profile for it, "
			    "%s stands in\n", roles[*n], FALLBACK);
		}
		if (p == NULL) {
			fprintf(stderr, "bench: no %s profile to stand in\n",
			    FALLBACK);
			fclose(f);
			return -1;
		}
		dev[(*n)++] = p;
	}
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct profile *dev[ROLES_MAX];
	char roles[ROLES_MAX][32];
	struct cost c, sum;
	size_t i, n;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_bus PROFILE_DIR HOUSEHOLD\n");
		return 2;
	}
	if (load_all(argv[1]) < 0 || household(argv[2], dev, roles, &n) < 0)
		goto out;
	for (i = 0; i < n_profiles; i++) {
		if (measure(&profiles[i], &c) < 0)
			goto out;
		printf("bus_time_ratio_%s=%.4f\n", profiles[i].name,
		    (double)c.plan_ns / (double)c.min_ns);
	}
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < n; i++) {
		if (measure(dev[i], &c) < 0)
			goto out;
		fprintf(stderr, "bench: %-12s %-12s %zu reads %.1f ms (least "
		    "%.1f ms); one per point: %zu reads %.1f ms\n", roles[i],
		    dev[i]->name, c.plan_reqs, c.plan_ns / 1e6, c.min_ns / 1e6,
		    c.base_reqs, c.base_ns / 1e6);
		sum.plan_ns += c.plan_ns;
		sum.min_ns += c.min_ns;
		sum.base_ns += c.base_ns;
		sum.plan_reqs += c.plan_reqs;
		sum.base_reqs += c.base_reqs;
	}
	if (n == 0) {
		fprintf(stderr, "bench: %s: no devices\n", argv[2]);
		goto out;
	}
	printf("bus_time_ratio=%.4f\n", (double)sum.plan_ns / sum.min_ns);
	printf("bus_time_ms=%.1f\n", sum.plan_ns / 1e6);
	printf("bus_time_min_ms=%.1f\n", sum.min_ns / 1e6);
	printf("requests_per_cycle=%zu\n", sum.plan_reqs);
	printf("baseline_bus_time_ratio=%.4f\n",
	    (double)sum.base_ns / sum.min_ns);
	printf("baseline_bus_time_ms=%.1f\n", sum.base_ns / 1e6);
	printf("baseline_requests_per_cycle=%zu\n", sum.base_reqs);
	rc = 0;
out:
	for (i = 0; i < n_profiles; i++)
		profile_free(&profiles[i]);
	return rc;
}
