// SPDX-License-Identifier: MIT
/* Device nodes for a /dev without devtmpfs (see ublk_node.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ublk_node.h"
#include "log.h"

static void node_path(enum ublk_node kind, unsigned id, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/ublk%c%u", kind == UBLK_NODE_CHAR ? 'c' : 'b', id);
}

/* "MAJOR:MINOR" from sysfs, as the kernel assigned them. */
static int node_numbers(enum ublk_node kind, unsigned id, dev_t *dev)
{
	char path[96];
	unsigned maj, min;
	FILE *f;
	int n;

	snprintf(path, sizeof(path),
		 kind == UBLK_NODE_CHAR ? "/sys/class/ublk-char/ublkc%u/dev"
					: "/sys/class/block/ublkb%u/dev",
		 id);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%u:%u", &maj, &min);
	fclose(f);
	if (n != 2)
		return -EINVAL;
	*dev = makedev(maj, min);
	return 0;
}

int ublk_node_ensure(enum ublk_node kind, unsigned id, bool *made)
{
	bool chr = kind == UBLK_NODE_CHAR;
	char path[64];
	struct stat st;
	dev_t dev;
	int ret;

	*made = false;
	node_path(kind, id, path, sizeof(path));
	if (stat(path, &st) == 0)
		return 0;
	ret = node_numbers(kind, id, &dev);
	if (ret)
		return ret;
	if (mknod(path, (chr ? S_IFCHR | 0600 : S_IFBLK | 0660), dev) < 0)
		return errno == EEXIST ? 0 : -errno;
	*made = true;
	nu_info("made %s (%s %u:%u): no devtmpfs made it", path, chr ? "char" : "block", major(dev),
		minor(dev));
	return 0;
}

/* Outside the initial user namespace no mknod of a device can succeed. */
static bool in_user_namespace(void)
{
	unsigned inner, outer, count;
	FILE *f = fopen("/proc/self/uid_map", "re");
	int n;

	if (!f)
		return false;
	n = fscanf(f, "%u %u %u", &inner, &outer, &count);
	fclose(f);
	return n == 3 && !(inner == 0 && outer == 0 && count == 4294967295U);
}

const char *ublk_node_eperm_hint(void)
{
	if (in_user_namespace())
		return " (in a user namespace no device node can be made: the container needs the "
		       "host's /dev/ublkcN and /dev/ublkbN nodes, e.g. -v /dev:/dev)";
	return " (CAP_MKNOD is needed: podman --cap-add MKNOD)";
}

void ublk_node_remove(enum ublk_node kind, unsigned id)
{
	char path[64];

	node_path(kind, id, path, sizeof(path));
	/* A stale node would reach whatever device gets these numbers next. */
	if (unlink(path) < 0 && errno != ENOENT)
		nu_warn("%s: %s", path, strerror(errno));
}

int ublk_node_wait(enum ublk_node kind, unsigned id, unsigned ms, bool *made)
{
	char path[64];

	*made = false;
	node_path(kind, id, path, sizeof(path));
	for (unsigned waited = 0; waited < ms; waited += 10) {
		if (access(path, F_OK) == 0)
			return 0;
		usleep(10000);
	}
	return ublk_node_ensure(kind, id, made);
}
