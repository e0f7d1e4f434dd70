// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the control protocol's request parser (members of
 * control_group can talk to netublkd): any bytes, as a client may send
 * them. A request that parses has a known command and arguments that are
 * one printable line within bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nu_ctl_req r;
	const char *why = NULL;
	char *copy;
	size_t n;

	if (size > NU_CTL_REQ_MAX)
		size = NU_CTL_REQ_MAX; /* what the daemon reads at most */
	/* Exactly the bytes there: ASan sees any read past them. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (nu_ctl_parse(copy, size, &r, &why) == 0) {
		n = strnlen(r.args, sizeof(r.args));
		if (n == sizeof(r.args) || r.cmd > NU_CTL_LOGOUT)
			abort();
		for (size_t i = 0; i < n; i++)
			if (r.args[i] < 0x20 || r.args[i] > 0x7e)
				abort();
	} else if (!why || !*why) {
		abort(); /* a refusal always says why */
	}
	free(copy);
	return 0;
}

size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
	static const char *const seeds[] = {
		"netublk/1 status\n",
		"netublk/1 status json\n",
		"netublk/1 discover iscsi portal=127.0.0.1:3260\n",
		"netublk/1 login san1\n",
		"netublk/1 logout  san1  \n",
		"netublk/2 status\n",
		"netublk/1 reload",
	};
	size_t n;

	if (i >= sizeof(seeds) / sizeof(seeds[0]))
		return 0;
	n = strlen(seeds[i]);
	if (n > cap)
		return 0;
	memcpy(buf, seeds[i], n);
	return n;
}
