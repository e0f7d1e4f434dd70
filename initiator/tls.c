// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/tls.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "tls.h"
#include "hkdf.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* One handshake: the PSK offered and the traffic secrets openssl reports. */
struct hs {
	const struct nu_tls_psk *psk;
	uint8_t secret[2][48]; /* [0] ours (client), [1] the peer's */
	unsigned secret_len[2];
};

/*
 * openssl tells the application traffic secrets only through its key log
 * ("CLIENT_TRAFFIC_SECRET_0 <random> <secret>"), and 3.0 does not hand a
 * TLS 1.3 receive side to the kernel itself: keep them for kTLS.
 */
static void keylog(const SSL *ssl, const char *line)
{
	static const char *const labels[2] = {"CLIENT_TRAFFIC_SECRET_0 ",
					      "SERVER_TRAFFIC_SECRET_0 "};
	struct hs *hs = SSL_get_app_data(ssl);

	for (int i = 0; i < 2; i++) {
		const char *sp;
		size_t n = 0;

		if (strncmp(line, labels[i], strlen(labels[i])))
			continue;
		sp = strchr(line + strlen(labels[i]), ' ');
		if (!sp ||
		    !OPENSSL_hexstr2buf_ex(hs->secret[i], sizeof(hs->secret[i]), &n, sp + 1, '\0'))
			n = 0;
		hs->secret_len[i] = (unsigned)n;
	}
}

/* Offers the external PSK (RFC 8446 4.2.11) as a session to resume. */
static int use_psk(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
		   SSL_SESSION **sess)
{
	static const unsigned char aes128[2] = {0x13, 0x01}, aes256[2] = {0x13, 0x02};
	struct hs *hs = SSL_get_app_data(ssl);
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, hs->psk->sha384 ? aes256 : aes128);
	SSL_SESSION *s;

	/* A second call (after HelloRetryRequest) must offer the same hash. */
	if (!cipher || (md && md != SSL_CIPHER_get_handshake_digest(cipher)))
		return 0;
	s = SSL_SESSION_new();
	if (!s || !SSL_SESSION_set1_master_key(s, hs->psk->key, hs->psk->key_len) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return 0;
	}
	*sess = s;
	*id = (const unsigned char *)hs->psk->identity;
	*idlen = strlen(hs->psk->identity);
	return 1;
}

/* One direction's keys to the kernel: sequence 0, as nothing was sent under them yet. */
static int ktls_install(int fd, int dir, bool aes256, const uint8_t *secret, size_t secret_len)
{
	union {
		struct tls12_crypto_info_aes_gcm_128 g128;
		struct tls12_crypto_info_aes_gcm_256 g256;
	} ci;
	const EVP_MD *md = aes256 ? EVP_sha384() : EVP_sha256();
	size_t key_len = aes256 ? 32 : 16;
	uint8_t key[32], iv[12];
	int ret;

	memset(&ci, 0, sizeof(ci));
	ret = nu_hkdf_expand_label(md, secret, secret_len, "key", "", "", false, key, key_len);
	if (!ret)
		ret = nu_hkdf_expand_label(md, secret, secret_len, "iv", "", "", false, iv,
					   sizeof(iv));
	if (!ret) {
		/* The kernel's nonce: salt (4 bytes) || iv (8), XORed with the sequence. */
		if (aes256) {
			ci.g256.info.version = TLS_1_3_VERSION;
			ci.g256.info.cipher_type = TLS_CIPHER_AES_GCM_256;
			memcpy(ci.g256.key, key, key_len);
			memcpy(ci.g256.salt, iv, 4);
			memcpy(ci.g256.iv, iv + 4, 8);
		} else {
			ci.g128.info.version = TLS_1_3_VERSION;
			ci.g128.info.cipher_type = TLS_CIPHER_AES_GCM_128;
			memcpy(ci.g128.key, key, key_len);
			memcpy(ci.g128.salt, iv, 4);
			memcpy(ci.g128.iv, iv + 4, 8);
		}
		if (setsockopt(fd, SOL_TLS, dir, &ci, aes256 ? sizeof(ci.g256) : sizeof(ci.g128)))
			ret = -errno;
	}
	OPENSSL_cleanse(&ci, sizeof(ci));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	return ret;
}

/* Why SSL_connect failed, from openssl's error queue and what the peer sent. */
static int classify(SSL *ssl, int r, char *err, size_t err_len)
{
	int e = SSL_get_error(ssl, r);
	unsigned long ec = ERR_peek_error();
	int reason = ERR_GET_REASON(ec);
	bool heard = BIO_number_read(SSL_get_rbio(ssl)) > 0;
	char buf[160];

	if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN ||
	    (e == SSL_ERROR_SSL && !heard)) {
		if (!heard) {
			/* A port without TLS and a TLS agent without this PSK look alike here. */
			snprintf(err, err_len,
				 "TLS: the target closed the connection without answering the "
				 "handshake: its port does not offer TLS, or it has no PSK for "
				 "this identity (wrong tls_key, tls_identity_version or "
				 "tls_compat?)");
			return -EPROTONOSUPPORT;
		}
		snprintf(err, err_len, "TLS: connection closed during the handshake");
		return -ECONNRESET;
	}
	if (reason >= SSL_AD_REASON_OFFSET) {
		snprintf(err, err_len,
			 "TLS: the target refused the handshake: %s alert (wrong "
			 "tls_key, or the target does not know this host's PSK identity?)",
			 SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET));
		return -EACCES;
	}
	if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG) {
		snprintf(err, err_len,
			 "TLS: the target answered in something other than TLS "
			 "(does its port offer TLS?)");
		return -EPROTONOSUPPORT;
	}
	ERR_error_string_n(ec, buf, sizeof(buf));
	snprintf(err, err_len, "TLS handshake failed: %s", buf);
	return -EPROTO;
}

static int handshake(SSL *ssl, int fd, int timeout_ms, char *err, size_t err_len)
{
	for (;;) {
		int r = SSL_connect(ssl), e;
		struct pollfd pfd = {.fd = fd};

		if (r == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return classify(ssl, r, err, err_len);
		pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, err_len, "TLS: no answer to the handshake within %d ms",
				 timeout_ms);
			return -ETIMEDOUT;
		}
	}
}

static SSL *client_new(struct hs *hs)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;

	if (ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) &&
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) &&
	    SSL_CTX_set_ciphersuites(ctx, hs->psk->sha384 ? "TLS_AES_256_GCM_SHA384"
							  : "TLS_AES_128_GCM_SHA256")) {
		/* PSK only: no trust store, so a certificate instead fails. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_keylog_callback(ctx, keylog);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		ssl = SSL_new(ctx);
	}
	SSL_CTX_free(ctx); /* the SSL holds its own reference */
	if (ssl) {
		SSL_set_app_data(ssl, hs);
		SSL_set_psk_use_session_callback(ssl, use_psk);
	}
	return ssl;
}

int nu_tls_client(int fd, const struct nu_tls_psk *psk, int timeout_ms, char *desc, size_t desc_len,
		  char *err, size_t err_len)
{
	struct hs *hs = calloc(1, sizeof(*hs));
	int flags = fcntl(fd, F_GETFL), ret;
	bool aes256 = psk->sha384;
	SSL *ssl = NULL;

	if (!hs)
		return -ENOMEM;
	hs->psk = psk;
	/* Before the handshake, so that a kernel without kTLS costs no round trip. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"))) {
		ret = -errno;
		snprintf(err, err_len,
			 "TLS: the kernel has no kTLS (TCP_ULP \"tls\": %s); load "
			 "the tls module",
			 strerror(-ret));
		ret = -ENOPROTOOPT;
		goto out;
	}
	ssl = client_new(hs);
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		snprintf(err, err_len, "TLS: cannot set up a TLS client");
		ret = -ENOMEM;
		goto out;
	}
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	ret = handshake(ssl, fd, timeout_ms, err, err_len);
	fcntl(fd, F_SETFL, flags);
	if (ret)
		goto out;
	/* The PSK must be what authenticated the target (no certificate path). */
	if (!SSL_session_reused(ssl) || SSL_has_pending(ssl) || !hs->secret_len[0] ||
	    hs->secret_len[0] != hs->secret_len[1]) {
		snprintf(err, err_len, "TLS: the handshake did not use the PSK");
		ret = -EPROTO;
		goto out;
	}
	ret = ktls_install(fd, TLS_TX, aes256, hs->secret[0], hs->secret_len[0]);
	if (!ret)
		ret = ktls_install(fd, TLS_RX, aes256, hs->secret[1], hs->secret_len[1]);
	if (ret) {
		snprintf(err, err_len, "TLS: the kernel refused the keys: %s", strerror(-ret));
		goto out;
	}
	snprintf(desc, desc_len, "TLS 1.3 %s", SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
out:
	/* Freed without a close_notify: the connection goes on under kTLS. */
	SSL_free(ssl);
	ERR_clear_error();
	OPENSSL_cleanse(hs, sizeof(*hs));
	free(hs);
	return ret;
}

/* TLS record content types and the handshake messages that may come after the handshake. */
enum { REC_ALERT = 21, REC_HANDSHAKE = 22, HS_NEW_SESSION_TICKET = 4, HS_KEY_UPDATE = 24 };

int nu_tls_control_record(int fd, char *why, size_t why_len)
{
	char ulp[16] = "";
	socklen_t ulp_len = sizeof(ulp);
	uint8_t cbuf[CMSG_SPACE(sizeof(uint8_t))];
	struct msghdr msg = {0};
	struct cmsghdr *cm;
	struct iovec iov;
	uint8_t *rec, type = 0;
	bool pass = false;
	ssize_t n;

	if (getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &ulp_len) || strcmp(ulp, "tls"))
		return -EIO;
	/* A whole record fits: a NewSessionTicket is passed over in one read. */
	rec = malloc(16384 + 256);
	if (!rec)
		return -ENOMEM;
	iov = (struct iovec){.iov_base = rec, .iov_len = 16384 + 256};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	n = recvmsg(fd, &msg, MSG_DONTWAIT);
	cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
		type = *CMSG_DATA(cm);
	if (n < 0)
		snprintf(why, why_len, "TLS: %s", strerror(errno));
	else if (type == REC_ALERT && n >= 2)
		snprintf(why, why_len, "TLS: %s alert from the target",
			 SSL_alert_desc_string_long(rec[1]));
	else if (type == REC_HANDSHAKE && rec[0] == HS_KEY_UPDATE)
		snprintf(why, why_len,
			 "TLS: the target updated its keys (KeyUpdate), which "
			 "netublk does not follow on a live connection");
	else if (type == REC_HANDSHAKE && rec[0] == HS_NEW_SESSION_TICKET)
		pass = true; /* no use to us */
	else
		snprintf(why, why_len, "TLS: unexpected record (type %u) from the target", type);
	free(rec);
	return pass ? 0 : -ECONNRESET;
}
