/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_VOLTAB_H
#define NETUBLK_VOLTAB_H

/*
 * The volumes of one target (LUNs, namespaces) as served, one index each
 * for good: a rescan marks what went, updates what changed size and
 * appends what is new, the same way for every protocol. Queue threads read
 * entries below nu_voltab_nr(); the control thread alone changes the table.
 */
#include <stdbool.h>
#include <stdint.h>

#include "host.h"
#include "target.h"
#include "volume.h"

struct nu_vol {
	uint32_t id; /* LUN or NSID */
	struct nu_volume_geom geom;
	char wwid[160]; /* "" if the target gives none */
	uint32_t group; /* its access group (NVMe ANA group), 0 if none */
	bool gone;	/* removed from the target; the index is never reused */
};

struct nu_voltab {
	const char *owner; /* the target, for log lines */
	const char *word;  /* "LUN", "namespace" */
	struct nu_vol v[NU_HOST_MAX_VOLS];
	unsigned nr;
	bool listed; /* the first listing is in: later additions are news */
};

/*
 * Does a WWID name one logical unit wherever it is seen (NAA, EUI-64 or
 * NGUID, UUID, SCSI name string)? A T10 vendor identifier or one made up
 * from serial and model may be the same for several volumes: never trusted
 * as a volume's identity.
 */
bool nu_wwid_unit(const char *wwid);

void nu_voltab_init(struct nu_voltab *t, const char *owner, const char *word);
/* How many entries queue threads may read (acquire). */
unsigned nu_voltab_nr(const struct nu_voltab *t);
/* Entry i for a queue thread, NULL past the end or once gone. */
const struct nu_vol *nu_voltab_live(const struct nu_voltab *t, unsigned i);
/* The target-ops view of entry i; false past the end. */
bool nu_voltab_desc(const struct nu_voltab *t, unsigned i, struct nu_vol_desc *d);
/*
 * Applies the target's listing now[n]: the same number with the same
 * WWID (or either without one) is the same volume. r says what changed.
 */
void nu_voltab_update(struct nu_voltab *t, const struct nu_vol *now, unsigned n,
		      struct nu_rescan *r);

#endif
