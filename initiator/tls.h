/* SPDX-License-Identifier: MIT */
#ifndef NETUBLK_TLS_H
#define NETUBLK_TLS_H

/*
 * TLS 1.3 with an external pre-shared key on a connected TCP socket: the
 * handshake in this process (openssl), then the record layer handed to the
 * kernel (kTLS), so that the socket's sends and receives, through io_uring
 * too, carry plain bytes as before.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nu_tls_psk {
	const char *identity;
	const uint8_t *key;
	size_t key_len;
	bool sha384; /* TLS_AES_256_GCM_SHA384, else TLS_AES_128_GCM_SHA256 */
};

/*
 * The handshake on fd (a blocking socket), each wait bounded by timeout_ms.
 * 0: fd carries TLS, and desc ("TLS 1.3 <suite>") says how. Else err says
 * why: -ENOPROTOOPT the kernel has no kTLS; -EPROTONOSUPPORT the peer does
 * not speak TLS (closed, or answered in something else, before any TLS
 * record); -EACCES the peer refused (an alert); -ETIMEDOUT; -EPROTO.
 */
int nu_tls_client(int fd, const struct nu_tls_psk *psk, int timeout_ms, char *desc, size_t desc_len,
		  char *err, size_t err_len);

/*
 * A receive on fd failed with EIO: on a kTLS socket, a record other than
 * application data is next. Reads it: 0 if it may be passed over (a
 * NewSessionTicket), else -ECONNRESET with why saying what came (an alert,
 * a KeyUpdate), or -EIO if fd carries no TLS.
 */
int nu_tls_control_record(int fd, char *why, size_t why_len);

#endif
