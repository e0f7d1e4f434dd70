// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "tcp.h"

#define LOGIN_TEXT_MAX 8192

int iscsi_login_blocking(int fd, struct iscsi_login *l, int timeout_ms)
{
	uint8_t bhs[ISCSI_BHS_LEN];
	char *text = malloc(LOGIN_TEXT_MAX);
	uint8_t *rx = malloc(LOGIN_TEXT_MAX + 4);
	int ret = -ENOMEM;

	if (!text || !rx)
		goto out;
	for (int round = 0; round < 16; round++) {
		struct iscsi_hdr h;
		uint32_t dlen;
		const char *why;
		static const uint8_t pad[4];

		ret = iscsi_login_request(l, bhs, text, LOGIN_TEXT_MAX, &dlen);
		if (ret < 0)
			goto out;
		ret = nu_write_full(fd, bhs, sizeof(bhs), timeout_ms);
		if (!ret && dlen)
			ret = nu_write_full(fd, text, dlen, timeout_ms);
		if (!ret && iscsi_pad4(dlen))
			ret = nu_write_full(fd, pad, iscsi_pad4(dlen), timeout_ms);
		if (!ret)
			ret = nu_read_full(fd, bhs, sizeof(bhs), timeout_ms);
		if (ret) {
			snprintf(l->error, sizeof(l->error), "login I/O: %s", strerror(-ret));
			goto out;
		}
		iscsi_hdr_decode(bhs, &h);
		ret = iscsi_hdr_check(&h, LOGIN_TEXT_MAX, &why);
		if (ret) {
			snprintf(l->error, sizeof(l->error), "bad login response: %s", why);
			goto out;
		}
		ret = nu_read_full(fd, rx, h.dlen + iscsi_pad4(h.dlen), timeout_ms);
		if (ret) {
			snprintf(l->error, sizeof(l->error), "login I/O: %s", strerror(-ret));
			goto out;
		}
		ret = iscsi_login_response(l, &h, rx, h.dlen);
		if (ret != ISCSI_LOGIN_SEND)
			goto out;
	}
	snprintf(l->error, sizeof(l->error), "login did not finish in 16 exchanges");
	ret = -EPROTO;
out:
	free(text);
	free(rx);
	return ret == ISCSI_LOGIN_DONE ? 0 : ret;
}
