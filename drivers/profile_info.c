/*
 * The optional "info" section of a profile: identification strings a device
 * keeps in registers (serial number, firmware version, product type).
 *
 *   "info": [{"name": "serial", "fc": 3, "address": 64512, "type": "string",
 *             "length": 8, "order": "ABCD"}]
 *
 * They are not points: a string is no decimal, the codec carries none, and a
 * serial number read every cycle would waste bus time for a value that does
 * not change. The gateway reads them once when a device is first reached,
 * logs them and reports them with the device's health (docs/profiles.md).
 *
 * Each string is one request, so it must fit max_read and touch no forbidden
 * range: a device that answers an exception for a read across unmapped
 * registers answers it for this read too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "drivers/profile.h"
#include "drivers/profile_json.h"

static const char *const info_keys[] = {
	"name", "fc", "address", "type", "length", "order", "note", NULL
};

static int
info_name(struct jc *c, json_t *ji, const char *where, struct profile *p,
    size_t i)
{
	char w[JC_PATH_MAX], s[READING_NAME_MAX + 1];
	size_t k;
	int rc;

	if ((rc = jc_get_str(c, ji, where, "name", JC_REQUIRED, s, sizeof(s))) < 0)
		return rc;
	jc_path(w, where, "name");
	if (!jc_name_valid(s, READING_NAME_MAX, 0))
		return jc_fail(c, w, "'%s': expected 1..%d of [a-z0-9_]", s,
		    READING_NAME_MAX);
	for (k = 0; k < i; k++) {
		if (strcmp(p->info[k].name, s) == 0)
			return jc_fail(c, w, "'%s' given twice", s);
	}
	memcpy(p->info[i].name, s, sizeof(p->info[i].name));
	return 0;
}

/* "type" must say "string": the key is there so the entry reads as what it is. */
static int
info_type(struct jc *c, json_t *ji, const char *where)
{
	char w[JC_PATH_MAX], shown[40];
	json_t *v = json_object_get(ji, "type");

	jc_path(w, where, "type");
	if (v == NULL)
		return jc_fail(c, w, "missing");
	if (!json_is_string(v))
		return jc_fail(c, w, "expected \"string\"");
	if (strcmp(json_string_value(v), "string") != 0)
		return jc_fail(c, w, "'%s': info entries are strings; "
		    "expected \"string\"", jc_shown(json_string_value(v), shown,
		    sizeof(shown)));
	return 0;
}

/* "order": bytes within a register. Word orders mean nothing for a string. */
static int
info_order(struct jc *c, json_t *ji, const char *where, enum reg_order *o)
{
	char w[JC_PATH_MAX], shown[40];
	json_t *v = json_object_get(ji, "order");

	jc_path(w, where, "order");
	*o = RO_ABCD;
	if (v == NULL)
		return 0;
	if (json_is_string(v) && strcmp(json_string_value(v), "ABCD") == 0)
		return 0;
	if (json_is_string(v) && strcmp(json_string_value(v), "BADC") == 0) {
		*o = RO_BADC;
		return 0;
	}
	return jc_fail(c, w, "%s%s%s: expected \"ABCD\" (first byte in "
	    "the high half) or \"BADC\"", json_is_string(v) ? "'" : "",
	    json_is_string(v) ? jc_shown(json_string_value(v), shown,
	    sizeof(shown)) : "not a string", json_is_string(v) ? "'" : "");
}

static int
parse_one(struct jc *c, json_t *ji, const char *where, struct profile *p,
    size_t i)
{
	struct profile_info *pi = &p->info[i];
	char w[JC_PATH_MAX];
	long long v;
	int rc;

	if (!json_is_object(ji))
		return jc_fail(c, where, "expected an object {\"name\", "
		    "\"fc\", \"address\", \"type\", \"length\"}");
	if ((rc = jc_check_keys(c, ji, where, info_keys)) < 0 ||
	    (rc = info_name(c, ji, where, p, i)) < 0 ||
	    (rc = info_type(c, ji, where)) < 0 ||
	    (rc = info_order(c, ji, where, &pi->order)) < 0)
		return rc;
	if ((rc = jc_get_int(c, ji, where, "fc", 1, 3, 4, &v)) < 0)
		return rc;
	pi->fc = (uint8_t)v;
	if ((rc = jc_get_int(c, ji, where, "address", 1, 0, 65535, &v)) < 0)
		return rc;
	pi->addr = (uint16_t)v;
	if ((rc = jc_get_int(c, ji, where, "length", 1, 1,
	    PROFILE_INFO_REGS_MAX, &v)) < 0)
		return rc;
	pi->len = (uint8_t)v;
	jc_path(w, where, "length");
	if ((unsigned)pi->addr + pi->len > 65536)
		return jc_fail(c, w, "%u registers from %u run past "
		    "65535", pi->len, pi->addr);
	if (pi->len > p->max_read)
		return jc_fail(c, w, "%u registers: more than max_read "
		    "(%u); one string is one request", pi->len, p->max_read);
	if (!profile_read_allowed(p, pi->fc, pi->addr, pi->len))
		return jc_fail(c, where, "registers %u..%u (fc %u) touch "
		    "a forbidden range", pi->addr, pi->addr + pi->len - 1,
		    pi->fc);
	return 0;
}

int
profile_parse_info(struct jc *c, json_t *root, struct profile *p)
{
	char where[JC_PATH_MAX];
	json_t *v = json_object_get(root, "info");
	size_t i, n;
	int rc;

	p->n_info = 0;
	if (v == NULL)
		return 0;
	n = json_is_array(v) ? json_array_size(v) : 0;
	if (n < 1 || n > PROFILE_INFO_MAX)
		return jc_fail(c, "info", "expected an array of 1..%d "
		    "strings", PROFILE_INFO_MAX);
	for (i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "info[%zu]", i);
		if ((rc = parse_one(c, json_array_get(v, i), where, p, i)) < 0)
			return rc;
		p->n_info = i + 1;
	}
	return 0;
}

size_t
profile_info_decode(const struct profile_info *pi, const uint16_t *regs,
    char *out, size_t outlen)
{
	size_t n = 0, i;
	unsigned char ch;

	if (outlen == 0)
		return 0;
	for (i = 0; i < 2u * pi->len && n + 1 < outlen; i++) {
		ch = (unsigned char)(regs[i / 2] >> ((i % 2 == 0) ==
		    (pi->order == RO_ABCD) ? 8 : 0));
		if (ch == '\0')
			break;
		out[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return n;
}

void
profile_info_encode(const struct profile_info *pi, const char *s,
    uint16_t *regs)
{
	size_t n = strlen(s), i;
	unsigned char ch;

	memset(regs, 0, pi->len * sizeof(*regs));
	for (i = 0; i < 2u * pi->len && i < n; i++) {
		ch = (unsigned char)s[i];
		regs[i / 2] |= (uint16_t)(ch << ((i % 2 == 0) ==
		    (pi->order == RO_ABCD) ? 8 : 0));
	}
}
