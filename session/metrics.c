// SPDX-License-Identifier: MIT
/* Prometheus text exposition (see metrics.h). */
#include <stdarg.h>
#include <string.h>

#include "metrics.h"

void nu_metrics_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Backslash, double quote and newline are the characters a label value escapes. */
static size_t escape(char *dst, size_t room, const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		const char *e = *s == '\\'   ? "\\\\"
				: *s == '"'  ? "\\\""
				: *s == '\n' ? "\\n"
					     : NULL;
		size_t k = e ? 2 : 1;

		if (n + k >= room)
			return room;
		memcpy(dst + n, e ? e : s, k);
		n += k;
	}
	dst[n] = '\0';
	return n;
}

const char *nu_metrics_labels(char *buf, size_t len, ...)
{
	size_t n = 0;
	const char *k;
	va_list ap;

	buf[0] = '\0';
	va_start(ap, len);
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		int w = snprintf(buf + n, len - n, "%s%s=\"", n ? "," : "", k);

		if (w < 0 || (size_t)w >= len - n)
			goto full;
		n += w;
		w = (int)escape(buf + n, len - n, v ? v : "");
		if ((size_t)w >= len - n || n + w + 2 > len)
			goto full;
		n += w;
		buf[n++] = '"';
		buf[n] = '\0';
	}
	va_end(ap);
	return buf;
full:
	va_end(ap);
	buf[0] = '\0';
	return buf;
}

void nu_metrics_sample(FILE *out, const char *name, const char *labels, uint64_t value)
{
	fprintf(out, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
}

void nu_metrics_histogram(FILE *out, const char *name, const char *labels, const uint64_t *counts,
			  unsigned n, uint32_t (*bound_us)(unsigned), uint64_t sum_ns)
{
	uint64_t cum = 0;

	for (unsigned i = 0; i < n; i++) {
		char le[32];

		cum += counts[i];
		if (i + 1 < n)
			snprintf(le, sizeof(le), "%g", bound_us(i) / 1e6);
		else
			snprintf(le, sizeof(le), "+Inf");
		fprintf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, labels[0] ? "," : "",
			le, (unsigned long long)cum);
	}
	fprintf(out, "%s_sum{%s} %.9f\n", name, labels, sum_ns / 1e9);
	fprintf(out, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
}
