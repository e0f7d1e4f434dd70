// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/eventfd.h>

#include "manager.h"
#include "host.h"
#include "iscsi_transport.h"
#include "nvme_transport.h"
#include "log.h"
#include "membackend.h"
#include "queue.h"
#include "ublk_dev.h"
#include "ublk_features.h"
#include "mpath.h"
#include "supervisor.h"
#include "units.h"
#include "tcp.h"
#include "voltab.h"
#include "metrics.h"

#define MAX_HOSTS NU_CONF_MAX_TARGETS
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 30000

struct served {
	bool in_use;
	bool up;
	bool from_config;
	struct nu_conf_target ct; /* own copy: reloads compare against it */
	struct nu_host *host;
	const struct nu_target_ops *tops; /* NULL for the memory backend */
	void *target;
	struct nu_mem_backend *mem;
	struct ublk_dev *devs[NU_HOST_MAX_VOLS];
	unsigned nr_vols;
	unsigned retry_ms;
	uint64_t retry_at_ns;
	bool logged_out; /* netublkctl logout: neither served nor retried */

	/* Logins and scans block: each target connects in a thread of its own. */
	struct nu_manager *m;
	pthread_t conn_thread;
	bool connecting; /* a thread runs (main thread's view) */
	bool conn_done;	 /* set by the thread */
	int conn_ret;
	const struct nu_target_ops *conn_tops;
	void *conn_target;
	char conn_late[NU_MPATH_MAX][128];
	unsigned conn_nr_late;

	/* Multipath: paths that were down at bring-up, tried again until they join. */
	char late[NU_MPATH_MAX][128];
	unsigned nr_late, late_next, late_ms;
	uint64_t late_at_ns;
	pthread_t late_thread;
	bool late_busy, late_done; /* a thread tries late[late_next] */
	int late_ret;
	const struct nu_target_ops *late_tops;
	void *late_target;

	/*
	 * Grouping: another section reaches the same volumes (by identity), so
	 * its paths joined that section's devices (base) at these indices.
	 */
	bool group; /* another section may share our volumes: multipath even with one address */
	struct served *base;
	unsigned joined[NU_MPATH_MAX];
	unsigned nr_joined;
};

struct nu_manager {
	struct ublk_ctrl *ctrl;
	struct nu_manager_options o;
	int done_fd; /* a connect thread finished */
	bool ready_stale; /* the ready file waits for connects to finish */
	struct served hosts[MAX_HOSTS];
};

static void print_stats(struct nu_host *h, struct ublk_dev *d)
{
	const struct nu_volume_stats *s = nu_host_vol_stats(h, ublk_dev_volume(d));

	nu_info("ublkb%d stats: read %llu ops %llu bytes, write %llu ops %llu bytes, flush %llu, "
		"discard %llu ops %llu bytes, write-zeroes %llu, errors %llu",
		ublk_dev_id(d), (unsigned long long)s->ops[NU_OP_READ],
		(unsigned long long)s->bytes[NU_OP_READ], (unsigned long long)s->ops[NU_OP_WRITE],
		(unsigned long long)s->bytes[NU_OP_WRITE], (unsigned long long)s->ops[NU_OP_FLUSH],
		(unsigned long long)s->ops[NU_OP_DISCARD],
		(unsigned long long)s->bytes[NU_OP_DISCARD],
		(unsigned long long)s->ops[NU_OP_WRITE_ZEROES], (unsigned long long)s->errors);
}

static bool any_connecting(const struct nu_manager *m)
{
	for (unsigned h = 0; h < MAX_HOSTS; h++)
		if (m->hosts[h].connecting)
			return true;
	return false;
}

/* Rewritten once no connect is under way: readers see every device or none new. */
static void write_ready_file(struct nu_manager *m)
{
	char tmp[4096];
	FILE *f;

	if (!m->o.ready_file)
		return;
	m->ready_stale = any_connecting(m);
	if (m->ready_stale)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", m->o.ready_file);
	f = fopen(tmp, "w");
	if (!f)
		goto fail;
	for (unsigned h = 0; h < MAX_HOSTS; h++)
		for (unsigned i = 0; i < m->hosts[h].nr_vols; i++)
			if (m->hosts[h].devs[i])
				fprintf(f, "/dev/ublkb%d %s\n", ublk_dev_id(m->hosts[h].devs[i]),
					ublk_data_mode_name(
						ublk_dev_data_mode(m->hosts[h].devs[i])));
	if (fclose(f) == 0 && rename(tmp, m->o.ready_file) == 0)
		return;
fail:
	nu_err("cannot write %s: %s", m->o.ready_file, strerror(errno));
}

/* The remote name of a target: IQN or subsystem NQN. */
static const char *target_id(const struct served *sv)
{
	return sv->ct.kind == NU_TARGET_NVME ? sv->ct.nvme.subnqn : sv->ct.iscsi.target;
}

static const char *target_list(const struct nu_conf_target *ct)
{
	return ct->kind == NU_TARGET_NVME ? ct->nvme.address : ct->iscsi.portal;
}

static const char *target_addr(const struct served *sv)
{
	return target_list(&sv->ct);
}

/* A volume's description, also of one that is gone; false for no such index. */
static bool vol_desc(const struct served *sv, unsigned vol, struct nu_vol_desc *d)
{
	return sv->tops && sv->tops->vol(sv->target, vol, d);
}

/* The host that serves /dev/ublkbN now, or -1. */
static int host_of_dev(const struct nu_manager *m, int id)
{
	for (unsigned h = 0; h < MAX_HOSTS; h++)
		for (unsigned i = 0; m->hosts[h].in_use && i < m->hosts[h].nr_vols; i++)
			if (m->hosts[h].devs[i] && ublk_dev_id(m->hosts[h].devs[i]) == id)
				return h;
	return -1;
}

/* Is /dev/ublkbN one that we serve now? */
static bool serving(const struct nu_manager *m, int id)
{
	return host_of_dev(m, id) >= 0;
}

/*
 * The names a device gets under by_id_dir: by target and LUN/namespace,
 * and by WWID if that names one logical unit (a LIO backstore without a
 * serial gives every LUN the same T10 vendor ID).
 */
static void link_names(const struct served *sv, unsigned vol, char names[2][512], const char *dir,
		       bool add)
{
	struct nu_vol_desc d;

	names[0][0] = names[1][0] = '\0';
	if (!sv->tops) {
		snprintf(names[1], sizeof(names[1]), "%s/mem-%u", dir, vol);
		return;
	}
	if (!vol_desc(sv, vol, &d))
		return;
	snprintf(names[1], sizeof(names[1]), "%s/%s-%s%u", dir, target_id(sv), sv->tops->vol_word,
		 d.id);
	if (nu_wwid_unit(d.wwid))
		snprintf(names[0], sizeof(names[0]), "%s/%s", dir, d.wwid);
	else if (d.wwid[0] && add)
		nu_warn("%s %s %u: %s does not name one logical unit: no by-id link by identifier, "
			"use %s",
			target_id(sv), sv->tops->vol_word, d.id, d.wwid, names[1]);
}

/*
 * Adding, a stale link is replaced but one held by another device of ours
 * never is (one volume, or one target name, through two paths: grouping
 * them is multipath's job); removing, only a link that is ours goes.
 */
static void update_links(const struct nu_manager *m, const struct served *sv, unsigned vol,
			 bool add)
{
	char names[2][512], target[64], cur[64];

	if (!m->o.by_id_dir)
		return;
	link_names(sv, vol, names, m->o.by_id_dir, add);
	if (add && mkdir(m->o.by_id_dir, 0755) < 0 && errno != EEXIST) {
		nu_warn("%s: %s", m->o.by_id_dir, strerror(errno));
		return;
	}
	snprintf(target, sizeof(target), "/dev/ublkb%d", ublk_dev_id(sv->devs[vol]));
	for (int i = 0; i < 2; i++) {
		ssize_t n;
		int id;

		if (!names[i][0])
			continue;
		n = readlink(names[i], cur, sizeof(cur) - 1);
		cur[n > 0 ? n : 0] = '\0';
		if (!strcmp(cur, target)) {
			if (!add)
				unlink(names[i]);
			continue;
		}
		if (!add)
			continue;
		if (sscanf(cur, "/dev/ublkb%d", &id) == 1 && serving(m, id)) {
			nu_warn("%s: held by %s, not replaced for %s (the same volume or target "
				"through another path?)",
				names[i], cur, target);
			continue;
		}
		unlink(names[i]);
		if (symlink(target, names[i]) < 0)
			nu_warn("%s: %s", names[i], strerror(errno));
	}
}

/*
 * Recovery bookkeeping: STATE_DIR/ublkN names the volume /dev/ublkbN serves
 * (target, LUN, WWID). It is removed when the device is deleted, so what is
 * left at start-up belongs to a netublkd that died: its devices wait for us.
 */
static void volume_key(const struct served *sv, unsigned vol, char *buf, size_t len)
{
	struct nu_vol_desc d = { .wwid = "" };

	vol_desc(sv, vol, &d);
	snprintf(buf, len, "target=%s\n%s=%u\nwwid=%s\n", target_id(sv), sv->tops->vol_word, d.id,
		 d.wwid);
}

static void state_path(const struct nu_manager *m, int dev_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/ublk%d", m->o.state_dir, dev_id);
}

static void state_save(const struct nu_manager *m, const struct served *sv, unsigned vol)
{
	char path[512], key[512], dir[256], *slash;
	FILE *f;

	if (!m->o.state_dir || !sv->tops || !ublk_dev_recoverable(sv->devs[vol]))
		return;
	snprintf(dir, sizeof(dir), "%s", m->o.state_dir);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	mkdir(m->o.state_dir, 0700);
	state_path(m, ublk_dev_id(sv->devs[vol]), path, sizeof(path));
	volume_key(sv, vol, key, sizeof(key));
	f = fopen(path, "w");
	if (!f || fputs(key, f) < 0 || fclose(f)) {
		nu_warn("%s: %s: a crash would leave this device unrecoverable", path,
			strerror(errno));
		if (f)
			fclose(f);
	}
}

static void state_drop(const struct nu_manager *m, int dev_id)
{
	char path[512];

	if (!m->o.state_dir)
		return;
	state_path(m, dev_id, path, sizeof(path));
	unlink(path);
}

/* The device a dead netublkd left for this volume, or -1. */
static int state_find(const struct nu_manager *m, const struct served *sv, unsigned vol)
{
	char want[512], have[512], path[768];
	struct dirent *e;
	DIR *d;
	int found = -1;

	if (!m->o.state_dir || !sv->tops || !(d = opendir(m->o.state_dir)))
		return -1;
	volume_key(sv, vol, want, sizeof(want));
	while (found < 0 && (e = readdir(d))) {
		int id;
		size_t n;
		FILE *f;

		/* One volume served twice (two paths) is recorded once, by the first. */
		if (sscanf(e->d_name, "ublk%d", &id) != 1 || serving(m, id))
			continue;
		snprintf(path, sizeof(path), "%s/%s", m->o.state_dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(have, 1, sizeof(have) - 1, f);
		fclose(f);
		have[n] = '\0';
		if (!strcmp(have, want))
			found = id;
	}
	closedir(d);
	return found;
}

static int add_volume(struct nu_manager *m, struct served *sv, unsigned vol)
{
	/* Only a backend whose data outlives us is worth waiting for after a crash. */
	struct ublk_dev_config cfg = { .dev_id = -1, .depth = m->o.depth,
				       .max_io_bytes = m->o.max_io, .data_mode = m->o.data_mode,
				       .recoverable = sv->tops != NULL };
	struct nu_volume_geom g;
	int ret;

	if (vol >= sv->nr_vols)
		sv->nr_vols = vol + 1;
	if (sv->tops) {
		struct nu_vol_desc d;

		if (!vol_desc(sv, vol, &d) || d.gone)
			return 0;
		if (sv->from_config && !nu_conf_lun_wanted(&sv->ct, d.id))
			return 0; /* not in the config's luns = / namespaces = */
		g = *d.geom;
	} else {
		nu_mem_geom(sv->mem, vol, &g);
	}
	if (sv->from_config && sv->ct.read_only)
		g.read_only = true;
	if (sv->from_config && !sv->ct.discard)
		g.discard_granularity = g.max_discard = g.max_write_zeroes = 0;
	ret = -ENOENT;
	if (sv->tops) {
		int old = state_find(m, sv, vol);

		if (old >= 0) {
			ret = ublk_dev_recover(m->ctrl, sv->host, vol, old, m->o.max_io,
					       &sv->devs[vol]);
			if (ret)
				state_drop(m, old);
		}
	}
	if (ret)
		ret = ublk_dev_create(m->ctrl, sv->host, vol, &g, &cfg, &sv->devs[vol]);
	if (!ret) {
		update_links(m, sv, vol, true);
		state_save(m, sv, vol);
	}
	return ret;
}

static void remove_volume(struct nu_manager *m, struct served *sv, unsigned vol)
{
	if (!sv->devs[vol])
		return;
	update_links(m, sv, vol, false);
	state_drop(m, ublk_dev_id(sv->devs[vol]));
	print_stats(sv->host, sv->devs[vol]);
	ublk_dev_destroy(sv->devs[vol]);
	sv->devs[vol] = NULL;
}

static void late_join(struct served *sv, bool take);
static void unjoin(struct nu_manager *m, struct served *sv);

static void host_down(struct nu_manager *m, struct served *sv)
{
	unjoin(m, sv);
	late_join(sv, false);
	sv->nr_late = 0;
	for (unsigned i = sv->nr_vols; i-- > 0;) {
		struct nu_vol_desc d;
		/* Stopped first (no new writes), then the target's write cache flushed. */
		bool flush = sv->devs[i] && sv->host && vol_desc(sv, i, &d) && !d.gone &&
			     d.geom->volatile_cache && !d.geom->read_only;
		int ret;

		remove_volume(m, sv, i);
		if (flush && (ret = nu_host_flush(sv->host, i, 10000)))
			nu_warn("target %s %s %u: cache flush at stop failed: %s", sv->ct.name,
				sv->tops->vol_word, d.id, strerror(-ret));
	}
	if (sv->host) {
		nu_host_stop(sv->host);
		nu_host_destroy(sv->host);
	}
	nu_mem_destroy(sv->mem);
	if (sv->tops)
		sv->tops->destroy(sv->target);
	sv->host = NULL;
	sv->mem = NULL;
	sv->tops = NULL;
	sv->target = NULL;
	sv->nr_vols = 0;
	sv->up = false;
}

/* One path's target: the config with one address of its list (blocking: any thread). */
static int path_create(const struct nu_conf_target *ct, const char *addr,
		       const struct nu_target_ops **tops, void **target, unsigned queues,
		       int data_mode)
{
	bool zc = data_mode == UBLK_DM_BEST || data_mode == UBLK_DM_AUTO_ZC;

	if (ct->kind == NU_TARGET_NVME) {
		struct nvme_target_config nc = ct->nvme;
		struct nvme_host *nh;

		nc.zero_copy = zc;
		if (addr)
			snprintf(nc.address, sizeof(nc.address), "%s", addr);
		if (nvme_host_create(&nc, queues, &nh) < 0)
			return -EIO;
		*tops = &nu_nvme_target;
		*target = nh;
	} else {
		struct iscsi_target_config ic = ct->iscsi;
		struct iscsi_host *ih;

		ic.zero_copy = zc;
		if (addr)
			snprintf(ic.portal, sizeof(ic.portal), "%s", addr);
		if (iscsi_host_create(&ic, &ih) < 0)
			return -EIO;
		*tops = &nu_iscsi_target;
		*target = ih;
	}
	return 0;
}

/* How long a multipath target's I/O waits without a path: the config, or the loss timeout. */
static int no_path_retry(const struct nu_conf_target *ct)
{
	if (ct->no_path_retry_set)
		return ct->no_path_retry_s;
	/* iSCSI: open-iscsi's replacement_timeout, which the sessions use too. */
	return ct->kind == NU_TARGET_NVME ? (int)ct->nvme.ctrl_loss_tmo_s : 120;
}

/*
 * Connects to a target and lists its volumes (blocking: any thread). A
 * target with several addresses is a multipath target, each address a
 * path, unless multipath = no (then they are tried in order).
 */
static int target_create(const struct nu_conf_target *ct, bool group,
			 const struct nu_target_ops **tops, void **target, unsigned queues,
			 int data_mode, char late[][128], unsigned *nr_late)
{
	const char *list = target_list(ct);
	unsigned n = nu_addr_nth(list, 0, NULL, 0);
	void *paths[NU_MPATH_MAX];
	char names[NU_MPATH_MAX][128];
	const char *name_of[NU_MPATH_MAX];
	const struct nu_target_ops *pops = NULL;
	struct nu_mpath_cfg mc = {
		.name = ct->name,
		.selector = ct->path_selector,
		.no_path_retry_s = no_path_retry(ct),
		.failback_s = ct->failback_s,
	};
	struct nu_mpath *mp;
	unsigned up = 0;

	*nr_late = 0;
	if ((n < 2 && !group) || ct->single_path ||
	    (ct->kind == NU_TARGET_NVME && ct->nvme.discover_all))
		return path_create(ct, NULL, tops, target, queues, data_mode);
	if (n > NU_MPATH_MAX) {
		nu_warn("target %s: %u addresses, multipath uses the first %d", ct->name, n,
			NU_MPATH_MAX);
		n = NU_MPATH_MAX;
	}
	for (unsigned i = 0; i < n; i++) {
		nu_addr_nth(list, i, names[up], sizeof(names[up]));
		if (path_create(ct, names[up], &pops, &paths[up], queues, data_mode)) {
			nu_warn("target %s: path %s is down: served without it until it joins",
				ct->name, names[up]);
			snprintf(late[(*nr_late)++], 128, "%s", names[up]);
			continue;
		}
		name_of[up] = names[up];
		up++;
	}
	if (!up || nu_mpath_create(&mc, pops, paths, name_of, up, &mp))
		return -EIO;
	*tops = nu_mpath_ops(mp);
	*target = mp;
	return 0;
}

/* Brings up one host on a connected target (or the memory backend): queues, devices. */
static int host_up(struct nu_manager *m, struct served *sv)
{
	unsigned nr_vols;

	if (sv->tops) {
		nr_vols = sv->tops->nr_vols(sv->target);
		sv->host = nu_host_create(target_id(sv), m->o.queues, m->o.backend_depth,
					  sv->tops->transport, sv->target);
	} else {
		sv->mem = nu_mem_create(m->o.mem_sizes, m->o.nr_mem, m->o.mem_block_size);
		if (!sv->mem)
			return -ENOMEM;
		nu_warn("serving the memory TEST backend: data is lost when netublkd exits");
		nr_vols = m->o.nr_mem;
		sv->host = nu_host_create("mem", m->o.queues, m->o.backend_depth,
					  &nu_mem_transport, sv->mem);
	}
	if (!sv->host || nu_host_start(sv->host) < 0)
		goto fail;
	for (unsigned i = 0; i < nr_vols; i++)
		if (add_volume(m, sv, i) < 0)
			goto fail;
	sv->up = true;
	return 0;
fail:
	host_down(m, sv);
	return -EIO;
}

static void schedule_retry(struct served *sv)
{
	sv->retry_ms = sv->retry_ms ? sv->retry_ms * 2 : RETRY_FIRST_MS;
	if (sv->retry_ms > RETRY_MAX_MS)
		sv->retry_ms = RETRY_MAX_MS;
	sv->retry_at_ns = nu_now_ns() + sv->retry_ms * 1000000ull;
	nu_warn("target %s (%s at %s) is not served; retrying in %u s", sv->ct.name,
		target_id(sv), target_addr(sv), sv->retry_ms / 1000);
}

#define LATE_FIRST_MS 2000

/* The multipath target whose devices sv's paths serve: its own, or its base's. */
static struct served *owner(struct served *sv)
{
	return sv->base ? sv->base : sv;
}

/* Does another configured section name the same remote target (one section per portal)? */
static bool shares_remote(const struct nu_manager *m, const struct served *sv)
{
	for (unsigned h = 0; h < MAX_HOSTS; h++) {
		const struct served *o = &m->hosts[h];

		if (o != sv && o->in_use && o->from_config && o->ct.kind == sv->ct.kind &&
		    !o->ct.single_path && !strcmp(target_id(o), target_id(sv)))
			return true;
	}
	return false;
}


static void *late_thread(void *arg)
{
	struct served *sv = arg;
	uint64_t one = 1;

	sv->late_ret = path_create(&sv->ct, sv->late[sv->late_next], &sv->late_tops,
				   &sv->late_target, sv->m->o.queues, sv->m->o.data_mode);
	__atomic_store_n(&sv->late_done, true, __ATOMIC_RELEASE);
	if (write(sv->m->done_fd, &one, sizeof(one)) != sizeof(one))
		nu_warn("manager: eventfd write: %s", strerror(errno));
	return NULL;
}

/* Waits for a late path's connect; it joins the multipath target if take (and it connected). */
static void late_join(struct served *sv, bool take)
{
	struct nu_mpath *mp;
	unsigned idx;

	if (!sv->late_busy)
		return;
	pthread_join(sv->late_thread, NULL);
	sv->late_busy = false;
	if (sv->late_ret)
		return;
	mp = take && sv->up ? nu_mpath_of(owner(sv)->tops, owner(sv)->target) : NULL;
	if (!mp) {
		sv->late_tops->destroy(sv->late_target);
		return;
	}
	/* Joined or refused, it is not tried again (a refusal says why). */
	idx = nu_mpath_nr_paths(mp);
	if (!nu_mpath_add_path(mp, owner(sv)->host, sv->late_target, sv->late[sv->late_next]) &&
	    sv->base)
		sv->joined[sv->nr_joined++] = idx;
	memmove(sv->late[sv->late_next], sv->late[sv->late_next + 1],
		(sv->nr_late - sv->late_next - 1) * sizeof(sv->late[0]));
	sv->nr_late--;
	sv->late_ms = 0;
	sv->late_at_ns = 0;
}

/* A served multipath target's missing paths: one connect at a time, with back-off. */
static void late_step(struct nu_manager *m, struct served *sv, uint64_t now, uint64_t *next)
{
	if (sv->late_busy) {
		if (!__atomic_load_n(&sv->late_done, __ATOMIC_ACQUIRE))
			return;
		late_join(sv, true);
		if (!sv->late_ret || !sv->nr_late)
			return;
		sv->late_next = (sv->late_next + 1) % sv->nr_late;
		sv->late_ms = sv->late_ms ? sv->late_ms * 2 : LATE_FIRST_MS;
		if (sv->late_ms > RETRY_MAX_MS)
			sv->late_ms = RETRY_MAX_MS;
		sv->late_at_ns = now + sv->late_ms * 1000000ull;
	}
	if (!sv->nr_late)
		return;
	if (now < sv->late_at_ns) {
		if (sv->late_at_ns < *next)
			*next = sv->late_at_ns;
		return;
	}
	if (sv->late_next >= sv->nr_late)
		sv->late_next = 0;
	sv->m = m;
	sv->late_done = false;
	if (pthread_create(&sv->late_thread, NULL, late_thread, sv)) {
		sv->late_at_ns = now + RETRY_MAX_MS * 1000000ull;
		return;
	}
	sv->late_busy = true;
}

static void *connect_thread(void *arg)
{
	struct served *sv = arg;
	uint64_t one = 1;

	sv->conn_ret = target_create(&sv->ct, sv->group, &sv->conn_tops, &sv->conn_target,
				     sv->m->o.queues, sv->m->o.data_mode, sv->conn_late,
				     &sv->conn_nr_late);
	__atomic_store_n(&sv->conn_done, true, __ATOMIC_RELEASE);
	if (write(sv->m->done_fd, &one, sizeof(one)) != sizeof(one))
		nu_warn("manager: eventfd write: %s", strerror(errno));
	return NULL;
}

/* Starts connecting in the background; the main loop finishes the bring-up. */
static void connect_start(struct nu_manager *m, struct served *sv)
{
	if (sv->connecting || sv->up || sv->logged_out)
		return;
	sv->m = m;
	sv->group = shares_remote(m, sv);
	sv->conn_done = false;
	sv->conn_tops = NULL;
	sv->conn_target = NULL;
	if (pthread_create(&sv->conn_thread, NULL, connect_thread, sv)) {
		nu_err("target %s: cannot start a connect thread", sv->ct.name);
		schedule_retry(sv);
		return;
	}
	sv->connecting = true;
}

/* Waits for a connect thread; what it connected is dropped unless take. */
static void connect_join(struct served *sv, bool take)
{
	if (!sv->connecting)
		return;
	pthread_join(sv->conn_thread, NULL);
	sv->connecting = false;
	if (sv->conn_ret == 0 && take) {
		sv->tops = sv->conn_tops;
		sv->target = sv->conn_target;
		memcpy(sv->late, sv->conn_late, sizeof(sv->late));
		sv->nr_late = sv->conn_nr_late;
		sv->late_next = sv->late_ms = 0;
		sv->late_at_ns = 0;
	} else if (sv->conn_ret == 0) {
		sv->conn_tops->destroy(sv->conn_target);
	}
}

/* An identifier trusted for grouping: it names one unit, and no other volume of the target. */
static bool wwid_trusted(const struct served *sv, unsigned vol, const char *wwid)
{
	struct nu_vol_desc d;

	if (!nu_wwid_unit(wwid))
		return false;
	for (unsigned i = 0; vol_desc(sv, i, &d); i++)
		if (i != vol && !d.gone && !strcmp(d.wwid, wwid))
			return false;
	return true;
}

enum match { MATCH_NONE, MATCH_SAME, MATCH_CONFLICT };

/*
 * Whether b's volumes are sv's, index for index, by trusted identifiers,
 * behind the same remote target (IQN or subsystem NQN): identifiers are
 * not trusted across targets (tgtd makes its NAA from target and LUN
 * number, so two tgtd instances give different disks the same one). One
 * identity with another size or block size is a conflict: *vol says which.
 */
static enum match same_volumes(const struct served *b, const struct served *sv, unsigned *vol)
{
	unsigned n = b->tops->nr_vols(b->target);
	struct nu_vol_desc x, y;
	bool any = false;

	if (b->ct.kind != sv->ct.kind || sv->tops->nr_vols(sv->target) != n ||
	    strcmp(target_id(b), target_id(sv)))
		return MATCH_NONE;
	for (unsigned i = 0; i < n; i++) {
		*vol = i;
		if (!vol_desc(b, i, &x) || !vol_desc(sv, i, &y) || x.gone != y.gone)
			return MATCH_NONE;
		if (x.gone)
			continue;
		if (strcmp(x.wwid, y.wwid) || !wwid_trusted(b, i, x.wwid) ||
		    !wwid_trusted(sv, i, y.wwid))
			return MATCH_NONE;
		if (x.geom->size != y.geom->size || x.geom->lbs != y.geom->lbs)
			return MATCH_CONFLICT;
		any = true;
	}
	return any ? MATCH_SAME : MATCH_NONE;
}

/* What shapes a section's devices: joined sections must agree on it. */
static bool same_options(const struct nu_conf_target *a, const struct nu_conf_target *b)
{
	return a->nr_luns == b->nr_luns &&
	       !memcmp(a->luns, b->luns, sizeof(a->luns[0]) * a->nr_luns) &&
	       a->read_only == b->read_only && a->discard == b->discard;
}

/* A served section whose volumes are sv's: sv's paths may join its devices. */
static struct served *find_base(struct nu_manager *m, struct served *sv, int *ret)
{
	*ret = 0;
	if (sv->ct.single_path || !sv->from_config)
		return NULL;
	for (unsigned h = 0; h < MAX_HOSTS; h++) {
		struct served *b = &m->hosts[h];
		unsigned vol = 0;
		struct nu_vol_desc d;

		if (b == sv || !b->in_use || !b->up || b->base || !b->tops || b->ct.single_path)
			continue;
		switch (same_volumes(b, sv, &vol)) {
		case MATCH_NONE:
			continue;
		case MATCH_SAME:
			if (same_options(&b->ct, &sv->ct))
				break;
			nu_warn("target %s reaches the volumes of target %s with other luns, "
				"read_only or discard: not grouped, its devices are its own",
				sv->ct.name, b->ct.name);
			return NULL;
		case MATCH_CONFLICT:
			vol_desc(sv, vol, &d);
			nu_err("target %s: %s %u is %s, as target %s's, but of another size or block "
			       "size: refused",
			       sv->ct.name, sv->tops->vol_word, d.id, d.wwid, b->ct.name);
			*ret = -EINVAL;
			return NULL;
		}
		if (nu_mpath_of(b->tops, b->target))
			return b;
		nu_warn("target %s serves the volumes of target %s, which is not served by "
			"multipath (discover = yes?): a second device for each",
			sv->ct.name, b->ct.name);
		return NULL;
	}
	return NULL;
}

/*
 * sv's volumes are served already (another section, the same volumes by
 * identity): its paths join those devices. True if sv is handled so.
 */
static bool join_base(struct nu_manager *m, struct served *sv, int *ret)
{
	struct served *b = find_base(m, sv, ret);
	struct nu_mpath *bmp, *mp;
	void *targets[NU_MPATH_MAX];
	char names[NU_MPATH_MAX][128];
	unsigned n;

	if (!b)
		return false;
	bmp = nu_mpath_of(b->tops, b->target);
	mp = nu_mpath_of(sv->tops, sv->target);
	nu_info("target %s reaches the volumes of target %s (the same identifiers): its paths "
		"join %s's devices, whose policy applies",
		sv->ct.name, b->ct.name, b->ct.name);
	if (mp) {
		n = nu_mpath_release(mp, targets, names);
	} else {
		n = 1;
		targets[0] = sv->target;
		snprintf(names[0], sizeof(names[0]), "%.127s", target_addr(sv));
	}
	sv->tops = NULL;
	sv->target = NULL;
	sv->base = b;
	sv->nr_joined = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned idx = nu_mpath_nr_paths(bmp);

		if (nu_mpath_add_path(bmp, b->host, targets[i], names[i]) == 0)
			sv->joined[sv->nr_joined++] = idx;
	}
	return true;
}

/* sv's paths leave its base's devices (sv stopped); or, sv a base, its joiners start over. */
static void unjoin(struct nu_manager *m, struct served *sv)
{
	if (sv->base) {
		struct nu_mpath *bmp = nu_mpath_of(sv->base->tops, sv->base->target);

		for (unsigned i = 0; bmp && i < sv->nr_joined; i++)
			nu_mpath_remove_path(bmp, sv->base->host, sv->joined[i]);
		sv->base = NULL;
		sv->nr_joined = 0;
		return;
	}
	for (unsigned h = 0; h < MAX_HOSTS; h++) {
		struct served *j = &m->hosts[h];

		if (!j->in_use || j->base != sv)
			continue;
		/* Its paths went with our multipath target: it connects again, on its own. */
		late_join(j, false);
		j->nr_late = 0;
		j->base = NULL;
		j->nr_joined = 0;
		j->up = false;
		j->retry_ms = 0;
		j->retry_at_ns = 0;
		nu_info("target %s: target %s, whose devices it served, stopped: connecting again",
			j->ct.name, sv->ct.name);
	}
}

/* A finished connect: devices up, or a retry later. Returns true if it came up. */
static bool connect_finish(struct nu_manager *m, struct served *sv)
{
	int ret = 0;

	connect_join(sv, true);
	if (sv->conn_ret == 0 && join_base(m, sv, &ret)) {
		sv->up = true;
		sv->retry_ms = 0;
		return true;
	}
	if (ret) {
		sv->tops->destroy(sv->target);
		sv->tops = NULL;
		sv->target = NULL;
	} else if (sv->conn_ret == 0 && host_up(m, sv) == 0) {
		nu_info("target %s is up", sv->ct.name);
		sv->retry_ms = 0;
		return true;
	}
	schedule_retry(sv);
	return false;
}

static struct served *slot_free(struct nu_manager *m)
{
	for (unsigned h = 0; h < MAX_HOSTS; h++)
		if (!m->hosts[h].in_use)
			return &m->hosts[h];
	return NULL;
}

/* A slot for a configured target; it connects once every new one has its slot (grouping). */
static struct served *add_target(struct nu_manager *m, const struct nu_conf_target *t)
{
	struct served *sv = slot_free(m);

	if (!sv) {
		nu_err("target %s: no room (at most %d targets)", t->name, MAX_HOSTS);
		return NULL;
	}
	memset(sv, 0, sizeof(*sv));
	sv->in_use = true;
	sv->from_config = true;
	sv->ct = *t;
	return sv;
}

static void forget(struct nu_manager *m, struct served *sv)
{
	connect_join(sv, false);
	host_down(m, sv);
	memset(sv, 0, sizeof(*sv));
}

/* Only keys rotated (an nvme-tcp target's DH-HMAC-CHAP): authenticate again, devices stay. */
/* a and b alike but for their protocols' settings (iscsi, nvme). */
static bool same_but_protocol(const struct nu_conf_target *a, const struct nu_conf_target *b)
{
	return a->kind == b->kind && a->nr_luns == b->nr_luns &&
	       !memcmp(a->luns, b->luns, sizeof(a->luns[0]) * a->nr_luns) &&
	       a->read_only == b->read_only && a->discard == b->discard;
}

static bool try_rekey(struct served *sv, const struct nu_conf_target *t)
{
	if (t->kind != NU_TARGET_NVME || !sv->up || !sv->tops || !sv->tops->rekey ||
	    !same_but_protocol(t, &sv->ct) || memcmp(&t->iscsi, &sv->ct.iscsi, sizeof(t->iscsi)) ||
	    !nvme_config_only_auth_differs(&sv->ct.nvme, &t->nvme) ||
	    sv->tops->rekey(sv->target, &t->nvme))
		return false;
	nu_info("target %s: keys changed: authenticating its connections again",
		sv->ct.name);
	nvme_config_copy_auth(&sv->ct.nvme, &t->nvme);
	sv->ct.line = t->line;
	return true;
}

void nu_manager_apply(struct nu_manager *m, const struct nu_conf *conf)
{
	/* Gone or changed targets first, so their devices are out of the way. */
	for (unsigned h = 0; h < MAX_HOSTS; h++) {
		struct served *sv = &m->hosts[h];
		const struct nu_conf_target *t = NULL;

		if (!sv->in_use || !sv->from_config)
			continue;
		for (unsigned i = 0; i < conf->nr_targets && !t; i++)
			if (!strcmp(conf->targets[i].name, sv->ct.name))
				t = &conf->targets[i];
		if (!t) {
			nu_info("target %s is no longer configured: stopping it", sv->ct.name);
			forget(m, sv);
		} else if (!same_but_protocol(t, &sv->ct) ||
			   memcmp(&t->iscsi, &sv->ct.iscsi, sizeof(t->iscsi)) ||
			   memcmp(&t->nvme, &sv->ct.nvme, sizeof(t->nvme))) {
			if (try_rekey(sv, t))
				continue;
			nu_info("target %s changed: reconnecting it", sv->ct.name);
			forget(m, sv);
		} else {
			sv->ct.line = t->line; /* untouched: keeps serving */
		}
	}
	struct served *added[MAX_HOSTS];
	unsigned nr_added = 0;

	for (unsigned i = 0; i < conf->nr_targets; i++) {
		bool have = false;

		for (unsigned h = 0; h < MAX_HOSTS && !have; h++)
			have = m->hosts[h].in_use && !strcmp(m->hosts[h].ct.name,
							     conf->targets[i].name);
		if (!have && (added[nr_added] = add_target(m, &conf->targets[i])))
			nr_added++;
	}
	for (unsigned i = 0; i < nr_added; i++)
		connect_start(m, added[i]);
	write_ready_file(m);
}

int nu_manager_add_one(struct nu_manager *m, const struct nu_conf_target *t)
{
	struct served *sv = slot_free(m);
	int ret;

	memset(sv, 0, sizeof(*sv));
	sv->in_use = true;
	if (t) {
		sv->ct = *t;
		if (!sv->ct.name[0])
			snprintf(sv->ct.name, sizeof(sv->ct.name), "%.63s", target_id(sv));
	}
	ret = t ? target_create(&sv->ct, false, &sv->tops, &sv->target, m->o.queues,
				m->o.data_mode, sv->late, &sv->nr_late) :
		  0;
	if (!ret)
		ret = host_up(m, sv);
	if (ret < 0)
		memset(sv, 0, sizeof(*sv));
	write_ready_file(m);
	return ret;
}

/* The target's LUNs changed: devices for new LUNs, none for gone ones, new sizes. */
static void rescan(struct nu_manager *m, struct served *sv)
{
	struct nu_rescan *r = calloc(1, sizeof(*r));
	struct nu_vol_desc d;

	if (!r || sv->tops->rescan(sv->target, r) < 0) {
		free(r);
		return;
	}
	for (unsigned i = 0; i < r->nr_removed; i++)
		remove_volume(m, sv, r->removed[i]);
	for (unsigned i = 0; i < r->nr_resized; i++)
		if (sv->devs[r->resized[i]] && vol_desc(sv, r->resized[i], &d))
			ublk_dev_update_size(sv->devs[r->resized[i]], d.geom->size);
	for (unsigned i = 0; i < r->nr_added; i++)
		if (add_volume(m, sv, r->added[i]) < 0)
			nu_err("no device for the new volume %u", r->added[i]);
	if (r->nr_added || r->nr_removed)
		write_ready_file(m);
	free(r);
}

unsigned nu_manager_pollfds(struct nu_manager *m, struct pollfd *pfd, unsigned max)
{
	unsigned n = 0;

	if (max)
		pfd[n++] = (struct pollfd){ .fd = m->done_fd, .events = POLLIN };
	for (unsigned h = 0; h < MAX_HOSTS && n < max; h++)
		pfd[n++] = (struct pollfd){
			.fd = m->hosts[h].tops ? m->hosts[h].tops->event_fd(m->hosts[h].target) : -1,
			.events = POLLIN,
		};
	return n;
}

int nu_manager_run(struct nu_manager *m, const struct pollfd *pfd, unsigned n)
{
	uint64_t now = nu_now_ns(), next = UINT64_MAX;
	bool changed = false;

	uint64_t drain;

	if (n && (pfd[0].revents & POLLIN) && read(m->done_fd, &drain, sizeof(drain)) < 0)
		nu_warn("manager: eventfd read: %s", strerror(errno));
	for (unsigned h = 0; h + 1 < n && h < MAX_HOSTS; h++)
		if (m->hosts[h].up && m->hosts[h].tops && (pfd[h + 1].revents & POLLIN))
			rescan(m, &m->hosts[h]);
	for (unsigned h = 0; h < MAX_HOSTS; h++) {
		struct served *sv = &m->hosts[h];

		if (sv->in_use && sv->up)
			late_step(m, sv, now, &next);
		if (!sv->in_use || sv->up || sv->logged_out)
			continue;
		if (sv->connecting) {
			if (__atomic_load_n(&sv->conn_done, __ATOMIC_ACQUIRE))
				changed |= connect_finish(m, sv);
			if (sv->connecting || sv->up)
				continue;
		} else if (now >= sv->retry_at_ns) {
			connect_start(m, sv);
			continue;
		}
		if (sv->retry_at_ns < next)
			next = sv->retry_at_ns;
	}
	if (changed || m->ready_stale)
		write_ready_file(m);
	if (next == UINT64_MAX)
		return -1;
	now = nu_now_ns();
	return next > now ? (int)((next - now) / 1000000 + 1) : 0;
}

void nu_manager_rescan_all(struct nu_manager *m)
{
	for (unsigned h = 0; h < MAX_HOSTS; h++)
		if (m->hosts[h].up && m->hosts[h].tops) {
			struct served *sv = &m->hosts[h];
			struct pollfd pfd = { .fd = sv->tops->event_fd(sv->target), .events = POLLIN };

			sv->tops->request_rescan(sv->target);
			/* Where the answer is there at once (iSCSI), act on it before returning. */
			if (poll(&pfd, 1, 0) == 1)
				rescan(m, sv);
		}
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

/* The target's sessions or controller queues: where each is connected, how it fares. */
static void status_paths(const struct served *sv, FILE *out, bool json)
{
	unsigned max = NU_MAX_PATHS * NU_MPATH_MAX, n = 0;
	struct nu_path_info *p = calloc(max, sizeof(*p));

	if (p && sv->up && sv->tops && sv->tops->paths)
		n = sv->tops->paths(sv->target, nu_host_nr_queues(sv->host), p, max);
	if (json)
		fprintf(out, ",\"paths\":[");
	for (unsigned i = 0; i < n; i++) {
		if (!json) {
			char mp[24] = "";

			if (p[i].mpath >= 0)
				snprintf(mp, sizeof(mp), "path %d ", p[i].mpath);
			fprintf(out,
				"  %s%-7s q%-3d %-12s %-22s -> %-22s %s%s%s, reconnects %llu, ios %llu, "
				"errors %llu\n",
				mp, p[i].role, p[i].queue, p[i].state, p[i].local[0] ? p[i].local : "-",
				p[i].remote[0] ? p[i].remote : "-", p[i].id[0] ? p[i].id : "-",
				p[i].security[0] ? ", " : "", p[i].security,
				(unsigned long long)p[i].reconnects, (unsigned long long)p[i].ios,
				(unsigned long long)p[i].errors);
			continue;
		}
		fprintf(out, "%s{\"queue\":%d,\"role\":\"%s\",\"state\":\"%s\",\"local\":",
			i ? "," : "", p[i].queue, p[i].role, p[i].state);
		json_str(out, p[i].local);
		fprintf(out, ",\"remote\":");
		json_str(out, p[i].remote);
		fprintf(out, ",\"id\":");
		json_str(out, p[i].id);
		fprintf(out, ",\"security\":");
		json_str(out, p[i].security[0] ? p[i].security : "none");
		fprintf(out,
			",\"reconnects\":%llu,\"path\":%d,\"ios\":%llu,\"bytes\":%llu,"
			"\"errors\":%llu}",
			(unsigned long long)p[i].reconnects, p[i].mpath, (unsigned long long)p[i].ios,
			(unsigned long long)p[i].bytes, (unsigned long long)p[i].errors);
	}
	if (json)
		fprintf(out, "]");
	free(p);
}

/* A served target by name or by one of its devices ("ublkb3", "/dev/ublkb3"). */
static struct served *find_served(struct nu_manager *m, const char *what)
{
	int id = -1;

	sscanf(what, "/dev/ublkb%d", &id);
	if (id < 0)
		sscanf(what, "ublkb%d", &id);
	if (id >= 0) {
		int h = host_of_dev(m, id);

		return h < 0 ? NULL : &m->hosts[h];
	}
	/* A section whose paths joined another's devices is managed through those. */
	for (unsigned h = 0; h < MAX_HOSTS; h++)
		if (m->hosts[h].in_use && !strcmp(m->hosts[h].ct.name, what))
			return owner(&m->hosts[h]);
	return NULL;
}

/* One line per path of a multipath target: its state over every queue's connection. */
static void path_list(const struct served *sv, const struct nu_mpath *mp, FILE *out)
{
	unsigned max = NU_MAX_PATHS * NU_MPATH_MAX, n = 0;
	struct nu_path_info *p = calloc(max, sizeof(*p));

	if (p && sv->up)
		n = sv->tops->paths(sv->target, nu_host_nr_queues(sv->host), p, max);
	for (unsigned k = 0; k < nu_mpath_nr_paths(mp); k++) {
		unsigned conns = 0, up = 0;
		uint64_t ios = 0, errors = 0;

		if (!nu_mpath_path_name(mp, k))
			continue; /* left with its section */
		for (unsigned i = 0; i < n; i++) {
			if (p[i].mpath != (int)k || !strcmp(p[i].role, "admin"))
				continue;
			conns++;
			up += !strcmp(p[i].state, "up");
			ios += p[i].ios;
			errors += p[i].errors;
		}
		fprintf(out, "%-12s %u %-24s %-9s %u/%u up  ios %llu  errors %llu  failovers %llu",
			sv->ct.name, k, nu_mpath_path_name(mp, k),
			nu_mpath_enabled(mp, k) ? "active" : "failed", up, conns,
			(unsigned long long)ios, (unsigned long long)errors,
			(unsigned long long)nu_mpath_failovers(mp, k));
		/* Each volume's ANA / ALUA state through this path, where the target says. */
		for (unsigned v = 0; v < sv->nr_vols; v++) {
			const char *a = nu_mpath_access(mp, k, v);
			struct nu_vol_desc d;

			if (a && vol_desc(sv, v, &d) && !d.gone)
				fprintf(out, "  %s%u %s", sv->tops->vol_word, d.id, a);
		}
		fprintf(out, "\n");
	}
	free(p);
}

struct inject_arg {
	unsigned path, ms, delay_ms;
	int fault;
};

static int inject_on_queue(struct nu_queue *q, void *arg)
{
	struct inject_arg *a = arg;

	return nu_mpath_inject(q, a->path, a->fault, a->ms, a->delay_ms);
}

#define INJECT_USAGE                                                                       \
	"path inject TARGET PATH drop | blackhole SECONDS (1 to 3600) | delay MS (1 to 10000) " \
	"SECONDS"

/* path inject: a fault on every queue's connection of one path. */
static void path_inject(struct served *sv, unsigned path, const char *fault, const char *arg1,
			const char *arg2, FILE *out)
{
	struct inject_arg a = { .path = path };
	unsigned s = 0, done = 0;
	char what[64];

	if (!strcmp(fault, "drop") && !arg1[0]) {
		a.fault = NU_FAULT_DROP;
		snprintf(what, sizeof(what), "drop");
	} else if (!strcmp(fault, "blackhole") && !arg2[0] && !nu_parse_uint(arg1, 1, 3600, &s)) {
		a.fault = NU_FAULT_BLACKHOLE;
		snprintf(what, sizeof(what), "blackhole for %u s", s);
	} else if (!strcmp(fault, "delay") && !nu_parse_uint(arg1, 1, 10000, &a.delay_ms) &&
		   !nu_parse_uint(arg2, 1, 3600, &s)) {
		a.fault = NU_FAULT_DELAY;
		snprintf(what, sizeof(what), "delay of %u ms for %u s", a.delay_ms, s);
	} else {
		fprintf(out, "error: " INJECT_USAGE "\n");
		return;
	}
	a.ms = s * 1000;
	for (unsigned q = 0; q < nu_host_nr_queues(sv->host); q++)
		done += nu_queue_call(nu_host_queue(sv->host, q), inject_on_queue, &a) == 0;
	nu_warn("%s path %u: injected %s on %u connection(s)", sv->ct.name, path, what, done);
	fprintf(out, "%s path %u: %s injected on %u connection(s)\n", sv->ct.name, path, what, done);
}

void nu_manager_path(struct nu_manager *m, const char *args, FILE *out)
{
	char verb[16] = "", what[256] = "", which[256] = "", fault[16] = "", arg1[16] = "",
	     arg2[16] = "";
	struct served *sv;
	struct nu_mpath *mp;
	unsigned path;
	char extra = 0;
	int n = sscanf(args, "%15s %255s %255s %15s %15s %15s %c", verb, what, which, fault, arg1,
		       arg2, &extra);
	bool inject = !strcmp(verb, "inject");

	if (n < 1 || (!strcmp(verb, "list") && n != 1) || (strcmp(verb, "list") && n < 3) ||
	    (!inject && n > 3) || (inject && (n < 4 || extra))) {
		fprintf(out, "error: path list | path fail TARGET PATH | path reinstate TARGET PATH"
			     " | " INJECT_USAGE "\n");
		return;
	}
	if (!strcmp(verb, "list")) {
		for (unsigned h = 0; h < MAX_HOSTS; h++) {
			sv = &m->hosts[h];
			mp = sv->in_use && sv->up ? nu_mpath_of(sv->tops, sv->target) : NULL;
			if (mp)
				path_list(sv, mp, out);
		}
		return;
	}
	if (strcmp(verb, "fail") && strcmp(verb, "reinstate") && !inject) {
		fprintf(out, "error: path %s: the verbs are list, fail, reinstate and inject\n", verb);
		return;
	}
	sv = find_served(m, what);
	mp = sv && sv->up ? nu_mpath_of(sv->tops, sv->target) : NULL;
	if (!mp) {
		fprintf(out, "error: %s is %s\n", what,
			sv ? "not a multipath target (one address, or multipath = no)" :
			     "neither a target nor a device of ours");
		return;
	}
	for (path = 0; path < nu_mpath_nr_paths(mp); path++) {
		char idx[12];

		snprintf(idx, sizeof(idx), "%u", path);
		if (nu_mpath_path_name(mp, path) &&
		    (!strcmp(which, idx) || !strcmp(which, nu_mpath_path_name(mp, path))))
			break;
	}
	if (path == nu_mpath_nr_paths(mp)) {
		fprintf(out, "error: %s has no path %s\n", sv->ct.name, which);
		return;
	}
	if (inject) {
		path_inject(sv, path, fault, arg1, arg2, out);
		return;
	}
	nu_mpath_set_enabled(mp, path, !strcmp(verb, "reinstate"));
	fprintf(out, "%s path %u (%s): %s\n", sv->ct.name, path, nu_mpath_path_name(mp, path),
		strcmp(verb, "reinstate") ? "failed" : "reinstated");
}

void nu_manager_status(const struct nu_manager *m, FILE *out, bool json)
{
	bool first_t = true;

	if (json)
		fprintf(out, "{\"version\":1,\"targets\":[");
	else
		fprintf(out, "%-12s %-8s %-44s %s\n", "TARGET", "STATE", "IQN/NQN", "ADDRESS");
	for (unsigned h = 0; h < MAX_HOSTS; h++) {
		const struct served *sv = &m->hosts[h];
		const char *state = sv->base ? "joined" : sv->up ? "up" :
				    sv->logged_out ? "logged-out" : sv->connecting ? "connecting" :
				    "retrying";
		bool first_d = true;

		if (!sv->in_use)
			continue;
		if (json) {
			fprintf(out, "%s{\"name\":", first_t ? "" : ",");
			json_str(out, sv->ct.name[0] ? sv->ct.name : "mem");
			fprintf(out, ",\"transport\":\"%s\",\"state\":\"%s\",\"iqn\":",
				sv->mem ? "memory" : sv->ct.kind == NU_TARGET_NVME ? "nvme-tcp" : "iscsi",
				state);
			/* "iqn" and "portal" are the remote name and address for either transport. */
			json_str(out, target_id(sv));
			fprintf(out, ",\"portal\":");
			json_str(out, target_addr(sv));
			if (sv->base) {
				fprintf(out, ",\"joined\":");
				json_str(out, sv->base->ct.name);
			}
			status_paths(sv, out, true);
			fprintf(out, ",\"devices\":[");
		} else {
			fprintf(out, "%-12s %-8s %-44s %s\n", sv->ct.name[0] ? sv->ct.name : "mem",
				state, target_id(sv), target_addr(sv));
			if (sv->base) {
				fprintf(out, "  paths of %s's devices:", sv->base->ct.name);
				for (unsigned k = 0; k < sv->nr_joined; k++)
					fprintf(out, " path %u", sv->joined[k]);
				fprintf(out, "\n");
			}
			status_paths(sv, out, false);
		}
		first_t = false;
		for (unsigned i = 0; i < sv->nr_vols; i++) {
			const struct ublk_dev *d = sv->devs[i];
			struct nu_vol_desc vd = { .id = i, .wwid = "" };
			bool remote = vol_desc(sv, i, &vd);
			const struct nu_volume_stats *st;
			struct nu_volume_geom g;

			if (!d || (!remote && sv->tops))
				continue;
			st = nu_host_vol_stats(sv->host, i);
			if (remote)
				g = *vd.geom;
			else
				nu_mem_geom(sv->mem, i, &g);
			if (json) {
				fprintf(out, "%s{\"dev\":\"/dev/ublkb%d\",\"lun\":%u,\"wwid\":",
					first_d ? "" : ",", ublk_dev_id(d), vd.id);
				json_str(out, vd.wwid);
				fprintf(out,
					",\"size\":%llu,\"block_size\":%u,\"data_mode\":\"%s\","
					"\"unprivileged\":%s,\"reads\":%llu,"
					"\"reads_copied_in\":%llu,\"writes\":%llu,\"errors\":%llu}",
					(unsigned long long)g.size, g.lbs,
					ublk_data_mode_name(ublk_dev_data_mode(d)),
					ublk_dev_unprivileged(d) ? "true" : "false",
					(unsigned long long)st->ops[NU_OP_READ],
					(unsigned long long)st->reads_copied_in,
					(unsigned long long)st->ops[NU_OP_WRITE],
					(unsigned long long)st->errors);
			} else {
				fprintf(out,
					"  /dev/ublkb%-4d lun %-3u %-40s %8llu MiB %4u B %-10s "
					"r %llu w %llu err %llu\n",
					ublk_dev_id(d), vd.id, vd.wwid[0] ? vd.wwid : "-",
					(unsigned long long)(g.size >> 20), g.lbs,
					ublk_data_mode_name(ublk_dev_data_mode(d)),
					(unsigned long long)st->ops[NU_OP_READ],
					(unsigned long long)st->ops[NU_OP_WRITE],
					(unsigned long long)st->errors);
			}
			first_d = false;
		}
		if (json)
			fprintf(out, "]}");
	}
	if (json)
		fprintf(out, "]}\n");
}

/* ---------------------------------------------------------------- metrics */

static const char *transport_name(const struct served *sv)
{
	return sv->mem ? "memory" : sv->ct.kind == NU_TARGET_NVME ? "nvme-tcp" : "iscsi";
}

/* Device counters: which field of the volume's stats each family shows. */
enum dev_field { DF_OPS, DF_BYTES, DF_ERRORS, DF_COPIED_IN, DF_INFLIGHT };
static const struct {
	const char *name, *type, *help;
	enum dev_field field;
	int op;
} dev_metrics[] = {
	{ "netublk_device_reads_total", "counter", "Reads completed.", DF_OPS, NU_OP_READ },
	{ "netublk_device_writes_total", "counter", "Writes completed.", DF_OPS, NU_OP_WRITE },
	{ "netublk_device_read_bytes_total", "counter", "Bytes read.", DF_BYTES, NU_OP_READ },
	{ "netublk_device_write_bytes_total", "counter", "Bytes written.", DF_BYTES, NU_OP_WRITE },
	{ "netublk_device_flushes_total", "counter", "Cache flushes completed.", DF_OPS,
	  NU_OP_FLUSH },
	{ "netublk_device_discards_total", "counter", "Discards completed.", DF_OPS,
	  NU_OP_DISCARD },
	{ "netublk_device_discard_bytes_total", "counter", "Bytes discarded.", DF_BYTES,
	  NU_OP_DISCARD },
	{ "netublk_device_write_zeroes_total", "counter", "Write-zeroes completed.", DF_OPS,
	  NU_OP_WRITE_ZEROES },
	{ "netublk_device_errors_total", "counter", "Requests completed with an error.",
	  DF_ERRORS, 0 },
	{ "netublk_device_reads_copied_in_total", "counter",
	  "Zero copy: small reads received with a batch and copied in.", DF_COPIED_IN, 0 },
	{ "netublk_device_inflight", "gauge", "Requests submitted and not yet completed.",
	  DF_INFLIGHT, 0 },
};

static uint64_t completed(const struct nu_volume_stats *st)
{
	uint64_t n = 0;

	for (unsigned c = 0; c < NU_LAT_CLASSES; c++)
		for (unsigned b = 0; b < NU_DEV_LAT_BUCKETS; b++)
			n += __atomic_load_n(&st->lat[c][b], __ATOMIC_RELAXED);
	return n;
}

static uint64_t dev_value(const struct nu_volume_stats *st, unsigned k)
{
	uint64_t started, done;

	switch (dev_metrics[k].field) {
	case DF_OPS:
		return __atomic_load_n(&st->ops[dev_metrics[k].op], __ATOMIC_RELAXED);
	case DF_BYTES:
		return __atomic_load_n(&st->bytes[dev_metrics[k].op], __ATOMIC_RELAXED);
	case DF_ERRORS:
		return __atomic_load_n(&st->errors, __ATOMIC_RELAXED);
	case DF_COPIED_IN:
		return __atomic_load_n(&st->reads_copied_in, __ATOMIC_RELAXED);
	case DF_INFLIGHT:
		/* Read unlocked: a completion may be counted before its submission is. */
		done = completed(st);
		started = __atomic_load_n(&st->started, __ATOMIC_RELAXED);
		return started > done ? started - done : 0;
	}
	return 0;
}

/* Calls fn for every device we serve, with its labels. */
static void each_device(const struct nu_manager *m, FILE *out,
			void (*fn)(FILE *out, const char *labels, const struct nu_volume_stats *st,
				   void *arg),
			void *arg)
{
	for (unsigned h = 0; h < MAX_HOSTS; h++) {
		const struct served *sv = &m->hosts[h];

		for (unsigned i = 0; sv->in_use && i < sv->nr_vols; i++) {
			char dev[32], labels[256];

			if (!sv->devs[i])
				continue;
			snprintf(dev, sizeof(dev), "ublkb%d", ublk_dev_id(sv->devs[i]));
			nu_metrics_labels(labels, sizeof(labels), "device", dev, "target",
					  sv->ct.name[0] ? sv->ct.name : "mem", NULL);
			fn(out, labels, nu_host_vol_stats(sv->host, i), arg);
		}
	}
}

static void dev_sample(FILE *out, const char *labels, const struct nu_volume_stats *st, void *arg)
{
	unsigned k = *(unsigned *)arg;

	nu_metrics_sample(out, dev_metrics[k].name, labels, dev_value(st, k));
}

static void dev_latency(FILE *out, const char *labels, const struct nu_volume_stats *st, void *arg)
{
	static const char *const cls[NU_LAT_CLASSES] = { "read", "write", "other" };

	(void)arg;
	for (unsigned c = 0; c < NU_LAT_CLASSES; c++) {
		uint64_t counts[NU_DEV_LAT_BUCKETS];
		char l[320];

		for (unsigned b = 0; b < NU_DEV_LAT_BUCKETS; b++)
			counts[b] = __atomic_load_n(&st->lat[c][b], __ATOMIC_RELAXED);
		snprintf(l, sizeof(l), "%s,op=\"%s\"", labels, cls[c]);
		nu_metrics_histogram(out, "netublk_device_io_latency_seconds", l, counts,
				     NU_DEV_LAT_BUCKETS, nu_lat_bound_us,
				     __atomic_load_n(&st->lat_sum_ns[c], __ATOMIC_RELAXED));
	}
}

enum conn_field { CF_UP, CF_IOS, CF_BYTES, CF_ERRORS, CF_RECONNECTS };
static const struct {
	const char *name, *type, *help;
	enum conn_field field;
} conn_metrics[] = {
	{ "netublk_connection_up", "gauge", "1 if the connection is logged in and serving.",
	  CF_UP },
	{ "netublk_connection_ios_total", "counter", "Commands completed on the connection.",
	  CF_IOS },
	{ "netublk_connection_bytes_total", "counter", "Data bytes of those commands.",
	  CF_BYTES },
	{ "netublk_connection_errors_total", "counter", "Commands that ended in an error.",
	  CF_ERRORS },
	{ "netublk_connection_reconnects_total", "counter", "Returns after a loss.",
	  CF_RECONNECTS },
};

static uint64_t conn_value(const struct nu_path_info *p, enum conn_field f)
{
	switch (f) {
	case CF_UP:
		return !strcmp(p->state, "up") || !strcmp(p->state, "failback-wait");
	case CF_IOS:
		return p->ios;
	case CF_BYTES:
		return p->bytes;
	case CF_ERRORS:
		return p->errors;
	case CF_RECONNECTS:
		return p->reconnects;
	}
	return 0;
}

static void conn_samples(const struct nu_manager *m, FILE *out, unsigned k)
{
	unsigned max = NU_MAX_PATHS * NU_MPATH_MAX;
	struct nu_path_info *p = calloc(max, sizeof(*p));

	for (unsigned h = 0; p && h < MAX_HOSTS; h++) {
		const struct served *sv = &m->hosts[h];
		unsigned n = 0;

		if (sv->in_use && sv->up && sv->tops && sv->tops->paths)
			n = sv->tops->paths(sv->target, nu_host_nr_queues(sv->host), p, max);
		for (unsigned i = 0; i < n; i++) {
			char q[12], path[12], labels[384];

			snprintf(q, sizeof(q), "%d", p[i].queue);
			snprintf(path, sizeof(path), "%d", p[i].mpath < 0 ? 0 : p[i].mpath);
			nu_metrics_labels(labels, sizeof(labels), "target", sv->ct.name, "path", path,
					  "queue", q, "role", p[i].role, "remote", p[i].remote,
					  NULL);
			nu_metrics_sample(out, conn_metrics[k].name, labels,
					  conn_value(&p[i], conn_metrics[k].field));
		}
	}
	free(p);
}

static void path_samples(const struct nu_manager *m, FILE *out, bool failovers)
{
	for (unsigned h = 0; h < MAX_HOSTS; h++) {
		const struct served *sv = &m->hosts[h];
		struct nu_mpath *mp = sv->in_use && sv->up ? nu_mpath_of(sv->tops, sv->target) : NULL;

		for (unsigned k = 0; mp && k < nu_mpath_nr_paths(mp); k++) {
			char path[12], labels[384];

			if (!nu_mpath_path_name(mp, k))
				continue;
			snprintf(path, sizeof(path), "%u", k);
			nu_metrics_labels(labels, sizeof(labels), "target", sv->ct.name, "path", path,
					  "address", nu_mpath_path_name(mp, k), NULL);
			nu_metrics_sample(out,
					  failovers ? "netublk_path_failovers_total" :
						      "netublk_path_enabled",
					  labels,
					  failovers ? nu_mpath_failovers(mp, k) :
						      nu_mpath_enabled(mp, k));
		}
	}
}

void nu_manager_metrics(const struct nu_manager *m, FILE *out)
{
	nu_metrics_family(out, "netublk_target_up", "gauge",
			  "1 if the target is served (its devices, or its paths in another's).");
	for (unsigned h = 0; h < MAX_HOSTS; h++) {
		const struct served *sv = &m->hosts[h];
		char labels[256];

		if (!sv->in_use)
			continue;
		nu_metrics_labels(labels, sizeof(labels), "target",
				  sv->ct.name[0] ? sv->ct.name : "mem", "transport",
				  transport_name(sv), NULL);
		nu_metrics_sample(out, "netublk_target_up", labels, sv->up);
	}
	for (unsigned k = 0; k < sizeof(dev_metrics) / sizeof(dev_metrics[0]); k++) {
		nu_metrics_family(out, dev_metrics[k].name, dev_metrics[k].type, dev_metrics[k].help);
		each_device(m, out, dev_sample, &k);
	}
	nu_metrics_family(out, "netublk_device_io_latency_seconds", "histogram",
			  "Time from submission to completion, errors included.");
	each_device(m, out, dev_latency, NULL);
	for (unsigned k = 0; k < sizeof(conn_metrics) / sizeof(conn_metrics[0]); k++) {
		nu_metrics_family(out, conn_metrics[k].name, conn_metrics[k].type,
				  conn_metrics[k].help);
		conn_samples(m, out, k);
	}
	nu_metrics_family(out, "netublk_path_failovers_total", "counter",
			  "Commands moved off a multipath path when it was lost or refused them.");
	path_samples(m, out, true);
	nu_metrics_family(out, "netublk_path_enabled", "gauge",
			  "0 while a path is failed by hand (netublkctl path fail).");
	path_samples(m, out, false);
}

unsigned nu_manager_nr_devices(const struct nu_manager *m)
{
	unsigned n = 0;

	for (unsigned h = 0; h < MAX_HOSTS; h++)
		for (unsigned i = 0; i < m->hosts[h].nr_vols; i++)
			n += !!m->hosts[h].devs[i];
	return n;
}

static struct served *by_name(struct nu_manager *m, const char *name)
{
	for (unsigned h = 0; h < MAX_HOSTS; h++)
		if (m->hosts[h].in_use && !strcmp(m->hosts[h].ct.name, name))
			return &m->hosts[h];
	return NULL;
}

int nu_manager_logout(struct nu_manager *m, const char *name)
{
	struct served *sv = by_name(m, name);

	if (!sv || !sv->ct.name[0])
		return -ENOENT;
	if (sv->logged_out)
		return -EALREADY;
	nu_info("target %s: logging out (netublkctl)", name);
	connect_join(sv, false);
	host_down(m, sv);
	sv->logged_out = true;
	write_ready_file(m);
	return 0;
}

int nu_manager_login(struct nu_manager *m, const char *name)
{
	struct served *sv = by_name(m, name);

	if (!sv || !sv->ct.name[0])
		return -ENOENT;
	if (!sv->logged_out)
		return -EALREADY;
	nu_info("target %s: logging in (netublkctl)", name);
	sv->logged_out = false;
	sv->retry_ms = 0;
	connect_start(m, sv);
	return 0;
}

/* Mounted (or otherwise held exclusively): the kernel refuses an exclusive open. */
static bool device_busy(const struct ublk_dev *d)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/ublkb%d", ublk_dev_id(d));
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == EBUSY;
}

unsigned nu_manager_stop(struct nu_manager *m, bool remove_busy)
{
	unsigned kept = 0;

	for (unsigned h = MAX_HOSTS; h-- > 0;) {
		struct served *sv = &m->hosts[h];
		unsigned busy = 0;

		if (!sv->in_use)
			continue;
		/* Only devices that wait for a new netublkd (USER_RECOVERY) may stay. */
		for (unsigned i = 0; i < sv->nr_vols && sv->tops && !remove_busy; i++) {
			if (sv->devs[i] && ublk_dev_recoverable(sv->devs[i]) &&
			    device_busy(sv->devs[i])) {
				nu_warn("/dev/ublkb%d is in use (mounted?): left in place; its I/O waits "
					"until netublkd starts again and takes it over",
					ublk_dev_id(sv->devs[i]));
				busy++;
			}
		}
		if (busy) {
			kept += busy;
			continue;
		}
		forget(m, sv);
	}
	return kept;
}

bool nu_manager_connecting(const struct nu_manager *m)
{
	return any_connecting(m);
}

unsigned nu_manager_nr_up(const struct nu_manager *m)
{
	unsigned n = 0;

	for (unsigned h = 0; h < MAX_HOSTS; h++)
		n += m->hosts[h].up;
	return n;
}

struct nu_manager *nu_manager_create(struct ublk_ctrl *ctrl, const struct nu_manager_options *o)
{
	struct nu_manager *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->ctrl = ctrl;
	m->o = *o;
	m->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->done_fd < 0) {
		free(m);
		return NULL;
	}
	return m;
}

void nu_manager_destroy(struct nu_manager *m)
{
	if (!m)
		return;
	for (unsigned h = MAX_HOSTS; h-- > 0;)
		if (m->hosts[h].in_use)
			forget(m, &m->hosts[h]);
	if (m->o.ready_file)
		unlink(m->o.ready_file);
	close(m->done_fd);
	free(m);
}
