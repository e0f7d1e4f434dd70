// SPDX-License-Identifier: MIT
/*
 * Fuzz target for everything that parses bytes from an NVMe/TCP
 * controller: PDU headers (with and without digests), ICResp, completion
 * entries and status, Identify Controller and Namespace data, namespace
 * lists and identification descriptors, discovery log pages, the admin
 * queue's blocking receive (nvme_conn_wait, fed over a socketpair), the
 * DH-HMAC-CHAP messages (Challenge, Success1, Failure1) and a whole
 * authentication transaction whose controller side is the input. The
 * first input byte picks the negotiated digests (bits 0-1) and whether the
 * bytes also go to the admin receive (bit 2) or the transaction (bit 3);
 * the rest is what the controller sent. Build with
 * libFuzzer:
 *   clang -g -fsanitize=fuzzer,address,undefined -Invmetcp -Iinitiator \
 *     test/fuzz/fuzz_nvme.c nvmetcp/{nvme_pdu,nvme_cmd,nvme_conn,nvme_auth,nvme_auth_msg,dhchap}.c \
 *     initiator/{io,digest,tcp,log}.c $(pkg-config --cflags --libs libisal libcrypto) -o fuzz_nvme
 * (scripts/fuzz.sh does that).
 * test/unit/test_fuzz_smoke.c runs it over a fixed corpus in every build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "digest.h"
#include "nvme_auth_msg.h"
#include "nvme_cmd.h"
#include "nvme_conn.h"
#include "nvme_pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap);

static void unsolicited(void *ctx, const struct nvme_cqe *cqe)
{
	(void)cqe;
	++*(unsigned *)ctx;
}

/*
 * Fills a socketpair with the bytes and ends them (EOF after); returns the
 * end to read, *peer the other, which takes what the host sends.
 */
static int feed(const uint8_t *data, size_t size, int *peer)
{
	int sv[2];

	/* What fits in the socket buffer at once (the writer is this thread). */
	if (size > 32768)
		size = 32768;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	if (write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	shutdown(sv[1], SHUT_WR);
	*peer = sv[1];
	return sv[0];
}

/* The bytes as an admin queue's stream: completions and C2HData for command 1. */
static void admin_receive(const struct nvme_tcp_params *p, const uint8_t *data, size_t size)
{
	struct nvme_conn c = { .p = *p, .timeout_ms = 50 };
	struct nvme_cqe cqe;
	unsigned events = 0;
	uint8_t *in;
	int peer;

	c.fd = feed(data, size, &peer);
	if (c.fd < 0)
		return;
	in = malloc(4096); /* exactly the buffer the command offered */
	for (int i = 0; in && i < 32; i++)
		if (nvme_conn_wait(&c, 1, in, 4096, &cqe, 50, unsolicited, &events))
			break;
	free(in);
	nvme_conn_close(&c);
	close(peer);
}

/* A DH-HMAC-CHAP transaction, both ways, whose controller answers with the bytes. */
static void auth_transaction(const struct nvme_tcp_params *p, const uint8_t *data, size_t size)
{
	struct nvme_conn c = { .p = *p, .timeout_ms = 50 };
	struct nvme_auth_cfg cfg = { .host_key_set = true, .ctrl_key_set = true,
				     .host_key = { .len = 32, .hash = 1 },
				     .ctrl_key = { .len = 48, .hash = 2 },
				     .hashes = NVME_AUTH_HASHES_ALL,
				     .groups = 1u << NVME_AUTH_DH_NULL | 1u << NVME_AUTH_FFDHE2048 };
	struct nvme_auth_info ai;
	char err[256];
	int peer;

	c.fd = feed(data, size, &peer);
	if (c.fd < 0)
		return;
	/* What the host sends goes nowhere: the peer has gone, sends fail or fill the buffer. */
	nvme_auth_run(&c, &cfg, "nqn.2014-08.org.nvmexpress:uuid:fuzz", "nqn.fuzz:sub", &ai, err,
		      sizeof(err));
	nvme_conn_close(&c);
	close(peer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nvme_disc_entry disc[8];
	struct nvme_tcp_params p = { .maxh2cdata = 65536 };
	struct nvme_tcp_hdr h;
	struct nvme_ctrl_info ci;
	struct nvme_ns_info ns;
	struct nvme_cqe cqe;
	uint8_t *copy, ic[NVME_TCP_IC_LEN] = { 0 };
	uint32_t ids[64];
	const char *why;
	char wwid[64], desc[128];
	bool retry;

	if (!size)
		return 0;
	p.hdgst = data[0] & 1;
	p.ddgst = data[0] & 2;
	if (data[0] & 4)
		admin_receive(&p, data + 1, size - 1);
	if (data[0] & 8)
		auth_transaction(&p, data + 1, size - 1);
	data++;
	size--;
	/* Exactly the bytes there: ASan sees any read past them. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	for (size_t avail = 0; avail <= size && avail <= 160; avail += 8)
		nvme_tcp_parse_hdr(copy, avail, &p, 1u << 20, &h, &why);
	if (nvme_tcp_parse_hdr(copy, size, &p, 1u << 20, &h, &why) == 0 && h.cqe)
		nvme_cqe_decode(h.cqe, &cqe);
	memcpy(ic, data, size < sizeof(ic) ? size : sizeof(ic));
	nvme_tcp_parse_icresp(ic, p.hdgst, p.ddgst, &p, &why);
	nvme_parse_ns_list(copy, size, ids, 64);
	if (size >= 2)
		nvme_status_result((uint16_t)(data[0] | data[1] << 8), &retry, desc, sizeof(desc));
	memset(&ci, 0, sizeof(ci));
	if (nvme_parse_id_ctrl(copy, size, 12, &ci))
		memset(&ci, 0, sizeof(ci));
	nvme_parse_id_ns(copy, size, &ci, &ns);
	nvme_ns_wwid(copy, size, NULL, &ci, 1, wwid, sizeof(wwid));
	nvme_parse_disc_log(copy, size, disc, 8);
	{
		struct nvme_auth_msg m;
		uint8_t reason;

		/* Offered hashes and groups from the transaction ID, so that all are tried. */
		if (size >= 6)
			nvme_auth_parse(copy, size, (uint16_t)(copy[4] | copy[5] << 8), copy[4],
					copy[5], &m, &reason, &why);
	}
	{
		uint8_t states[NVME_ANA_GROUPS];

		nvme_parse_ana_log(copy, size, states, NVME_ANA_GROUPS);
	}
	free(copy);
	return 0;
}

/* Seeds for test/unit/test_fuzz_smoke.c: well-formed controller PDUs. */
size_t fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
	uint8_t *p = buf + 1;
	size_t n;

	if (cap < 1 + 4096)
		return 0;
	memset(buf, 0, cap < 1 + 3072 + 4096 ? cap : 1 + 3072 + 4096);
	switch (i) {
	case 0: /* CapsuleResp, no digests */
	case 1: /* CapsuleResp with a header digest */
		buf[0] = i;
		p[0] = NVME_TCP_RSP;
		p[1] = i ? NVME_TCP_F_HDGST : 0;
		p[2] = 24;
		p[4] = i ? 28 : 24;
		p[8 + 12] = 7; /* cid */
		n = i ? nu_hdgst_append(p, 24) : 24;
		break;
	case 2: /* C2HData of 512 bytes with SUCCESS, both digests */
		buf[0] = 3;
		p[0] = NVME_TCP_C2H_DATA;
		p[1] = NVME_TCP_F_HDGST | NVME_TCP_F_DDGST | NVME_TCP_F_LAST | NVME_TCP_F_SUCCESS;
		p[2] = 24;
		p[3] = 28;
		nu_put_le32(p + 4, 28 + 512 + 4);
		nu_put_le32(p + 16, 512);
		nu_hdgst_append(p, 24);
		nu_put_le32(p + 28 + 512, nu_crc32c(p + 28, 512));
		n = 28 + 512 + 4;
		break;
	case 3: /* R2T */
		p[0] = NVME_TCP_R2T;
		p[2] = 24;
		p[4] = 24;
		nu_put_le32(p + 16, 65536);
		n = 24;
		break;
	case 4: /* C2HTermReq with the offending header */
		p[0] = NVME_TCP_C2H_TERM;
		p[2] = 24;
		p[4] = 24 + 24;
		p[8] = 2;
		n = 48;
		break;
	case 5: /* ICResp */
		p[0] = NVME_TCP_ICRESP;
		p[2] = 128;
		p[4] = 128;
		nu_put_le32(p + 12, 131072);
		n = 128;
		break;
	case 6: /* Identify Namespace: 8 blocks of 4096 bytes, an NGUID */
		p[0] = 8;
		p[8] = 8;
		p[25] = 1;
		p[26] = 1;
		p[104] = 0xaa;
		p[128 + 4 + 2] = 12;
		n = 4096;
		break;
	case 7: /* namespace identification descriptors: NGUID, UUID */
		p[0] = 2;
		p[1] = 16;
		p[4] = 0x11;
		p[20] = 3;
		p[21] = 16;
		p[24] = 0x22;
		n = 40;
		break;
	case 8: /* admin stream: an unsolicited completion, then C2HData for command 1 */
		buf[0] = 4;
		p[0] = NVME_TCP_RSP;
		p[2] = 24;
		p[4] = 24;
		p[8 + 12] = 9;
		p[24] = NVME_TCP_C2H_DATA;
		p[25] = NVME_TCP_F_LAST | NVME_TCP_F_SUCCESS;
		p[26] = 24;
		p[27] = 24;
		nu_put_le32(p + 28, 24 + 64);
		p[32] = 1;
		nu_put_le32(p + 40, 64);
		n = 48 + 64;
		break;
	case 10: /* DH-HMAC-CHAP: Send accepted, Challenge (SHA-256, null group), Success1 */
		buf[0] = 8;
		n = 0;
		for (uint16_t cid = 0; cid < 5; cid++) {
			uint8_t *q = p + n;

			if (cid % 2 == 0) { /* completion of an Authentication Send */
				q[0] = NVME_TCP_RSP;
				q[2] = q[4] = 24;
				q[8 + 12] = (uint8_t)cid;
				n += 24;
				continue;
			}
			q[0] = NVME_TCP_C2H_DATA;
			q[1] = NVME_TCP_F_LAST | NVME_TCP_F_SUCCESS;
			q[2] = q[3] = 24;
			nu_put_le32(q + 4, 24 + 48);
			q[8] = (uint8_t)cid;
			nu_put_le32(q + 16, 48);
			q[24] = 1;			/* DH-HMAC-CHAP message */
			q[25] = cid == 1 ? 1 : 3;	/* Challenge, Success1 */
			q[30] = 32;			/* hl */
			q[32] = cid == 1 ? 1 : 1;	/* SHA-256 / RVALID */
			memset(q + 40, 0x5a, 32);
			n += 24 + 48;
		}
		break;
	default:
		if (i == 9 && cap >= 1 + 3072) { /* discovery log: two TCP records */
			p[16] = 2;
			for (int r = 0; r < 2; r++) {
				uint8_t *e = p + 1024 + r * 1024;

				e[0] = 3; /* TCP */
				e[2] = r ? 2 : 3;
				memcpy(e + 32, "4420", 4);
				memcpy(e + 256, "nqn.2026-11.org.netublk:fuzz", 28);
				memcpy(e + 512, "127.0.0.1", 9);
			}
			return 1 + 3072;
		}
		return 0;
	}
	return 1 + n;
}
