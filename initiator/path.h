/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_PATH_H
#define NETUBLK_PATH_H

/*
 * One connection of a host as status shows it: an iSCSI session, an NVMe
 * admin or I/O queue. The queue (or admin) thread that owns the socket
 * updates it; the control thread reads a snapshot.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define NU_MAX_PATHS 65 /* 64 queues, and an NVMe admin queue */
#define NU_PATH_SECURITY_LEN 128

struct nu_path_info {
	int queue;	    /* host queue, -1 for an admin queue */
	const char *role;   /* "session", "admin", "io" */
	const char *state;  /* "up", "reconnecting", "failed", "closed" */
	char local[64];	    /* addr:port of our end, "" when down */
	char remote[64];    /* addr:port of the target's */
	char id[48];	    /* ISID/TSIH, controller ID and queue ID */
	char security[NU_PATH_SECURITY_LEN]; /* how it is authenticated and encrypted, "" for not */
	uint64_t reconnects; /* times it came back after a loss */
	uint64_t ios, bytes, errors; /* commands completed on it */
	int mpath;		     /* multipath: the path's index; -1 for none */
};

struct nu_path {
	pthread_mutex_t lock;
	struct nu_path_info info;
	unsigned ups;
	uint64_t ios, bytes, errors; /* bumped by the queue thread without the lock */
};

void nu_path_init(struct nu_path *p, int queue, const char *role);
void nu_path_destroy(struct nu_path *p);
/* Connected on fd; id says which session or queue it is, security how it is secured (or NULL). */
void nu_path_up(struct nu_path *p, int fd, const char *id, const char *security);
/* state is a string literal: "reconnecting", "failed", "closed". */
void nu_path_down(struct nu_path *p, const char *state);
void nu_path_get(struct nu_path *p, struct nu_path_info *out);
/* A command of len bytes completed on it with res. */
static inline void nu_path_count(struct nu_path *p, uint32_t len, int res)
{
	if (res < 0) {
		__atomic_fetch_add(&p->errors, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&p->ios, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&p->bytes, len, __ATOMIC_RELAXED);
}
/* Where it is (or was last) connected, for log lines. */
void nu_path_remote(struct nu_path *p, char *buf, size_t len);

/* "a.b.c.d:port" or "[v6]:port" of a socket address. */
void nu_sockaddr_format(const void *sa, char *buf, size_t len);

#endif
