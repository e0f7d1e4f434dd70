// SPDX-License-Identifier: MIT
/*
 * Leveled logging to stderr (one fprintf per line so threads do not
 * interleave) and, when asked, to syslog as well.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static enum nu_log_level log_level = NU_LOG_INFO;
static bool to_syslog;
static bool with_time;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void nu_log_set_level(enum nu_log_level level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum nu_log_level nu_log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

void nu_log_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = true;
}

void nu_log_time(bool on)
{
	with_time = on;
}

int nu_log_level_parse(const char *name, enum nu_log_level *level)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(name, level_names[i])) {
			*level = i;
			return 0;
		}
	}
	return -EINVAL;
}

void nu_log(enum nu_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, tag;

	if (level > nu_log_get_level())
		return;
	if (with_time) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		n = snprintf(line, sizeof(line), "[%5lld.%03ld] ", (long long)ts.tv_sec,
			     ts.tv_nsec / 1000000);
	} else {
		n = 0;
	}
	tag = n;
	n += snprintf(line + n, sizeof(line) - n, "netublk: %s: ", level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
	if (to_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

		syslog(prio[level], "%s", line + tag + strlen("netublk: "));
	}
}
