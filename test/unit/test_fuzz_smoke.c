// SPDX-License-Identifier: MIT
/*
 * Runs a fuzz target (linked in: test/fuzz/fuzz_*.c) over a deterministic
 * corpus: the inputs kept in the repo (test/fuzz/corpus/FUZZ_NAME, grown
 * by scripts/fuzz.sh --save), its own well-formed seeds, random mutations
 * of them, then random bytes. Under ASan and UBSan (the sanitizer build)
 * any out-of-bounds access fails the test.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* The i-th seed of the fuzz target into buf; 0 once there are no more. */
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap);

/* Mutations per seed; a target whose inputs are slow to run sets fewer. */
__attribute__((weak)) unsigned fuzz_smoke_mutations = 20000;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Every input kept in the repo for this target; how many. */
static unsigned run_kept_corpus(void)
{
	const char *src = getenv("top_srcdir");
	unsigned n = 0;
	char path[4096];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/test/fuzz/corpus/%s", src ? src : ".", FUZZ_NAME);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		static uint8_t in[1 << 20];
		size_t len;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/test/fuzz/corpus/%s/%s", src ? src : ".",
			 FUZZ_NAME, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		len = fread(in, 1, sizeof(in), f);
		fclose(f);
		LLVMFuzzerTestOneInput(in, len);
		n++;
	}
	closedir(d);
	return n;
}

static void test_corpus(void **state)
{
	static uint8_t buf[65536], m[65536];
	size_t n;

	/* Fewer under valgrind (scripts/test.sh), which runs them 30 times slower. */
	if (getenv("FUZZ_SMOKE_MUTATIONS"))
		fuzz_smoke_mutations = strtoul(getenv("FUZZ_SMOKE_MUTATIONS"), NULL, 10);
	printf("%u inputs from test/fuzz/corpus/%s\n", run_kept_corpus(), FUZZ_NAME);
	for (unsigned s = 0; (n = fuzz_seed(s, buf, sizeof(buf))); s++) {
		LLVMFuzzerTestOneInput(buf, n);
		for (unsigned i = 0; i < fuzz_smoke_mutations; i++) {
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
	for (unsigned i = 0; i < fuzz_smoke_mutations; i++) {
		size_t len = next() % 512;

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
