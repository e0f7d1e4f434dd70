/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_TARGET_H
#define NETUBLK_TARGET_H

/*
 * What the session manager needs of a remote target (an iSCSI target, an
 * NVMe subsystem) beyond its data path: its volumes, and news of them.
 */
#include <stdbool.h>

#include "host.h"
#include "path.h"
#include "transport.h"
#include "volume.h"

/* One volume: a LUN or a namespace. */
struct nu_vol_desc {
	unsigned id; /* LUN or NSID */
	const struct nu_volume_geom *geom;
	const char *wwid; /* "" if the target gives none */
	bool gone;	  /* removed from the target; the index is never reused */
};

struct nu_rescan {
	unsigned added[NU_HOST_MAX_VOLS], nr_added;	/* new volume indexes */
	unsigned removed[NU_HOST_MAX_VOLS], nr_removed; /* volumes now gone */
	unsigned resized[NU_HOST_MAX_VOLS], nr_resized; /* volumes with a new size */
};

struct nu_target_ops {
	const char *kind;     /* "iscsi", "nvme" */
	const char *vol_word; /* "lun", "ns": names like TARGET-lun3 */
	const struct nu_transport_ops *transport;
	unsigned (*nr_vols)(const void *t);
	/* False for an index the target never had. */
	bool (*vol)(const void *t, unsigned i, struct nu_vol_desc *d);
	/* Readable when the volumes changed; then call rescan (control thread). */
	int (*event_fd)(const void *t);
	int (*rescan)(void *t, struct nu_rescan *r);
	/*
	 * Its connections for status (control thread), for a host of
	 * nr_queues queues: how many it filled in.
	 */
	unsigned (*paths)(const void *t, unsigned nr_queues, struct nu_path_info *out,
			  unsigned max);
	/* A volume's access state through this target (ANA, ALUA), or NULL if it has none. */
	const char *(*vol_access)(const void *t, unsigned vol);
	/* Asks the target for its volumes again (netublkctl rescan). */
	void (*request_rescan)(void *t);
	/*
	 * The target's config (its protocol's) changed only in its credentials,
	 * keys rotated: take them and authenticate every connection again,
	 * devices untouched. 0, or negative when it must be reconnected instead.
	 * NULL: any change reconnects.
	 */
	int (*rekey)(void *t, const void *cfg);
	void (*destroy)(void *t);
};

#endif
