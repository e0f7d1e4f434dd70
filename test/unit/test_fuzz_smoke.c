// SPDX-License-Identifier: MIT
/*
 * Runs the iSCSI fuzz target over a deterministic corpus: well-formed login
 * answers, then random mutations of them, then random bytes. Under ASan and
 * UBSan (the sanitizer build) any out-of-bounds access fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t seed_pdu(uint8_t *buf, uint8_t flags, const char *text)
{
	size_t n = strlen(text);

	memset(buf, 0, 48);
	buf[0] = 0x23;
	buf[1] = flags;
	buf[5] = n >> 16;
	buf[6] = n >> 8;
	buf[7] = n;
	memcpy(buf + 48, text, n);
	for (size_t i = 48; i < 48 + n; i++)
		if (buf[i] == '|')
			buf[i] = 0;
	return 48 + n;
}

static void test_corpus(void **state)
{
	static const struct {
		uint8_t flags;
		const char *text;
	} seeds[] = {
		{ 0x00, "AuthMethod=CHAP" },
		{ 0x00, "CHAP_A=5|CHAP_I=1|CHAP_C=0x000102030405060708090a0b0c0d0e0f" },
		{ 0x00, "CHAP_A=7|CHAP_I=255|CHAP_C=0bAAECAwQFBgcICQoLDA0ODw==" },
		{ 0x81, "CHAP_N=t|CHAP_R=0x00112233445566778899aabbccddeeff" },
		{ 0x87, "HeaderDigest=None|MaxRecvDataSegmentLength=65536|X-Y=z" },
		{ 0x87, "MaxBurstLength=99999999999999|ErrorRecoveryLevel=1" },
		{ 0x00, "TargetAddress=127.0.0.1:3260,1" },
	};
	uint8_t buf[4096];

	for (unsigned s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t n = seed_pdu(buf, seeds[s].flags, seeds[s].text);

		LLVMFuzzerTestOneInput(buf, n);
		for (int i = 0; i < 20000; i++) {
			uint8_t m[4096];
			size_t len = n;

			memcpy(m, buf, n);
			for (int k = 0; k < 1 + (int)(next() % 8); k++) {
				switch (next() % 4) {
				case 0: /* flip a byte */
					m[next() % len] ^= 1 << (next() % 8);
					break;
				case 1: /* truncate */
					len = 1 + next() % len;
					break;
				case 2: /* a NUL or '=' somewhere */
					m[next() % len] = next() & 1 ? 0 : '=';
					break;
				default: /* grow with junk */
					if (len < sizeof(m) - 64) {
						for (int j = 0; j < 32; j++)
							m[len++] = next();
					}
				}
			}
			LLVMFuzzerTestOneInput(m, len);
		}
	}
	for (int i = 0; i < 20000; i++) {
		uint8_t m[512];
		size_t len = next() % sizeof(m);

		for (size_t j = 0; j < len; j++)
			m[j] = next();
		LLVMFuzzerTestOneInput(m, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_corpus) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
