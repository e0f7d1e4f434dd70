// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "path.h"

void nu_path_init(struct nu_path *p, int queue, const char *role)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->info.queue = queue;
	p->info.role = role;
	p->info.state = "connecting";
	p->info.mpath = -1;
}

void nu_path_destroy(struct nu_path *p)
{
	pthread_mutex_destroy(&p->lock);
}

void nu_sockaddr_format(const void *sa, char *buf, size_t len)
{
	const struct sockaddr_storage *ss = sa;
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

void nu_path_up(struct nu_path *p, int fd, const char *id, const char *security)
{
	struct sockaddr_storage local = { 0 }, remote = { 0 };
	socklen_t ll = sizeof(local), rl = sizeof(remote);

	getsockname(fd, (struct sockaddr *)&local, &ll);
	getpeername(fd, (struct sockaddr *)&remote, &rl);
	pthread_mutex_lock(&p->lock);
	nu_sockaddr_format(&local, p->info.local, sizeof(p->info.local));
	nu_sockaddr_format(&remote, p->info.remote, sizeof(p->info.remote));
	snprintf(p->info.id, sizeof(p->info.id), "%s", id);
	snprintf(p->info.security, sizeof(p->info.security), "%s", security ? security : "");
	p->info.state = "up";
	if (p->ups++)
		p->info.reconnects++;
	pthread_mutex_unlock(&p->lock);
}

void nu_path_down(struct nu_path *p, const char *state)
{
	pthread_mutex_lock(&p->lock);
	p->info.state = state;
	p->info.local[0] = '\0';
	pthread_mutex_unlock(&p->lock);
}

void nu_path_remote(struct nu_path *p, char *buf, size_t len)
{
	pthread_mutex_lock(&p->lock);
	snprintf(buf, len, "%s", p->info.remote);
	pthread_mutex_unlock(&p->lock);
}

void nu_path_get(struct nu_path *p, struct nu_path_info *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->info;
	pthread_mutex_unlock(&p->lock);
	out->ios = __atomic_load_n(&p->ios, __ATOMIC_RELAXED);
	out->bytes = __atomic_load_n(&p->bytes, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&p->errors, __ATOMIC_RELAXED);
}
