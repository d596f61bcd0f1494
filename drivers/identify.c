/*
 * Identify a device by reading it with each known profile.
 *
 * Modbus has no standard "who are you": FC43/14 (device identification) is
 * rarely implemented by meters. What every device does is answer its own
 * register map and refuse (exception 2) or zero-fill others. So a profile
 * fits when its whole request plan is answered and its "identify" checks
 * read back plausible values; among several fits the one that reads the most
 * points valid is the most specific (an SDM630 answers everything an SDM72D
 * V1 map asks for, but not the other way round).
 *
 * The matching reads through a struct identify_src, not a struct bus, so that
 * what a device answers can be put in without a bus: wattgate scan passes its
 * bus (identify_unit()), the fuzzer (tests/fuzz/fuzz_scan.c) raw answers made
 * from its input (identify_answers()). A source rather than a register image
 * read up front: a string check reads its string only when its turn comes,
 * and none after the first check that fails, so a scan sends the requests
 * it sent before the split, in the same order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/identify.h"
#include "firmware/base/dec.h"

int
identify_probe(struct bus *b, int unit)
{
	uint16_t reg;
	int rc;

	rc = bus_read(b, unit, 3, 0, 1, &reg, NULL);
	if (rc == 0 || rc == -EPROTO)
		return 1;
	if (rc == -ETIMEDOUT)
		return 0;
	return -EIO;
}

/* identify_src's read on a struct bus, for one unit. */
struct bus_unit {
	struct bus *b;
	int unit;
};

static int
bus_unit_read(void *arg, int fc, int addr, int count, uint16_t *dst)
{
	const struct bus_unit *bu = arg;

	return bus_read(bu->b, bu->unit, fc, addr, count, dst, NULL);
}

/*
 * A device's registers by fc and address, and which of them were read. Only
 * the function codes the profiles read are allocated (most read one: 192 kB,
 * not 768), and have[] is set in [lo, hi) at most, so the next profile clears
 * only that span, not all of it. Both for the fuzzer (tests/fuzz/fuzz_scan.c,
 * 11 profiles per input, under ASan): 745 runs/s clearing 256 kB per profile,
 * 1,234 with the span (3 identifications per input); 1,750 -> 2,930 with the
 * allocation per fc (2 per input).
 */
struct image {
	uint16_t *regs[4];	/* 65536 each, or NULL */
	uint8_t *have[4];	/* 65536 each, or NULL; 0 outside [lo, hi) */
	uint32_t lo[4], hi[4];
};

static void
image_free(struct image *img)
{
	int fc;

	for (fc = 0; fc < 4; fc++) {
		free(img->regs[fc]);
		free(img->have[fc]);
	}
	free(img);
}

/* An image for the function codes profiles[0 .. n) read, or NULL. */
static struct image *
image_new(const struct profile *profiles, size_t n)
{
	struct image *img;
	size_t i, k;
	int fc;

	if ((img = calloc(1, sizeof(*img))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		for (k = 0; k < profiles[i].n_points; k++) {
			fc = profiles[i].points[k].fc - 1;
			if (img->have[fc] != NULL)
				continue;
			img->regs[fc] = malloc(65536 * sizeof(img->regs[fc][0]));
			img->have[fc] = calloc(65536, 1);
			if (img->regs[fc] == NULL || img->have[fc] == NULL) {
				image_free(img);
				return NULL;
			}
		}
	}
	return img;
}

/* Forget what the last profile read. */
static void
forget(struct image *img)
{
	int fc;

	for (fc = 0; fc < 4; fc++) {
		if (img->lo[fc] < img->hi[fc])
			memset(&img->have[fc][img->lo[fc]], 0,
			    img->hi[fc] - img->lo[fc]);
		img->lo[fc] = 65536;
		img->hi[fc] = 0;
	}
}

/*
 * Read every request of p's plan from src into img. Returns 0 if all were
 * answered, else the first failure.
 */
static int
read_plan(const struct identify_src *src, const struct profile *p,
    struct image *img)
{
	struct plan_req reqs[PROFILE_POINTS_MAX];
	uint16_t buf[BUS_READ_BITS_MAX];	/* bits are one element each */
	uint32_t *lo, *hi;
	int n, i, rc;

	n = plan_build(p, reqs, PROFILE_POINTS_MAX);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		rc = src->read(src->arg, reqs[i].fc, reqs[i].addr,
		    reqs[i].count, buf);
		if (rc < 0)
			return rc;
		memcpy(&img->regs[reqs[i].fc - 1][reqs[i].addr], buf,
		    reqs[i].count * sizeof(buf[0]));
		memset(&img->have[reqs[i].fc - 1][reqs[i].addr], 1,
		    reqs[i].count);
		lo = &img->lo[reqs[i].fc - 1];
		hi = &img->hi[reqs[i].fc - 1];
		if (reqs[i].addr < *lo)
			*lo = reqs[i].addr;
		if ((uint32_t)reqs[i].addr + reqs[i].count > *hi)
			*hi = (uint32_t)reqs[i].addr + reqs[i].count;
	}
	return 0;
}

/* Decode point i from the image: 0 and *v, or <0 (not read, or invalid). */
static int
decode(const struct profile *p, size_t i, const struct image *img, double *v)
{
	const struct profile_point *pp = &p->points[i];
	unsigned words = regmap_words(pp->type);
	struct dec d;
	int rc;

	if ((unsigned)pp->addr + words > 65536 ||
	    !img->have[pp->fc - 1][pp->addr] ||
	    !img->have[pp->fc - 1][pp->addr + words - 1])
		return -ENODATA;
	rc = profile_point_decode(p, pp, &img->regs[pp->fc - 1][pp->addr], &d);
	if (rc < 0)
		return rc;
	*v = dec_to_double(d);
	return 0;
}

int
identify_read_info(const struct identify_src *src, const struct profile *p,
    size_t i, char *out, size_t outlen)
{
	const struct profile_info *pi = &p->info[i];
	uint16_t regs[PROFILE_INFO_REGS_MAX];
	int rc;

	if (i >= p->n_info || outlen <= 2u * pi->len)
		return -EINVAL;
	if ((rc = src->read(src->arg, pi->fc, pi->addr, pi->len, regs)) < 0)
		return rc;
	profile_info_decode(pi, regs, out, outlen);
	return 0;
}

int
identify_info(struct bus *b, int unit, const struct profile *p, size_t i,
    char *out, size_t outlen)
{
	struct bus_unit bu = { b, unit };
	struct identify_src src = { bus_unit_read, &bu };

	return identify_read_info(&src, p, i, out, outlen);
}

/* A string check: the info string reads back exactly k->equals. */
static int
info_matches(const struct identify_src *src, const struct profile *p,
    const struct profile_check *k)
{
	char s[PROFILE_INFO_CHARS + 1];

	return identify_read_info(src, p, (size_t)k->info, s, sizeof(s)) == 0 &&
	    strcmp(s, k->equals) == 0;
}

/* The score of p on src's device, 0 if it does not fit. */
static unsigned
fit(const struct identify_src *src, const struct profile *p,
    struct image *img)
{
	const struct profile_check *k;
	unsigned score = 0;
	double v;
	size_t i;

	forget(img);
	if (read_plan(src, p, img) < 0)
		return 0;
	for (i = 0; i < p->n_identify; i++) {
		k = &p->identify[i];
		if (k->info >= 0) {
			if (!info_matches(src, p, k))
				return 0;
			continue;
		}
		if (decode(p, k->point, img, &v) < 0 || v < k->min || v > k->max)
			return 0;
	}
	for (i = 0; i < p->n_points; i++) {
		if (decode(p, i, img, &v) == 0)
			score++;
	}
	return score;
}

int
identify_answers(const struct identify_src *src,
    const struct profile *profiles, size_t n, struct identify_fit *fits,
    size_t cap)
{
	struct identify_fit f;
	struct image *img;
	size_t i, j, nfit = 0;

	if ((img = image_new(profiles, n)) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		f.profile = i;
		if ((f.score = fit(src, &profiles[i], img)) == 0)
			continue;
		/* Insertion into the list kept best first; equal scores keep order. */
		for (j = nfit < cap ? nfit : cap; j > 0 &&
		    fits[j - 1].score < f.score; j--) {
			if (j < cap)
				fits[j] = fits[j - 1];
		}
		if (j < cap)
			fits[j] = f;
		nfit++;
	}
	image_free(img);
	return (int)nfit;
}

int
identify_unit(struct bus *b, int unit, const struct profile *profiles,
    size_t n, struct identify_fit *fits, size_t cap)
{
	struct bus_unit bu = { b, unit };
	struct identify_src src = { bus_unit_read, &bu };

	return identify_answers(&src, profiles, n, fits, cap);
}
