// SPDX-License-Identifier: MIT
/*
 * rtnetlink watch (see netmon.h). The event thread only learns that
 * something changed; each subscriber then asks nu_netmon_usable() about
 * its own connections, so a state is never kept here that could go stale.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "netmon.h"
#include "log.h"

#define NETMON_MAX_SUBS 256
/* Events come in bursts (a link, then its routes): gather one before telling. */
#define NETMON_SETTLE_MS 5

struct netmon_sub {
	nu_netmon_fn fn;
	void *ctx;
};

static struct {
	pthread_mutex_t life; /* starting and stopping the thread */
	pthread_mutex_t lock; /* subscribers; held while they are called */
	struct netmon_sub subs[NETMON_MAX_SUBS];
	unsigned nr;
	struct nl_sock *sk;
	int stop_fd;
	pthread_t thread;
	bool running;
} nm = {.life = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER, .stop_fd = -1};

static int count_msg(struct nl_msg *msg, void *arg)
{
	(void)msg;
	++*(unsigned *)arg;
	return NL_OK;
}

/* Reads what is queued (the callback counts it); -1 if some was lost (overrun). */
static int drain_events(void)
{
	int ret;

	do
		ret = nl_recvmsgs_default(nm.sk);
	while (ret >= 0);
	if (ret == -NLE_AGAIN)
		return 0;
	if (ret == -NLE_NOMEM || ret == -NLE_MSG_OVERFLOW)
		return -1; /* the kernel dropped events: treat as a change */
	nu_warn("netmon: reading rtnetlink: %s", nl_geterror(ret));
	return -1;
}

static void tell_subscribers(void)
{
	pthread_mutex_lock(&nm.lock);
	for (unsigned i = 0; i < nm.nr; i++)
		nm.subs[i].fn(nm.subs[i].ctx);
	pthread_mutex_unlock(&nm.lock);
}

static void *netmon_main(void *arg)
{
	struct pollfd pfd[2] = {
		{.fd = nl_socket_get_fd(nm.sk), .events = POLLIN},
		{.fd = nm.stop_fd, .events = POLLIN},
	};
	unsigned n = 0;

	(void)arg;
	nl_socket_modify_cb(nm.sk, NL_CB_VALID, NL_CB_CUSTOM, count_msg, &n);
	for (;;) {
		bool lost;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		n = 0;
		lost = drain_events() < 0;
		usleep(NETMON_SETTLE_MS * 1000);
		lost |= drain_events() < 0;
		if (n || lost) {
			nu_dbg("netmon: %u rtnetlink event(s)%s", n, lost ? ", some lost" : "");
			tell_subscribers();
		}
	}
	return NULL;
}

static int netmon_start(void)
{
	int ret;

	nm.sk = nl_socket_alloc();
	if (!nm.sk)
		return -ENOMEM;
	nl_socket_disable_seq_check(nm.sk);
	ret = nl_connect(nm.sk, NETLINK_ROUTE);
	if (!ret)
		ret = nl_socket_add_memberships(nm.sk, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
						RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
						RTNLGRP_IPV6_ROUTE, 0);
	if (!ret)
		ret = nl_socket_set_nonblocking(nm.sk);
	if (ret) {
		nu_warn("netmon: no rtnetlink (%s): paths are watched by timeouts only",
			nl_geterror(ret));
		nl_socket_free(nm.sk);
		nm.sk = NULL;
		return -EIO;
	}
	nl_socket_set_buffer_size(nm.sk, 1 << 20, 0);
	nm.stop_fd = eventfd(0, EFD_CLOEXEC);
	ret = nm.stop_fd < 0 ? errno : pthread_create(&nm.thread, NULL, netmon_main, NULL);
	if (ret) {
		if (nm.stop_fd >= 0)
			close(nm.stop_fd);
		nm.stop_fd = -1;
		nl_socket_free(nm.sk);
		nm.sk = NULL;
		return -ret;
	}
	nm.running = true;
	nu_info("netmon: watching links, addresses and routes (rtnetlink)");
	return 0;
}

static void netmon_stop(void)
{
	uint64_t one = 1;

	if (!nm.running)
		return;
	if (write(nm.stop_fd, &one, sizeof(one)) != sizeof(one))
		nu_warn("netmon: stop: %s", strerror(errno));
	pthread_join(nm.thread, NULL);
	close(nm.stop_fd);
	nm.stop_fd = -1;
	nl_socket_free(nm.sk);
	nm.sk = NULL;
	nm.running = false;
}

int nu_netmon_subscribe(nu_netmon_fn fn, void *ctx)
{
	int ret = 0;

	pthread_mutex_lock(&nm.life);
	if (nm.nr == NETMON_MAX_SUBS)
		ret = -ENOSPC;
	else if (!nm.running)
		ret = netmon_start();
	if (!ret) {
		pthread_mutex_lock(&nm.lock);
		nm.subs[nm.nr++] = (struct netmon_sub){fn, ctx};
		pthread_mutex_unlock(&nm.lock);
	}
	pthread_mutex_unlock(&nm.life);
	return ret;
}

void nu_netmon_unsubscribe(nu_netmon_fn fn, void *ctx)
{
	pthread_mutex_lock(&nm.life);
	pthread_mutex_lock(&nm.lock);
	for (unsigned i = 0; i < nm.nr; i++) {
		if (nm.subs[i].fn == fn && nm.subs[i].ctx == ctx) {
			nm.subs[i] = nm.subs[--nm.nr];
			break;
		}
	}
	pthread_mutex_unlock(&nm.lock);
	/* Not under lock: the thread may be waiting for it to tell the others. */
	if (!nm.nr)
		netmon_stop();
	pthread_mutex_unlock(&nm.life);
}

/* ---------------------------------------------------------------- checks */

/* The address bytes of a socket address (v4-mapped v6 as v4); their length, or 0. */
static size_t addr_bytes(const struct sockaddr_storage *ss, int *family, uint8_t *out)
{
	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		*family = AF_INET;
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, &a->s6_addr[12], 4);
			*family = AF_INET;
			return 4;
		}
		memcpy(out, a, 16);
		*family = AF_INET6;
		return 16;
	}
	return 0;
}

/* The interface holding the address, 0 if none does, -errno if unknown. */
static int addr_ifindex(struct nl_sock *sk, struct nl_addr *local)
{
	struct nl_cache *cache;
	struct nl_object *o;
	int ifindex = 0;

	if (rtnl_addr_alloc_cache(sk, &cache) < 0)
		return -EIO;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *l = rtnl_addr_get_local(a);

		if (l && nl_addr_get_family(l) == nl_addr_get_family(local) &&
		    nl_addr_get_len(l) == nl_addr_get_len(local) &&
		    !memcmp(nl_addr_get_binary_addr(l), nl_addr_get_binary_addr(local),
			    nl_addr_get_len(local))) {
			ifindex = rtnl_addr_get_ifindex(a);
			break;
		}
	}
	nl_cache_free(cache);
	return ifindex;
}

/* 1 if interface ifindex is up with carrier; 0 and why if not; -errno. */
static int link_usable(struct nl_sock *sk, int ifindex, char *why, size_t len)
{
	struct rtnl_link *link;
	char name[IFNAMSIZ] = "?";
	unsigned flags;

	if (rtnl_link_get_kernel(sk, ifindex, NULL, &link) < 0) {
		snprintf(why, len, "interface %d is gone", ifindex);
		return 0;
	}
	flags = rtnl_link_get_flags(link);
	if (rtnl_link_get_name(link))
		snprintf(name, sizeof(name), "%s", rtnl_link_get_name(link));
	rtnl_link_put(link);
	if (!(flags & IFF_UP)) {
		snprintf(why, len, "%s is down", name);
		return 0;
	}
	if (!(flags & IFF_LOWER_UP)) {
		snprintf(why, len, "carrier lost on %s", name);
		return 0;
	}
	return 1;
}

int nu_netmon_usable(const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
		     char *why, size_t len)
{
	uint8_t lb[16], rb[16];
	int lfam = 0, rfam = 0, ret, lif, oif = 0;
	size_t llen = addr_bytes(local, &lfam, lb), rlen = addr_bytes(remote, &rfam, rb);
	struct nl_addr *la = NULL, *ra = NULL;
	struct rtnl_route *route = NULL;
	char text[INET6_ADDRSTRLEN];
	struct nl_sock *sk;

	if (!llen || !rlen || lfam != rfam)
		return -EAFNOSUPPORT;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	ret = -EIO;
	if (nl_connect(sk, NETLINK_ROUTE) < 0)
		goto out;
	la = nl_addr_build(lfam, lb, llen);
	ra = nl_addr_build(rfam, rb, rlen);
	if (!la || !ra)
		goto out;
	lif = addr_ifindex(sk, la);
	if (lif < 0)
		goto out;
	if (!lif) {
		snprintf(why, len, "address %s is gone", inet_ntop(lfam, lb, text, sizeof(text)));
		ret = 0;
		goto out;
	}
	if (rtnl_route_lookup(sk, ra, &route) < 0) {
		snprintf(why, len, "no route to %s", inet_ntop(rfam, rb, text, sizeof(text)));
		ret = 0;
		goto out;
	}
	if (rtnl_route_get_nnexthops(route) > 0)
		oif = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0));
	ret = link_usable(sk, lif, why, len);
	if (ret == 1 && oif > 0 && oif != lif)
		ret = link_usable(sk, oif, why, len);
out:
	if (route)
		rtnl_route_put(route);
	nl_addr_put(la);
	nl_addr_put(ra);
	nl_socket_free(sk);
	return ret;
}
