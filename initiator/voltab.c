// SPDX-License-Identifier: MIT
/* The volume table and its rescan diff (see voltab.h). */
#include <string.h>

#include "voltab.h"
#include "log.h"

bool nu_wwid_unit(const char *wwid)
{
	static const char *const unit[] = {"naa.", "eui.", "uuid.", "iqn."};

	for (unsigned i = 0; i < sizeof(unit) / sizeof(unit[0]); i++)
		if (!strncmp(wwid, unit[i], strlen(unit[i])) && wwid[strlen(unit[i])])
			return true;
	return false;
}

void nu_voltab_init(struct nu_voltab *t, const char *owner, const char *word)
{
	memset(t, 0, sizeof(*t));
	t->owner = owner;
	t->word = word;
}

unsigned nu_voltab_nr(const struct nu_voltab *t)
{
	return __atomic_load_n(&t->nr, __ATOMIC_ACQUIRE);
}

const struct nu_vol *nu_voltab_live(const struct nu_voltab *t, unsigned i)
{
	if (i >= nu_voltab_nr(t) || t->v[i].gone)
		return NULL;
	return &t->v[i];
}

bool nu_voltab_desc(const struct nu_voltab *t, unsigned i, struct nu_vol_desc *d)
{
	if (i >= nu_voltab_nr(t))
		return false;
	d->gone = t->v[i].gone;
	d->id = t->v[i].id;
	d->geom = &t->v[i].geom;
	d->wwid = t->v[i].wwid;
	return true;
}

static bool same(const struct nu_vol *a, const struct nu_vol *b)
{
	/* Same number, other identity: a different volume took its place. */
	return a->id == b->id && (!a->wwid[0] || !b->wwid[0] || !strcmp(a->wwid, b->wwid));
}

static int find(const struct nu_vol *v, unsigned n, const struct nu_vol *x)
{
	for (unsigned i = 0; i < n; i++)
		if (!v[i].gone && same(&v[i], x))
			return i;
	return -1;
}

void nu_voltab_update(struct nu_voltab *t, const struct nu_vol *now, unsigned n,
		      struct nu_rescan *r)
{
	unsigned nr = t->nr;

	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < nr; i++) {
		struct nu_vol *v = &t->v[i];
		int j;

		if (v->gone)
			continue;
		j = find(now, n, v);
		if (j < 0) {
			v->gone = true;
			r->removed[r->nr_removed++] = i;
			nu_info("%s %s %u is gone", t->owner, t->word, v->id);
		} else if (now[j].geom.size != v->geom.size) {
			nu_info("%s %s %u: %llu -> %llu bytes", t->owner, t->word, v->id,
				(unsigned long long)v->geom.size,
				(unsigned long long)now[j].geom.size);
			v->geom.size = now[j].geom.size;
			r->resized[r->nr_resized++] = i;
		}
	}
	for (unsigned j = 0; j < n; j++) {
		if (find(t->v, nr, &now[j]) >= 0)
			continue;
		if (nr == NU_HOST_MAX_VOLS) {
			nu_warn("%s: no room for %s %u (at most %d per target)", t->owner, t->word,
				now[j].id, NU_HOST_MAX_VOLS);
			break;
		}
		t->v[nr] = now[j];
		t->v[nr].gone = false;
		r->added[r->nr_added++] = nr;
		if (t->listed)
			nu_info("%s %s %u is new: %llu bytes", t->owner, t->word, now[j].id,
				(unsigned long long)now[j].geom.size);
		nr++;
		/* Queue threads index entries below nr: publish each entry first. */
		__atomic_store_n(&t->nr, nr, __ATOMIC_RELEASE);
	}
	t->listed = true;
}
