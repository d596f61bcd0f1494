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

/* A device's registers by fc and address, and which of them were read. */
struct image {
	uint16_t regs[4][65536];
	uint8_t have[4][65536];
};

/*
 * Read every request of p's plan at unit into img. Returns 0 if all were
 * answered, else the first failure.
 */
static int
read_plan(struct bus *b, int unit, const struct profile *p, struct image *img)
{
	struct plan_req reqs[PROFILE_POINTS_MAX];
	uint16_t buf[BUS_READ_BITS_MAX];	/* bits are one element each */
	int n, i, rc;

	n = plan_build(p, reqs, PROFILE_POINTS_MAX);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		rc = bus_read(b, unit, reqs[i].fc, reqs[i].addr, reqs[i].count,
		    buf, NULL);
		if (rc < 0)
			return rc;
		memcpy(&img->regs[reqs[i].fc - 1][reqs[i].addr], buf,
		    reqs[i].count * sizeof(buf[0]));
		memset(&img->have[reqs[i].fc - 1][reqs[i].addr], 1,
		    reqs[i].count);
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
identify_info(struct bus *b, int unit, const struct profile *p, size_t i,
    char *out, size_t outlen)
{
	const struct profile_info *pi = &p->info[i];
	uint16_t regs[PROFILE_INFO_REGS_MAX];
	int rc;

	if (i >= p->n_info || outlen <= 2u * pi->len)
		return -EINVAL;
	if ((rc = bus_read(b, unit, pi->fc, pi->addr, pi->len, regs, NULL)) < 0)
		return rc;
	profile_info_decode(pi, regs, out, outlen);
	return 0;
}

/* A string check: the info string reads back exactly k->equals. */
static int
info_matches(struct bus *b, int unit, const struct profile *p,
    const struct profile_check *k)
{
	char s[PROFILE_INFO_CHARS + 1];

	return identify_info(b, unit, p, (size_t)k->info, s, sizeof(s)) == 0 &&
	    strcmp(s, k->equals) == 0;
}

/* The score of p at unit, 0 if it does not fit. */
static unsigned
fit(struct bus *b, int unit, const struct profile *p, struct image *img)
{
	const struct profile_check *k;
	unsigned score = 0;
	double v;
	size_t i;

	memset(img->have, 0, sizeof(img->have));
	if (read_plan(b, unit, p, img) < 0)
		return 0;
	for (i = 0; i < p->n_identify; i++) {
		k = &p->identify[i];
		if (k->info >= 0) {
			if (!info_matches(b, unit, p, k))
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
identify_unit(struct bus *b, int unit, const struct profile *profiles,
    size_t n, struct identify_fit *fits, size_t cap)
{
	struct identify_fit f;
	struct image *img;
	size_t i, j, nfit = 0;

	if ((img = malloc(sizeof(*img))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		f.profile = i;
		if ((f.score = fit(b, unit, &profiles[i], img)) == 0)
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
	free(img);
	return (int)nfit;
}
