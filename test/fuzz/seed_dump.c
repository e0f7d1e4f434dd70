// SPDX-License-Identifier: MIT
/*
 * Writes a fuzz target's built-in seeds (fuzz_seed) as files into a
 * directory, for scripts/fuzz.sh to start its corpus from.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap);

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	char path[4096];
	size_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (unsigned i = 0; (n = fuzz_seed(i, buf, sizeof(buf))); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%u", argv[1], i);
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) {
			perror(path);
			return 1;
		}
	}
	return 0;
}
