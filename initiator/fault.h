/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_FAULT_H
#define NETUBLK_FAULT_H

#include <stdbool.h>

/*
 * Test-only fault injection: true when the comma-separated list in the
 * NETUBLK_FAULT environment variable names this site. Lets the test suite
 * drive error paths (cleanup after a failed start) that a healthy kernel
 * never takes.
 */
bool nu_fault(const char *site);

#endif
