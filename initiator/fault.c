// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "log.h"

bool nu_fault(const char *site)
{
	const char *list = getenv("NETUBLK_FAULT");
	size_t n = strlen(site);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (!strncmp(p, site, n) && (p[n] == ',' || !p[n])) {
			nu_warn("fault injected at %s", site);
			return true;
		}
	}
	return false;
}
