// SPDX-License-Identifier: MIT
/*
 * The controller side of an NVMe/TCP host: admin queue association
 * (Connect, enable, Identify, number of queues, asynchronous events), the
 * namespace inventory, and the admin thread that keeps the association
 * alive (Keep Alive at KATO/2), follows asynchronous events, sends Aborts
 * for I/O queues and re-associates after a failure.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <nvme/types.h>

#include "nvme_transport.h"
#include "nvme_host.h"
#include "log.h"
#include "queue.h"
#include "stream.h"

#define ID_LEN NVME_IDENTIFY_DATA_SIZE

static void ev_write(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		nu_warn("nvme: eventfd write: %s", strerror(errno));
}

/* ---------------------------------------------------------------- inventory */

static int identify(struct nvme_conn *c, uint8_t cns, uint32_t nsid, uint8_t *buf,
		    nvme_unsolicited_fn cb, void *ctx)
{
	uint8_t sqe[NVME_SQE_LEN];
	struct nvme_cqe cqe;

	memset(buf, 0, ID_LEN);
	nvme_build_identify(sqe, cns, nsid);
	return nvme_conn_exec(c, sqe, NULL, 0, buf, ID_LEN, &cqe, cb, ctx);
}

/* The active namespaces with their geometry and names; out has NU_HOST_MAX_VOLS entries. */
static int scan_namespaces(struct nvme_host *h, struct nu_vol *out, unsigned *n,
			   nvme_unsolicited_fn cb, void *ctx)
{
	uint8_t *buf = malloc(ID_LEN), *desc = malloc(ID_LEN);
	uint32_t ids[NU_HOST_MAX_VOLS];
	unsigned nr;
	int ret = -ENOMEM;

	*n = 0;
	if (!buf || !desc)
		goto out;
	ret = identify(&h->admin, NVME_IDENTIFY_CNS_NS_ACTIVE_LIST, 0, buf, cb, ctx);
	if (ret)
		goto out;
	nr = nvme_parse_ns_list(buf, ID_LEN, ids, NU_HOST_MAX_VOLS);
	for (unsigned i = 0; i < nr; i++) {
		struct nvme_ns_info info, *ns = &info;
		int r;

		memset(ns, 0, sizeof(*ns));
		ns->nsid = ids[i];
		ret = identify(&h->admin, NVME_IDENTIFY_CNS_NS, ids[i], buf, cb, ctx);
		if (ret)
			goto out;
		r = nvme_parse_id_ns(buf, ID_LEN, &h->ci, ns);
		if (r == -ENODEV)
			continue;
		if (r) {
			nu_warn("nvme: %s namespace %u: %s; not served", h->cfg.subnqn, ids[i],
				r == -EOPNOTSUPP ? "formatted with metadata" : "invalid format");
			continue;
		}
		/* Descriptors are optional before NVMe 1.3: fall back to Identify Namespace. */
		ret = identify(&h->admin, NVME_IDENTIFY_CNS_NS_DESC_LIST, ids[i], desc, cb, ctx);
		if (ret == -EIO)
			memset(desc, 0, ID_LEN);
		else if (ret)
			goto out;
		nvme_ns_wwid(desc, ID_LEN, buf, &h->ci, ids[i], ns->wwid, sizeof(ns->wwid));
		out[*n] = (struct nu_vol){ .id = ns->nsid, .geom = ns->geom, .group = ns->anagrpid };
		snprintf(out[*n].wwid, sizeof(out[*n].wwid), "%s", ns->wwid);
		(*n)++;
	}
	ret = 0;
out:
	free(buf);
	free(desc);
	return ret;
}

/* ---------------------------------------------------------------- association */

static void on_unsolicited(void *ctx, const struct nvme_cqe *cqe);
static int host_rescan(void *t, struct nu_rescan *r);

static int set_features(struct nvme_conn *c, uint8_t fid, uint32_t value, uint32_t *result)
{
	uint8_t sqe[NVME_SQE_LEN];
	struct nvme_cqe cqe;
	int ret;

	nvme_sqe_init(sqe, nvme_admin_set_features, 0, 0);
	nvme_sqe_set_cdw(sqe, 10, fid);
	nvme_sqe_set_cdw(sqe, 11, value);
	ret = nvme_conn_exec(c, sqe, NULL, 0, NULL, 0, &cqe, on_unsolicited, NULL);
	if (result)
		*result = cqe.dw0;
	return ret;
}

static void submit_aer(struct nvme_host *h)
{
	uint8_t sqe[NVME_SQE_LEN];

	nvme_build_aer(sqe);
	if (nvme_conn_send(&h->admin, sqe, NULL, 0) < 0)
		nu_warn("nvme: %s: cannot send an Asynchronous Event Request", h->cfg.subnqn);
}

/* Admin queue up, controller enabled and described. */
static int associate(struct nvme_host *h, unsigned nr_queues, bool first, char *err,
		     size_t err_len)
{
	struct nvme_target_config *cfg = &h->cfg;
	struct nvme_conn *c = &h->admin;
	uint8_t *buf = malloc(ID_LEN);
	struct nvme_host_ids ids;
	unsigned mqes;
	uint32_t granted = 0;
	uint16_t cntlid = 0;
	int ret;

	if (!buf)
		return -ENOMEM;
	nvme_host_ids_get(h, &ids);
	ret = nvme_conn_open(c, cfg, &ids, 5000, err, err_len);
	if (ret) {
		explicit_bzero(&ids, sizeof(ids));
		goto out;
	}
	/* Keep Alive goes every KATO/2 and must be answered in as long: loss shows within KATO. */
	c->timeout_ms = cfg->kato_s * 500 < 1000 ? 1000 : cfg->kato_s * 500;
	ret = nvme_conn_connect(c, 0, 0, cfg->kato_s * 1000, &ids, cfg->subnqn, &cntlid, err,
				err_len);
	explicit_bzero(&ids, sizeof(ids));
	if (!ret)
		ret = nvme_conn_enable(c, &h->cap, err, err_len);
	if (ret)
		goto fail;
	ret = identify(c, NVME_IDENTIFY_CNS_CTRL, 0, buf, on_unsolicited, NULL);
	if (!ret)
		ret = nvme_parse_id_ctrl(buf, ID_LEN, 12 + ((h->cap >> 48) & 0xf), &h->ci);
	if (ret) {
		snprintf(err, err_len, "Identify Controller failed");
		goto fail;
	}
	ret = set_features(c, NVME_FEAT_FID_NUM_QUEUES, (nr_queues - 1) | (nr_queues - 1) << 16,
			   &granted);
	if (ret || (granted & 0xffff) + 1 < nr_queues || (granted >> 16) + 1 < nr_queues) {
		snprintf(err, err_len, "the controller grants %u I/O queues, %u needed",
			 ret ? 0 : (unsigned)(granted & 0xffff) + 1, nr_queues);
		ret = -ENOSPC;
		goto fail;
	}
	/* Asynchronous events: namespace attribute changes and ANA changes, if offered. */
	{
		const struct nvme_id_ctrl *idc = (const void *)buf;
		uint32_t want = le32toh(idc->oaes) & (NVME_CTRL_OAES_NA | NVME_CTRL_OAES_ANA);

		if (want && set_features(c, NVME_FEAT_FID_ASYNC_EVENT, want, NULL))
			nu_warn("nvme: %s: asynchronous events not enabled", cfg->subnqn);
	}
	mqes = (unsigned)(h->cap & 0xffff) + 1;
	h->io_queue_size = cfg->queue_size ? cfg->queue_size : 128;
	if (h->io_queue_size > mqes)
		h->io_queue_size = mqes;
	if (first) {
		char sec[64];

		nvme_auth_describe(&c->auth, sec, sizeof(sec));
		nu_info("nvme: %s at %s: controller %u, %s %s, MDTS %u KiB, IOCCSZ %u, %u-entry "
			"I/O queues, digests %s/%s, authentication %s",
			cfg->subnqn, cfg->address, cntlid, h->ci.mn, h->ci.sn,
			h->ci.max_transfer >> 10, h->ci.ioccsz, h->io_queue_size,
			cfg->header_digest ? "on" : "off", cfg->data_digest ? "on" : "off", sec);
	}
	__atomic_store_n(&h->cntlid, cntlid, __ATOMIC_RELEASE);
	ret = 0;
	goto out;
fail:
	nvme_conn_close(c);
out:
	free(buf);
	return ret;
}

static void publish_association(struct nvme_host *h)
{
	char id[48], auth[64], sec[NU_PATH_SECURITY_LEN];

	snprintf(id, sizeof(id), "cntlid %u qid 0", h->cntlid);
	nvme_auth_describe(&h->admin.auth, auth, sizeof(auth));
	pthread_mutex_lock(&h->lock);
	snprintf(h->assoc_auth, sizeof(h->assoc_auth), "%s", h->admin.auth.done ? auth : "");
	pthread_mutex_unlock(&h->lock);
	nvme_host_security(h, &h->admin, sec, sizeof(sec));
	nu_path_up(&h->paths[0], h->admin.fd, id, sec);
	__atomic_add_fetch(&h->ctrl_gen, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&h->admin_up, true, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------- admin thread */

struct aen {
	bool seen, ns_changed, ana_changed;
	uint8_t lid;
};

static __thread struct aen *cur_aen;

static void on_unsolicited(void *ctx, const struct nvme_cqe *cqe)
{
	unsigned type = cqe->dw0 & 7, info = (cqe->dw0 >> 8) & 0xff;

	if (!cur_aen)
		return;
	cur_aen->seen = true;
	cur_aen->lid = (cqe->dw0 >> 16) & 0xff;
	if (cqe->status)
		return; /* e.g. aborted at shutdown */
	if (type == NVME_AER_NOTICE && info == NVME_AER_NOTICE_NS_CHANGED)
		cur_aen->ns_changed = true;
	else if (type == NVME_AER_NOTICE && info == NVME_AER_NOTICE_ANA)
		cur_aen->ana_changed = true;
}

static void admin_down(struct nvme_host *h, const char *why)
{
	if (h->admin.fd < 0)
		return;
	nu_warn("nvme: %s: admin queue lost: %s; re-associating", h->cfg.subnqn, why);
	__atomic_store_n(&h->admin_up, false, __ATOMIC_RELEASE);
	nvme_conn_close(&h->admin);
	nu_path_down(&h->paths[0], "reconnecting");
}

static void rescan_now(struct nvme_host *h)
{
	struct nu_vol *scan = calloc(NU_HOST_MAX_VOLS, sizeof(*scan));
	unsigned n;

	if (!scan)
		return;
	if (scan_namespaces(h, scan, &n, on_unsolicited, NULL)) {
		free(scan);
		admin_down(h, "namespace scan failed");
		return;
	}
	pthread_mutex_lock(&h->lock);
	free(h->scan);
	h->scan = scan;
	h->nr_scan = n;
	pthread_mutex_unlock(&h->lock);
	ev_write(h->event_fd);
}

/* Takes an ANA log page: each group's new state, with what changed logged. */
static void ana_apply(struct nvme_host *h, const uint8_t *log, size_t len)
{
	uint8_t now[NVME_ANA_GROUPS];

	memcpy(now, h->ana_state, sizeof(now));
	if (nvme_parse_ana_log(log, len, now, NVME_ANA_GROUPS) < 0) {
		nu_warn("nvme: %s at %s: malformed ANA log page", h->cfg.subnqn, h->cfg.address);
		return;
	}
	for (unsigned g = 1; g < NVME_ANA_GROUPS; g++) {
		if (now[g] == h->ana_state[g])
			continue;
		if (h->ana_state[g])
			nu_info("nvme: %s at %s: ANA group %u %s -> %s", h->cfg.subnqn,
				h->cfg.address, g, nvme_ana_state_name(h->ana_state[g]),
				nvme_ana_state_name(now[g]));
		else
			nu_info("nvme: %s at %s: ANA group %u is %s", h->cfg.subnqn, h->cfg.address,
				g, nvme_ana_state_name(now[g]));
		__atomic_store_n(&h->ana_state[g], now[g], __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&h->ana_gen, 1, __ATOMIC_RELEASE);
}

/* Reads the ANA log page (RAE: an ANA change event stays armed). */
static void ana_read(struct nvme_host *h, nvme_unsolicited_fn cb)
{
	uint8_t sqe[NVME_SQE_LEN], *log;
	struct nvme_cqe cqe;

	if (!h->ci.has_ana || h->admin.fd < 0 || !(log = malloc(4096)))
		return;
	nvme_build_get_log(sqe, NVME_LOG_LID_ANA, 4096, 0, true);
	if (nvme_conn_exec(&h->admin, sqe, NULL, 0, log, 4096, &cqe, cb, NULL) == 0)
		ana_apply(h, log, 4096);
	else
		nu_warn("nvme: %s at %s: cannot read the ANA log page", h->cfg.subnqn,
			h->cfg.address);
	free(log);
}

static void handle_aen(struct nvme_host *h, struct aen *a)
{
	uint8_t sqe[NVME_SQE_LEN], *log;
	struct nvme_cqe cqe;

	if (!a->seen)
		return;
	a->seen = false;
	/* Reading the log page (without RAE) re-arms the event on the controller. */
	log = malloc(4096);
	if (log && a->lid) {
		nvme_build_get_log(sqe, a->lid, 4096, 0, false);
		if (nvme_conn_exec(&h->admin, sqe, NULL, 0, log, 4096, &cqe, on_unsolicited,
				   NULL) == 0 &&
		    a->lid == NVME_LOG_LID_ANA)
			ana_apply(h, log, 4096);
	}
	free(log);
	if (h->admin.fd >= 0)
		submit_aer(h);
	if (a->ana_changed && a->lid != NVME_LOG_LID_ANA)
		ana_read(h, on_unsolicited);
	if (a->ns_changed) {
		nu_info("nvme: %s: namespaces changed, rescanning", h->cfg.subnqn);
		rescan_now(h);
	}
	a->ns_changed = a->ana_changed = false;
}

static void send_aborts(struct nvme_host *h)
{
	uint8_t sqe[NVME_SQE_LEN];
	struct nvme_cqe cqe;

	pthread_mutex_lock(&h->lock);
	while (h->nr_aborts) {
		uint16_t sqid = h->aborts[h->nr_aborts - 1].sqid, cid = h->aborts[--h->nr_aborts].cid;

		pthread_mutex_unlock(&h->lock);
		nvme_build_abort(sqe, sqid, cid);
		if (nvme_conn_exec(&h->admin, sqe, NULL, 0, NULL, 0, &cqe, on_unsolicited, NULL) == 0)
			nu_info("nvme: %s: Abort of queue %u command 0x%x: %s", h->cfg.subnqn, sqid,
				cid, cqe.dw0 & 1 ? "not aborted" : "aborted");
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
}

static void *admin_thread(void *arg)
{
	struct nvme_host *h = arg;
	struct aen a = { 0 };
	unsigned ka_ms = h->cfg.kato_s * 500;
	uint64_t next_ka = nu_now_ns() + ka_ms * 1000000ull, next_try = 0;
	unsigned delay_ms = 0;

	cur_aen = &a;
	if (ka_ms < 100)
		ka_ms = 100;
	submit_aer(h);
	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		uint64_t now = nu_now_ns();
		struct pollfd pfd[2] = { { .fd = h->wake_fd, .events = POLLIN },
					 { .fd = h->admin.fd, .events = POLLIN } };
		int timeout;
		bool reset, scan, ana;

		if (h->admin.fd < 0) {
			char err[256];

			if (now >= next_try) {
				if (associate(h, h->nr_queues, false, err, sizeof(err)) == 0) {
					nu_info("nvme: %s: controller %u associated again",
						h->cfg.subnqn, h->cntlid);
					publish_association(h);
					submit_aer(h);
					delay_ms = 0;
					next_ka = now + ka_ms * 1000000ull;
					ana_read(h, on_unsolicited);
					rescan_now(h);
					continue;
				}
				nu_warn("nvme: %s: %s", h->cfg.subnqn, err);
				delay_ms = delay_ms ? delay_ms * 2 : 250;
				if (delay_ms > h->cfg.reconnect_delay_s * 1000)
					delay_ms = h->cfg.reconnect_delay_s * 1000;
				next_try = now + delay_ms * 1000000ull;
			}
			timeout = (int)((next_try - now) / 1000000) + 1;
		} else {
			timeout = next_ka > now ? (int)((next_ka - now) / 1000000) + 1 : 0;
		}
		if (poll(pfd, h->admin.fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			uint64_t v;

			if (read(h->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				nu_warn("nvme: wake read: %s", strerror(errno));
		}
		pthread_mutex_lock(&h->lock);
		reset = h->reset_wanted;
		scan = h->scan_wanted;
		ana = h->ana_wanted;
		h->reset_wanted = h->scan_wanted = h->ana_wanted = false;
		pthread_mutex_unlock(&h->lock);
		if (reset) {
			admin_down(h, "an I/O queue asked for a controller reset");
			next_try = 0;
			continue;
		}
		if (h->admin.fd < 0)
			continue;
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			struct nvme_cqe cqe;
			int ret = nvme_conn_wait(&h->admin, NVME_CID_NONE, NULL, 0, &cqe,
						 h->admin.timeout_ms, on_unsolicited, NULL);

			if (ret && ret != -EAGAIN) {
				admin_down(h, ret == -EPROTO ? "protocol error" : strerror(-ret));
				continue;
			}
		}
		send_aborts(h);
		if (scan)
			rescan_now(h);
		if (ana)
			ana_read(h, on_unsolicited);
		handle_aen(h, &a);
		if (h->admin.fd >= 0 && nu_now_ns() >= next_ka) {
			uint8_t sqe[NVME_SQE_LEN];
			struct nvme_cqe cqe;
			int ret;

			nvme_build_keep_alive(sqe);
			ret = nvme_conn_exec(&h->admin, sqe, NULL, 0, NULL, 0, &cqe, on_unsolicited,
					     NULL);
			if (ret)
				admin_down(h, ret == -ETIMEDOUT ? "keep-alive not answered within KATO" :
						  ret == -EIO ? "keep-alive refused" : strerror(-ret));
			next_ka = nu_now_ns() + ka_ms * 1000000ull;
			handle_aen(h, &a);
		}
	}
	return NULL;
}

void nvme_host_request_abort(struct nvme_host *h, uint16_t sqid, uint16_t cid)
{
	pthread_mutex_lock(&h->lock);
	if (h->nr_aborts < 64) {
		h->aborts[h->nr_aborts].sqid = sqid;
		h->aborts[h->nr_aborts++].cid = cid;
	}
	pthread_mutex_unlock(&h->lock);
	ev_write(h->wake_fd);
}

void nvme_host_request_ana(struct nvme_host *h)
{
	pthread_mutex_lock(&h->lock);
	h->ana_wanted = true;
	pthread_mutex_unlock(&h->lock);
	ev_write(h->wake_fd);
}

void nvme_host_request_reset(struct nvme_host *h, const char *why)
{
	nu_warn("nvme: %s: controller reset: %s", h->cfg.subnqn, why);
	pthread_mutex_lock(&h->lock);
	h->reset_wanted = true;
	pthread_mutex_unlock(&h->lock);
	ev_write(h->wake_fd);
}

/* ---------------------------------------------------------------- host */

static void stop_thread(struct nvme_host *h)
{
	if (!h->thread_running)
		return;
	__atomic_store_n(&h->stop, true, __ATOMIC_RELEASE);
	ev_write(h->wake_fd);
	pthread_join(h->thread, NULL);
	h->thread_running = false;
}

static void host_free(struct nvme_host *h)
{
	stop_thread(h);
	nvme_conn_close(&h->admin);
	if (h->event_fd >= 0)
		close(h->event_fd);
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	pthread_mutex_destroy(&h->lock);
	for (unsigned i = 0; i <= h->nr_queues && i < NU_MAX_PATHS; i++)
		nu_path_destroy(&h->paths[i]);
	free(h->scan);
	explicit_bzero(&h->ids, sizeof(h->ids)); /* the DH-HMAC-CHAP keys */
	free(h);
}

int nvme_host_create(const struct nvme_target_config *cfg, unsigned nr_queues,
		     struct nvme_host **out)
{
	struct nvme_host *h = calloc(1, sizeof(*h));
	char err[256];
	int ret;

	if (!h)
		return -ENOMEM;
	h->cfg = *cfg;
	h->nr_queues = nr_queues;
	/*
	 * kTLS refuses MSG_WAITALL on sends (EOPNOTSUPP, Linux 7.2), which the
	 * linked zero-copy send chain needs so that a short send stops it:
	 * TLS moves payloads in copy mode.
	 */
	h->zero_copy = nu_stream_zero_copy(cfg->zero_copy,
					   cfg->data_digest ? NU_COPY_FOR_DIGEST :
					   cfg->tls != NVME_TLS_OFF ?
							      "TLS: kTLS takes no linked zero-copy sends" :
							      NULL,
					   cfg->subnqn);
	h->admin.fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	for (unsigned i = 0; i <= nr_queues && i < NU_MAX_PATHS; i++)
		nu_path_init(&h->paths[i], (int)i - 1, i ? "io" : "admin");
	h->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->event_fd < 0 || h->wake_fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = nvme_host_ids_load(cfg, &h->ids, err, sizeof(err));
	if (!ret)
		ret = associate(h, nr_queues, true, err, sizeof(err));
	if (ret) {
		nu_err("nvme: %s at %s: %s", cfg->subnqn, cfg->address, err);
		goto fail;
	}
	nu_voltab_init(&h->vols, h->cfg.subnqn, "namespace");
	h->scan = calloc(NU_HOST_MAX_VOLS, sizeof(*h->scan));
	ret = h->scan ? scan_namespaces(h, h->scan, &h->nr_scan, NULL, NULL) : -ENOMEM;
	if (ret) {
		nu_err("nvme: %s: listing namespaces failed: %s", cfg->subnqn, strerror(-ret));
		goto fail;
	}
	if (!h->nr_scan) {
		nu_err("nvme: %s at %s has no usable namespaces", cfg->subnqn, cfg->address);
		ret = -ENOENT;
		goto fail;
	}
	for (unsigned i = 0; i < h->nr_scan; i++)
		nu_info("nvme: %s namespace %u: %llu bytes, %u/%u-byte blocks, %s%s", cfg->subnqn,
			h->scan[i].id, (unsigned long long)h->scan[i].geom.size,
			h->scan[i].geom.lbs, h->scan[i].geom.pbs,
			h->scan[i].geom.read_only ? "read-only, " : "", h->scan[i].wwid);
	host_rescan(h, &(struct nu_rescan){});
	ana_read(h, NULL);
	publish_association(h);
	ret = pthread_create(&h->thread, NULL, admin_thread, h);
	if (ret) {
		ret = -ret;
		goto fail;
	}
	h->thread_running = true;
	*out = h;
	return 0;
fail:
	host_free(h);
	return ret;
}

static void host_destroy(void *t)
{
	struct nvme_host *h = t;

	if (!h)
		return;
	/* The thread stops first: then the admin queue is ours to disconnect. */
	stop_thread(h);
	if (h->admin.fd >= 0) {
		/* Normal shutdown (CC.SHN) so the controller flushes its cache, then close. */
		uint8_t sqe[NVME_SQE_LEN];
		struct nvme_cqe cqe;

		nvme_build_prop_set(sqe, NVME_REG_CC, NVME_CC_ENABLED | NVME_CC_SHN_NORMAL);
		nvme_conn_exec(&h->admin, sqe, NULL, 0, NULL, 0, &cqe, on_unsolicited, NULL);
	}
	host_free(h);
}

static unsigned host_nr_vols(const void *t)
{
	return nu_voltab_nr(&((const struct nvme_host *)t)->vols);
}

static bool host_vol(const void *t, unsigned i, struct nu_vol_desc *d)
{
	return nu_voltab_desc(&((const struct nvme_host *)t)->vols, i, d);
}

static const char *host_vol_access(const void *t, unsigned vol)
{
	const struct nvme_host *h = t;
	const struct nu_vol *v = nu_voltab_live(&h->vols, vol);

	if (!v || !v->group || v->group >= NVME_ANA_GROUPS)
		return NULL;
	return nvme_ana_state_name(__atomic_load_n(&h->ana_state[v->group], __ATOMIC_RELAXED));
}

static int host_event_fd(const void *t)
{
	return ((const struct nvme_host *)t)->event_fd;
}

/* Applies the admin thread's latest namespace list to the volume table. */
static int host_rescan(void *t, struct nu_rescan *r)
{
	struct nvme_host *h = t;
	uint64_t drain;

	memset(r, 0, sizeof(*r));
	if (read(h->event_fd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
		nu_warn("nvme: event read: %s", strerror(errno));
	pthread_mutex_lock(&h->lock);
	if (h->scan)
		nu_voltab_update(&h->vols, h->scan, h->nr_scan, r);
	free(h->scan);
	h->scan = NULL;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static void host_request_rescan(void *t)
{
	struct nvme_host *h = t;

	pthread_mutex_lock(&h->lock);
	h->scan_wanted = true;
	pthread_mutex_unlock(&h->lock);
	ev_write(h->wake_fd);
}

static unsigned host_paths(const void *t, unsigned nr_queues, struct nu_path_info *out,
			   unsigned max)
{
	struct nvme_host *h = (struct nvme_host *)t;
	unsigned n = 0;

	/* The admin queue, then an I/O queue per host queue. */
	for (unsigned i = 0; i <= nr_queues && i <= h->nr_queues && i < NU_MAX_PATHS && n < max; i++)
		nu_path_get(&h->paths[i], &out[n++]);
	return n;
}

/* New keys (DH-HMAC-CHAP, TLS): the next association and I/O queue connects use them. */
static int host_rekey(void *t, const void *cfg)
{
	const struct nvme_target_config *c = cfg;
	struct nvme_host *h = t;
	struct nvme_host_ids ids;
	char err[256];

	/* The caller checked that nothing else changed (h->cfg has the data mode in too). */
	if (nvme_host_ids_load(c, &ids, err, sizeof(err))) {
		nu_err("nvme: %s: %s", h->cfg.subnqn, err);
		return -EINVAL;
	}
	pthread_mutex_lock(&h->lock);
	nvme_config_copy_auth(&h->cfg, c);
	h->ids = ids;
	pthread_mutex_unlock(&h->lock);
	explicit_bzero(&ids, sizeof(ids));
	nvme_host_request_reset(h, "keys changed: authenticating again");
	return 0;
}

void nvme_host_security(struct nvme_host *h, const struct nvme_conn *c, char *out, size_t len)
{
	char auth[80] = "";

	if (c->auth.done) {
		nvme_auth_describe(&c->auth, auth, sizeof(auth));
	} else {
		pthread_mutex_lock(&h->lock);
		if (h->assoc_auth[0] && c != &h->admin)
			snprintf(auth, sizeof(auth), "association: %s", h->assoc_auth);
		pthread_mutex_unlock(&h->lock);
	}
	snprintf(out, len, "%s%s%s", c->tls, c->tls[0] && auth[0] ? ", " : "", auth);
}

void nvme_host_ids_get(struct nvme_host *h, struct nvme_host_ids *ids)
{
	pthread_mutex_lock(&h->lock);
	*ids = h->ids;
	pthread_mutex_unlock(&h->lock);
}

const struct nu_target_ops nu_nvme_target = {
	.kind = "nvme",
	.vol_word = "ns",
	.transport = &nu_nvme_transport,
	.nr_vols = host_nr_vols,
	.vol = host_vol,
	.event_fd = host_event_fd,
	.rescan = host_rescan,
	.vol_access = host_vol_access,
	.paths = host_paths,
	.request_rescan = host_request_rescan,
	.rekey = host_rekey,
	.destroy = host_destroy,
};

/* ---------------------------------------------------------------- discovery */

int nvme_discovery_log(const struct nvme_target_config *cfg, struct nvme_disc_entry *out,
		       unsigned max, unsigned *n, char *err, unsigned err_len)
{
	struct nvme_target_config dc = *cfg;
	struct nvme_host_ids ids;
	struct nvme_conn c;
	uint8_t sqe[NVME_SQE_LEN], *buf = NULL;
	struct nvme_cqe cqe;
	uint64_t cap, numrec = 0;
	uint16_t cntlid;
	size_t len;
	int ret;

	*n = 0;
	if (!dc.subnqn[0] || dc.discover_all)
		snprintf(dc.subnqn, sizeof(dc.subnqn), "%s", NVME_DISCOVERY_NQN);
	ret = nvme_host_ids_load(&dc, &ids, err, err_len);
	if (ret)
		return ret;
	ret = nvme_conn_open(&c, &dc, &ids, 5000, err, err_len);
	if (ret) {
		explicit_bzero(&ids, sizeof(ids));
		return ret;
	}
	ret = nvme_conn_connect(&c, 0, 0, 0, &ids, dc.subnqn, &cntlid, err, err_len);
	if (!ret)
		ret = nvme_conn_enable(&c, &cap, err, err_len);
	if (ret)
		goto out;
	/* The header first (record count), then all of it. */
	len = 1024;
	for (int round = 0; round < 2; round++) {
		free(buf);
		buf = calloc(1, len);
		if (!buf) {
			ret = -ENOMEM;
			goto out;
		}
		nvme_build_get_log(sqe, NVME_LOG_LID_DISCOVER, len, 0, false);
		ret = nvme_conn_exec(&c, sqe, NULL, 0, buf, len, &cqe, NULL, NULL);
		if (ret) {
			snprintf(err, err_len, "discovery log page: %s", strerror(-ret));
			goto out;
		}
		numrec = le64toh(((struct nvmf_discovery_log *)buf)->numrec);
		if (numrec > 1024) {
			snprintf(err, err_len, "discovery log claims %llu records",
				 (unsigned long long)numrec);
			ret = -EPROTO;
			goto out;
		}
		if (len >= 1024 + numrec * 1024)
			break;
		len = 1024 + numrec * 1024;
	}
	*n = nvme_parse_disc_log(buf, len, out, max);
out:
	free(buf);
	nvme_conn_close(&c);
	explicit_bzero(&ids, sizeof(ids));
	return ret;
}

int nvme_discover(const struct nvme_target_config *cfg, FILE *out, char *err, unsigned err_len)
{
	struct nvme_disc_entry *e = calloc(256, sizeof(*e));
	unsigned n;
	int ret;

	if (!e)
		return -ENOMEM;
	ret = nvme_discovery_log(cfg, e, 256, &n, err, err_len);
	for (unsigned i = 0; !ret && i < n; i++)
		fprintf(out, "%s %s %s%s%s\n", e[i].tcp ? "tcp" : "other", e[i].address, e[i].subnqn,
			e[i].discovery ? " (discovery)" : "",
			e[i].tls_required ? " (TLS required)" : e[i].tls ? " (TLS offered)" : "");
	free(e);
	return ret ? ret : (int)n;
}
