// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "udata.h"

static void test_roundtrip(void **state)
{
	static const enum nu_ud_kind kinds[] = { NU_UD_MAILBOX, NU_UD_CLIENT, NU_UD_TRANSPORT };
	static const unsigned slots[] = { 0, 1, 255, 0xffff };
	static const uint64_t datas[] = { 0, 1, 4095, NU_UD_DATA_MASK };

	for (unsigned k = 0; k < 3; k++)
		for (unsigned s = 0; s < 4; s++)
			for (unsigned d = 0; d < 4; d++) {
				uint64_t ud = nu_ud_make(kinds[k], slots[s], datas[d]);

				assert_int_equal(nu_ud_kind(ud), kinds[k]);
				assert_int_equal(nu_ud_slot(ud), slots[s]);
				assert_true(nu_ud_data(ud) == datas[d]);
			}
	/* Oversized fields are truncated, never bleed into the kind. */
	uint64_t ud = nu_ud_make(NU_UD_CLIENT, 0x1ffff, ~0ULL);
	assert_int_equal(nu_ud_kind(ud), NU_UD_CLIENT);
	assert_int_equal(nu_ud_slot(ud), 0xffff);
	/* A zero user_data (e.g. a stray completion) is never a client or transport. */
	assert_int_equal(nu_ud_kind(0), NU_UD_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
