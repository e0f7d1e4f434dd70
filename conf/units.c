// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"
#include "ublk_dev.h" /* enum ublk_queue_placement */

int nu_parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "kmgtp";
	unsigned long long v;
	const char *p;
	char *end;
	unsigned shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		p = strchr(suffixes, tolower((unsigned char)*end));
		if (!p)
			return -EINVAL;
		shift = 10 * (unsigned)(p - suffixes + 1);
		end++;
		if (!strcasecmp(end, "ib") || !strcasecmp(end, "b"))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int nu_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int nu_parse_bool(const char *s, bool *out)
{
	static const char *const words[][2] = {
		{"no", "yes"},
		{"off", "on"},
		{"false", "true"},
		{"0", "1"},
	};
	unsigned i, v;

	for (i = 0; s && i < sizeof(words) / sizeof(words[0]); i++)
		for (v = 0; v < 2; v++)
			if (!strcasecmp(s, words[i][v])) {
				*out = v;
				return 0;
			}
	return -EINVAL;
}

int nu_parse_auto_bool(const char *s, enum nu_auto_bool *out)
{
	bool on;

	if (s && !strcasecmp(s, "auto")) {
		*out = NU_AUTO;
		return 0;
	}
	if (nu_parse_bool(s, &on))
		return -EINVAL;
	*out = on ? NU_ON : NU_OFF;
	return 0;
}

int nu_parse_queue_placement(const char *s)
{
	static const char *const names[] = {
		[UBLK_QUEUE_ANY] = "any",
		[UBLK_QUEUE_BLK_MQ] = "blk-mq",
		[UBLK_QUEUE_APART] = "apart",
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (s && !strcmp(s, names[i]))
			return i;
	return -EINVAL;
}
