/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_LOG_H
#define NETUBLK_LOG_H

enum nu_log_level {
	NU_LOG_OFF = -1, /* nothing at all (fuzz targets, which are hostile by design) */
	NU_LOG_ERR,
	NU_LOG_WARN,
	NU_LOG_INFO,
	NU_LOG_DEBUG,
};

#include <stdbool.h>

void nu_log_set_level(enum nu_log_level level);
/* Lines to stderr start with the monotonic clock's seconds (to time failovers). */
void nu_log_time(bool on);
/* Every line also goes to syslog (facility daemon) under ident. */
void nu_log_syslog(const char *ident);
enum nu_log_level nu_log_get_level(void);
int nu_log_level_parse(const char *name, enum nu_log_level *level);
void nu_log(enum nu_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define nu_err(...)  nu_log(NU_LOG_ERR, __VA_ARGS__)
#define nu_warn(...) nu_log(NU_LOG_WARN, __VA_ARGS__)
#define nu_info(...) nu_log(NU_LOG_INFO, __VA_ARGS__)
#define nu_dbg(...)                                                                                \
	do {                                                                                       \
		if (nu_log_get_level() >= NU_LOG_DEBUG)                                            \
			nu_log(NU_LOG_DEBUG, __VA_ARGS__);                                         \
	} while (0)

#endif
