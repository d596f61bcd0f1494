/*
 * Per-gateway state of the receiver (gwtab.h): chained hash table by gateway id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/recv/gwtab.h"

/* FNV-1a: gateway ids are short and not chosen by an adversary we fear here. */
static size_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return (size_t)h;
}

int
gwtab_init(struct gwtab *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max ? max : GWTAB_MAX_GATEWAYS;
	t->schema_mem_max = GWTAB_SCHEMA_MEM;
	t->n_buckets = 1024;
	t->bucket = calloc(t->n_buckets, sizeof(*t->bucket));
	return t->bucket ? 0 : -ENOMEM;
}

static void
gw_free(struct gw *g)
{
	size_t i;

	for (i = 0; i < g->n_schemas; i++)
		schema_free(&g->schemas[i].s);
	free(g->schemas);
	dedupe_free(&g->seqs);
	dedupe_free(&g->results);
	volkeys_free(&g->vol);
	free(g);
}

void
gwtab_free(struct gwtab *t)
{
	struct gw *g, *next;
	size_t i;

	for (i = 0; i < t->n_buckets; i++) {
		for (g = t->bucket[i]; g != NULL; g = next) {
			next = g->next;
			gw_free(g);
		}
	}
	free(t->bucket);
	t->bucket = NULL;
	t->n = t->n_buckets = 0;
}

/* Double the buckets at load factor 1; on ENOMEM keep the longer chains. */
static void
grow(struct gwtab *t)
{
	size_t n = t->n_buckets * 2, i;
	struct gw **b, *g, *next;

	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return;
	for (i = 0; i < t->n_buckets; i++) {
		for (g = t->bucket[i]; g != NULL; g = next) {
			size_t k = hash(g->name) & (n - 1);

			next = g->next;
			g->next = b[k];
			b[k] = g;
		}
	}
	free(t->bucket);
	t->bucket = b;
	t->n_buckets = n;
}

struct gw *
gwtab_get(struct gwtab *t, const char *name, int create)
{
	size_t k = hash(name) & (t->n_buckets - 1);
	struct gw *g;

	for (g = t->bucket[k]; g != NULL; g = g->next)
		if (strcmp(g->name, name) == 0)
			return g;
	if (!create)
		return NULL;
	if (t->n >= t->max || strlen(name) > BATCH_GW_MAX) {
		errno = ENOBUFS;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	strcpy(g->name, name);
	dedupe_init(&g->seqs, 0);
	dedupe_init(&g->results, 0);
	if (t->n >= t->n_buckets) {
		grow(t);
		k = hash(name) & (t->n_buckets - 1);
	}
	g->next = t->bucket[k];
	t->bucket[k] = g;
	t->n++;
	return g;
}

const struct schema *
gwtab_schema(struct gwtab *t, struct gw *g, uint32_t id)
{
	size_t i;

	for (i = 0; i < g->n_schemas; i++) {
		if (g->schemas[i].id == id) {
			g->schemas[i].used = ++t->tick;
			return &g->schemas[i].s;
		}
	}
	return NULL;
}

size_t
gwtab_schema_ids(const struct gw *g, uint32_t *ids, size_t max)
{
	size_t i, j, n = 0;

	/* Insertion by use, newest first: the current schema is tried first. */
	for (i = 0; i < g->n_schemas && n < max; i++) {
		for (j = n; j > 0 && g->schemas[ids[j - 1]].used <
		    g->schemas[i].used; j--)
			ids[j] = ids[j - 1];
		ids[j] = (uint32_t)i;
		n++;
	}
	for (i = 0; i < n; i++)
		ids[i] = g->schemas[ids[i]].id;
	return n;
}

size_t
gwtab_schema_mem(const struct schema *s)
{
	size_t m = sizeof(struct gw_schema) +
	    s->n_devices * sizeof(struct schema_device), i;

	for (i = 0; i < s->n_devices; i++)
		m += s->devices[i].n_points * sizeof(struct schema_point);
	return m;
}

/* Forget g's least recently used schema (g has one). */
static void
evict_lru(struct gwtab *t, struct gw *g)
{
	struct gw_schema *slot = &g->schemas[0];
	size_t i;

	for (i = 1; i < g->n_schemas; i++)
		if (g->schemas[i].used < slot->used)
			slot = &g->schemas[i];
	schema_free(&slot->s);
	g->schema_mem -= slot->mem;
	t->schema_mem -= slot->mem;
	*slot = g->schemas[--g->n_schemas];
}

int
gwtab_schema_add(struct gwtab *t, struct gw *g, uint32_t id,
    struct schema *s)
{
	size_t mem = gwtab_schema_mem(s), i;
	struct gw_schema *gs, *slot;

	for (i = 0; i < g->n_schemas; i++) {
		if (g->schemas[i].id == id) {
			schema_free(s);
			return 0;
		}
	}
	if (mem > GWTAB_SCHEMA_MEM_GW) {
		schema_free(s);
		return -EMSGSIZE;
	}
	while (g->n_schemas > 0 && (g->n_schemas >= GWTAB_MAX_SCHEMAS ||
	    g->schema_mem + mem > GWTAB_SCHEMA_MEM_GW))
		evict_lru(t, g);
	if (t->schema_mem + mem > t->schema_mem_max) {
		schema_free(s);
		return -ENOBUFS;
	}
	gs = realloc(g->schemas, (g->n_schemas + 1) * sizeof(*gs));
	if (gs == NULL) {
		schema_free(s);
		return -ENOMEM;
	}
	g->schemas = gs;
	slot = &gs[g->n_schemas++];
	slot->id = id;
	slot->used = ++t->tick;
	slot->mem = mem;
	slot->s = *s;
	memset(s, 0, sizeof(*s));
	g->schema_mem += mem;
	t->schema_mem += mem;
	return 1;
}

static int
by_name(const void *a, const void *b)
{
	const struct gw *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

struct gw **
gwtab_sorted(const struct gwtab *t, size_t *n)
{
	struct gw **v, *g;
	size_t i, k = 0;

	*n = 0;
	if (t->n == 0 || (v = calloc(t->n, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < t->n_buckets; i++)
		for (g = t->bucket[i]; g != NULL; g = g->next)
			v[k++] = g;
	qsort(v, k, sizeof(*v), by_name);
	*n = k;
	return v;
}
