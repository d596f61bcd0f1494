/* The update's job file (ota_job.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "firmware/base/log.h"
#include "firmware/base/rfile.h"
#include "firmware/base/wfile.h"
#include "firmware/core/ota_job.h"

#define JOB_FILE_MAX	65536

static void
copy(char *dst, size_t len, json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(dst, len, "%s", s != NULL ? s : "");
}

int
ota_job_read(const char *path, struct ota_job *j)
{
	char err[256], *text = NULL;
	json_error_t je;
	const char *m;
	size_t len;
	json_t *o;
	int rc;

	memset(j, 0, sizeof(*j));
	if (access(path, F_OK) < 0)
		return -ENOENT;
	if ((rc = rfile_read(path, JOB_FILE_MAX, &text, &len, NULL, err,
	    sizeof(err))) < 0) {
		log_warnx("ota: %s", err);
		return rc;
	}
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (o == NULL || !json_is_object(o) ||
	    (m = json_string_value(json_object_get(o, "manifest"))) == NULL) {
		log_warnx("ota: %s: not an update job file%s%s", path, o == NULL ?
		    ": " : "", o == NULL ? je.text : "");
		json_decref(o);
		return -EINVAL;
	}
	copy(j->id, sizeof(j->id), o, "id");
	copy(j->phase, sizeof(j->phase), o, "phase");
	copy(j->from, sizeof(j->from), o, "from");
	copy(j->to, sizeof(j->to), o, "to");
	copy(j->version, sizeof(j->version), o, "version");
	copy(j->url, sizeof(j->url), o, "url");
	copy(j->why, sizeof(j->why), o, "why");
	j->counter = (uint32_t)json_integer_value(json_object_get(o, "counter"));
	j->offset = (uint64_t)json_integer_value(json_object_get(o, "offset"));
	j->force = json_is_true(json_object_get(o, "force"));
	j->manifest_len = strlen(m);
	j->manifest = strdup(m);
	json_decref(o);
	if (j->manifest == NULL)
		return -ENOMEM;
	return 0;
}

int
ota_job_write(const char *path, const struct ota_job *j)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:b,s:s#,s:s}",
	    "id", j->id, "phase", j->phase, "from", j->from, "to", j->to,
	    "version", j->version, "counter", (json_int_t)j->counter, "url", j->url,
	    "offset", (json_int_t)j->offset, "force", j->force, "manifest",
	    j->manifest, j->manifest_len, "why", j->why);
	char *s;
	int rc;

	if (o == NULL)
		return -ENOMEM;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	rc = wfile_replace(path, s, strlen(s));
	free(s);
	if (rc < 0)
		log_warnx("ota: %s: %s", path, strerror(-rc));
	return rc;
}

void
ota_job_free(struct ota_job *j)
{
	free(j->manifest);
	j->manifest = NULL;
}
