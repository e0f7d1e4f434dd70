// SPDX-License-Identifier: MIT
#include "io.h"

const char *nu_op_name(unsigned op)
{
	static const char *const names[NU_OP_COUNT] = {
		[NU_OP_READ] = "read",	       [NU_OP_WRITE] = "write",
		[NU_OP_FLUSH] = "flush",       [NU_OP_DISCARD] = "discard",
		[NU_OP_WRITE_ZEROES] = "write-zeroes",
	};

	return op < NU_OP_COUNT ? names[op] : "unknown";
}
