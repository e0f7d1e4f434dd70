// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

int iscsi_text_parse(char *buf, size_t len, struct iscsi_kv *kv, unsigned max)
{
	size_t pos = 0;
	int n = 0;

	buf[len] = '\0';
	while (pos < len) {
		char *pair = buf + pos, *eq;
		size_t plen = strlen(pair);

		pos += plen + 1;
		if (!plen)
			continue; /* padding NULs */
		eq = strchr(pair, '=');
		if (!eq || eq == pair || eq - pair > ISCSI_KEY_MAX || (unsigned)n >= max)
			return -EPROTO;
		*eq = '\0';
		kv[n].key = pair;
		kv[n].val = eq + 1;
		n++;
	}
	return n;
}

const char *iscsi_text_get(const struct iscsi_kv *kv, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].val;
	return NULL;
}

int iscsi_text_add(char *buf, size_t cap, size_t *len, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	if (*len >= cap)
		return -ENOSPC;
	n = snprintf(buf + *len, cap - *len, "%s=", key);
	if (n < 0 || (size_t)n >= cap - *len)
		return -ENOSPC;
	va_start(ap, fmt);
	m = vsnprintf(buf + *len + n, cap - *len - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= cap - *len)
		return -ENOSPC;
	*len += n + m + 1; /* keep the NUL */
	return 0;
}
