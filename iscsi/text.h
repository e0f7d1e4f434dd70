/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_ISCSI_TEXT_H
#define NETUBLK_ISCSI_TEXT_H

#include <stddef.h>

/* Login and Text key=value pairs: NUL-separated, RFC 7143 section 6. */
struct iscsi_kv {
	const char *key;
	const char *val;
};

#define ISCSI_KEY_MAX 63
#define ISCSI_TEXT_MAX_PAIRS 64

/*
 * Splits buf[0..len) in place into pairs. buf must have room for one more
 * byte (a terminator is written at buf[len]). Returns the number of pairs
 * or -EPROTO for a pair without '=', an empty or overlong key, or too many.
 */
int iscsi_text_parse(char *buf, size_t len, struct iscsi_kv *kv, unsigned max);
const char *iscsi_text_get(const struct iscsi_kv *kv, int n, const char *key);

/* Appends key=value and a NUL; -ENOSPC if it does not fit in cap. */
int iscsi_text_add(char *buf, size_t cap, size_t *len, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
