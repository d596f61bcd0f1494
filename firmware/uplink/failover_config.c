#include "firmware/uplink/failover_config.h"

#include <stdio.h>
#include <string.h>

/* A child named by "primary" or "fallback": built in, with its section. */
static int
child(struct jc *x, json_t *v, const char *key, const struct uplink_conf *confs,
    size_t n_confs, struct uplink_conf *out)
{
	const struct uplink_conf *c;
	const struct uplink_ops *ops;
	char name[16], path[32], shown[20];
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "uplink.%s", key);
	if ((rc = jc_get_str(x, v, "uplink", key, JC_REQUIRED, name,
	    sizeof(name))) < 0)
		return rc;
	jc_shown(name, shown, sizeof(shown));
	for (i = 0; uplink_known(i, &ops) != NULL; i++)
		if (strcmp(uplink_known(i, &ops), name) == 0)
			break;
	if (strcmp(name, "failover") == 0 || uplink_known(i, &ops) == NULL)
		return jc_fail(x, path, "'%s' is neither \"mqtt\" nor \"coap\"", shown);
	if (ops == NULL)
		return jc_fail(x, path, "the %s uplink is not built into this image",
		    uplink_title(name));
	if ((c = uplink_conf_find(confs, n_confs, name)) == NULL)
		return jc_fail(x, path, "'%s' has no \"%s\" section in the site "
		    "config", shown, shown);
	*out = *c;
	return 0;
}

int
failover_config_parse(struct jc *x, json_t *v, const struct uplink_site *site,
    const struct uplink_conf *confs, size_t n_confs, void *cfg)
{
	static const char *const keys[] = { "primary", "fallback", "failover_s",
		NULL };
	struct failover_cfg *f = cfg;
	int rc;

	(void)site;
	f->failover_s = 60;
	if ((rc = jc_object(x, v, "uplink")) < 0 ||
	    (rc = jc_check_keys(x, v, "uplink", keys)) < 0 ||
	    (rc = child(x, v, "primary", confs, n_confs, &f->primary)) < 0 ||
	    (rc = child(x, v, "fallback", confs, n_confs, &f->fallback)) < 0 ||
	    (rc = jc_get_uint(x, v, "uplink", "failover_s", 0, 1, 3600,
	    &f->failover_s)) < 0)
		return rc;
	if (f->primary.ops == f->fallback.ops)
		return jc_fail(x, "uplink.fallback", "'%s' is the primary too: the "
		    "fallback must be the other uplink", f->fallback.ops->name);
	return 0;
}
