// SPDX-License-Identifier: MIT
/*
 * NVMe/TCP TLS PSKs: the configured key's interchange form, and the PSK
 * identity and TLS PSK derived from it (both identity versions, the RFC 8446
 * derivation and libnvme's older one), against vectors computed by
 * test/tools/nvme_tls.py (Python's hashlib and hmac).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nvme_tls_psk.h"
#include "nvme_tls_vectors.h"

static void test_known_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tls_kats) / sizeof(tls_kats[0]); i++) {
		const struct tls_kat *k = &tls_kats[i];
		struct nvme_tls_key key;
		struct nvme_tls_psk psk;
		const char *why = NULL;

		assert_int_equal(nvme_tls_key_parse(k->key, &key, &why), 0);
		assert_int_equal(nvme_tls_psk_derive(&key, TLS_KAT_HOSTNQN, TLS_KAT_SUBNQN,
						     k->version, k->compat, &psk),
				 0);
		assert_string_equal(psk.identity, k->identity);
		assert_int_equal(psk.len, k->len);
		assert_memory_equal(psk.key, k->psk, k->len);
		/* The identity's hash names the cipher suite. */
		assert_int_equal(psk.cipher, k->identity[7] - '0');
	}
}

static void test_compat_differs(void **state)
{
	struct nvme_tls_key key;
	struct nvme_tls_psk a, b;
	const char *why;

	(void)state;
	assert_int_equal(nvme_tls_key_parse(tls_kats[0].key, &key, &why), 0);
	assert_int_equal(nvme_tls_psk_derive(&key, TLS_KAT_HOSTNQN, TLS_KAT_SUBNQN, 1, false, &a),
			 0);
	assert_int_equal(nvme_tls_psk_derive(&key, TLS_KAT_HOSTNQN, TLS_KAT_SUBNQN, 1, true, &b),
			 0);
	/* Both derivations differ in the retained PSK already, so in the digest too. */
	assert_string_not_equal(a.identity, b.identity);
	assert_memory_not_equal(a.key, b.key, a.len);
	/* Another host or subsystem gets another PSK. */
	assert_int_equal(nvme_tls_psk_derive(&key, TLS_KAT_HOSTNQN, "nqn.2026-12.org.netublk:other",
					     1, false, &b),
			 0);
	assert_memory_not_equal(a.key, b.key, a.len);
}

static void test_format_round_trip(void **state)
{
	struct nvme_tls_key key = {.len = 48, .hmac = 2}, back;
	const char *why;
	char s[128];

	(void)state;
	for (unsigned i = 0; i < 48; i++)
		key.key[i] = (uint8_t)(i * 7 + 1);
	nvme_tls_key_format(&key, s, sizeof(s));
	assert_memory_equal(s, "NVMeTLSkey-1:02:", 16);
	assert_int_equal(strlen(s), 89); /* as nvme-cli writes a 48-byte key */
	assert_int_equal(nvme_tls_key_parse(s, &back, &why), 0);
	assert_int_equal(back.len, 48);
	assert_int_equal(back.hmac, 2);
	assert_memory_equal(back.key, key.key, 48);
}

static void test_bad_keys(void **state)
{
	char crc[96], len01[96], len02[96];
	static const char *const fixed[] = {
		"NVMeTLSkey-2:01:Iy45RE9aZXB7hpGcp7K9yNPe6fT/ChUgKzZBTFdibXg6OJqT:",
		"NVMeTLSkey-1:03:Iy45RE9aZXB7hpGcp7K9yNPe6fT/ChUgKzZBTFdibXg6OJqT:",
		"NVMeTLSkey-1:01:Iy45RE9aZXB7hpGcp7K9yNPe6fT/ChUgKzZBTFdibXg6OJqT", /* no ':' */
		"NVMeTLSkey-1:01:Iy45RE9aZXB7hpGcp7K9yNPe6fT/ChUgKzZBTFdibXg6OJqT:x",
		"NVMeTLSkey-1:01:Iy45RE9aZXB7hpGcp7K9yNPe6fT/ChUgKzZBTFdibXg6OJq!:", /* base64 */
		"NVMeTLSkey-1:01:Iy45RE9aZXB7hpGcp7K9yNPe6fT/ChUgKzZBTFdibXg6OJ:",   /* length */
		"NVMeTLSkey-1:01:AQID:",
		"DHHC-1:01:Iy45RE9aZXB7hpGcp7K9yNPe6fT/ChUgKzZBTFdibXg6OJqT:",
		"",
	};
	struct nvme_tls_key key = {.len = 32, .hmac = 1};
	const char *cases[sizeof(fixed) / sizeof(fixed[0]) + 3];
	size_t n = 0;

	(void)state;
	memset(key.key, 0x5a, sizeof(key.key));
	nvme_tls_key_format(&key, crc, sizeof(crc));
	crc[strlen(crc) - 3] ^= 1; /* one bit of the CRC's base64 */
	key.hmac = 2;		   /* SHA-384 wants 48 bytes */
	nvme_tls_key_format(&key, len02, sizeof(len02));
	key.len = 48;
	key.hmac = 1; /* SHA-256 wants 32 */
	nvme_tls_key_format(&key, len01, sizeof(len01));
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		cases[n++] = fixed[i];
	cases[n++] = crc;
	cases[n++] = len01;
	cases[n++] = len02;
	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;

		assert_int_equal(nvme_tls_key_parse(cases[i], &key, &why), -EINVAL);
		assert_non_null(why);
		assert_null(strstr(why, "Iy45")); /* never the key itself */
		assert_null(strstr(why, "WlpaWlpa"));
	}
}

static void test_derive_limits(void **state)
{
	struct nvme_tls_key key;
	struct nvme_tls_psk psk;
	char nqn[260];
	const char *why;

	(void)state;
	assert_int_equal(nvme_tls_key_parse(tls_kats[0].key, &key, &why), 0);
	assert_int_equal(nvme_tls_psk_derive(&key, TLS_KAT_HOSTNQN, TLS_KAT_SUBNQN, 2, false, &psk),
			 -EINVAL);
	memset(nqn, 'n', sizeof(nqn) - 1);
	nqn[sizeof(nqn) - 1] = 0;
	assert_int_equal(nvme_tls_psk_derive(&key, nqn, TLS_KAT_SUBNQN, 1, false, &psk), -EINVAL);
	/* The longest NQNs (223 bytes) with a SHA-384 digest fit the identity. */
	nqn[223] = 0;
	assert_int_equal(nvme_tls_key_parse(tls_kats[4].key, &key, &why), 0);
	assert_int_equal(nvme_tls_psk_derive(&key, nqn, nqn, 1, false, &psk), 0);
	assert_int_equal(strlen(psk.identity), 9 + 223 + 1 + 223 + 1 + 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),	  cmocka_unit_test(test_compat_differs),
		cmocka_unit_test(test_format_round_trip), cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_derive_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
