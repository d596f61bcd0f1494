/* The journal's API (store_journal.h): dispatch to the backend. */
#include "firmware/store/store_journal.h"

int
store_cmd_get(struct store *s, const char *id, struct store_cmd *c, char **result)
{
	return s->ops->journal->cmd_get(s, id, c, result);
}

int
store_cmd_record(struct store *s, const struct store_cmd *c, const char *result_json,
    int flags, uint64_t *r)
{
	return s->ops->journal->cmd_record(s, c, result_json, flags, r);
}

int
store_ctl_get(struct store *s, const char *key, int64_t *v)
{
	return s->ops->journal->ctl_get(s, key, v);
}

int
store_ctl_put(struct store *s, const char *key, int64_t v)
{
	return s->ops->journal->ctl_put(s, key, v);
}

int
store_cmd_last_seq(struct store *s, uint64_t *seq)
{
	return s->ops->journal->cmd_last_seq(s, seq);
}

int
store_cmd_open(struct store *s, struct store_cmd *c, size_t n, size_t *found)
{
	return s->ops->journal->cmd_open(s, c, n, found);
}

int
store_result_peek(struct store *s, uint64_t after, uint64_t *r, char **json)
{
	return s->ops->journal->result_peek(s, after, r, json);
}

int
store_result_ack(struct store *s, uint64_t r)
{
	return s->ops->journal->result_ack(s, r);
}

int
store_result_count(struct store *s, uint64_t *n)
{
	return s->ops->journal->result_count(s, n);
}

int
store_cmd_recent(struct store *s, struct store_cmd *c, size_t n, size_t *found)
{
	return s->ops->journal->cmd_recent(s, c, n, found);
}
