// SPDX-License-Identifier: MIT
/*
 * A TLS 1.3 PSK server in front of a clear-text NVMe/TCP port, for the VM
 * tests: openssl's own record layer in user space (independent of the
 * kernel's kTLS that netublk uses), relaying bytes both ways, and able to
 * misbehave on one connection: NewSessionTickets after the handshake, a
 * KeyUpdate, a close_notify or a record of garbage after some bytes.
 *
 *   tls_relay PORT UPSTREAM_PORT IDENTITY PSK_HEX [options]
 *     --sha384        TLS_AES_256_GCM_SHA384 (else TLS_AES_128_GCM_SHA256)
 *     --tickets N     NewSessionTickets sent after each handshake [0]
 *     --fault-on I    misbehave on the I-th connection accepted (0 first) [none]
 *     --after BYTES   ... once this many bytes went to the client [65536]
 *     --fault F       key-update | close-notify | garbage
 *
 * Listens on 127.0.0.1:PORT, connects each client to 127.0.0.1:UPSTREAM_PORT;
 * one process per connection. Prints "fault: F on connection I" when it
 * misbehaved.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static const char *identity;
static unsigned char psk[64];
static size_t psk_len;
static bool sha384;

static int find_psk(SSL *ssl, const unsigned char *id, size_t id_len, SSL_SESSION **sess)
{
	static const unsigned char aes128[2] = {0x13, 0x01}, aes256[2] = {0x13, 0x02};
	SSL_SESSION *s;

	*sess = NULL;
	if (id_len != strlen(identity) || memcmp(id, identity, id_len))
		return 1; /* unknown identity: no PSK, the handshake fails */
	s = SSL_SESSION_new();
	if (!s || !SSL_SESSION_set1_master_key(s, psk, psk_len) ||
	    !SSL_SESSION_set_cipher(s, SSL_CIPHER_find(ssl, sha384 ? aes256 : aes128)) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION))
		return 0;
	*sess = s;
	return 1;
}

static int tcp_listen(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&a, sizeof(a)) || listen(fd, 64)) {
		perror("tls_relay: listen");
		exit(1);
	}
	return fd;
}

static int tcp_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	return connect(fd, (void *)&a, sizeof(a)) ? -1 : fd;
}

/* Relays until either side closes; the fault, if any, once `after` bytes reached the client. */
static void relay(SSL *ssl, int cfd, int ufd, const char *fault, long after, int index)
{
	char buf[16384];
	long to_client = 0;
	bool faulted = !fault;

	for (;;) {
		struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = ufd, .events = POLLIN}};
		int n;

		if (!SSL_pending(ssl) && poll(p, 2, -1) < 0)
			return;
		if (SSL_pending(ssl) || p[0].revents) {
			n = SSL_read(ssl, buf, sizeof(buf));
			if (n <= 0 || write(ufd, buf, n) != n)
				return;
		}
		if (p[1].revents) {
			n = read(ufd, buf, sizeof(buf));
			if (n <= 0 || SSL_write(ssl, buf, n) != n)
				return;
			to_client += n;
		}
		if (faulted || to_client < after)
			continue;
		faulted = true;
		printf("fault: %s on connection %d\n", fault, index);
		fflush(stdout);
		if (!strcmp(fault, "key-update")) {
			/* Goes out ahead of the next record. */
			SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED);
			SSL_write(ssl, "", 0);
			SSL_do_handshake(ssl);
		} else if (!strcmp(fault, "close-notify")) {
			SSL_shutdown(ssl);
			sleep(1);
			return;
		} else { /* garbage: an application-data record that does not decrypt */
			static const unsigned char rec[5 + 32] = {23, 3, 3, 0, 32};

			if (write(cfd, rec, sizeof(rec)) != sizeof(rec))
				return;
			sleep(1);
			return;
		}
	}
}

static void serve(SSL_CTX *ctx, int cfd, int upstream, const char *fault, long after, int index)
{
	SSL *ssl = SSL_new(ctx);
	int ufd;

	SSL_set_fd(ssl, cfd);
	SSL_set_psk_find_session_callback(ssl, find_psk);
	if (SSL_accept(ssl) != 1) {
		fprintf(stderr, "tls_relay: connection %d: handshake failed\n", index);
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	ufd = tcp_connect(upstream);
	if (ufd < 0) {
		perror("tls_relay: upstream");
		exit(1);
	}
	relay(ssl, cfd, ufd, fault, after, index);
	exit(0);
}

int main(int argc, char **argv)
{
	const char *fault = NULL;
	long after = 65536;
	int fault_on = -1, tickets = 0, lfd, index = 0;
	SSL_CTX *ctx;

	if (argc < 5) {
		fprintf(stderr, "usage: tls_relay PORT UPSTREAM_PORT IDENTITY PSK_HEX [options]\n");
		return 2;
	}
	identity = argv[3];
	for (const char *h = argv[4]; h[0] && h[1] && psk_len < sizeof(psk); h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		psk[psk_len++] = (unsigned char)v;
	}
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "--sha384"))
			sha384 = true;
		else if (!strcmp(argv[i], "--tickets") && i + 1 < argc)
			tickets = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--fault-on") && i + 1 < argc)
			fault_on = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--after") && i + 1 < argc)
			after = atol(argv[++i]);
		else if (!strcmp(argv[i], "--fault") && i + 1 < argc)
			fault = argv[++i];
		else {
			fprintf(stderr, "tls_relay: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_ciphersuites(ctx, sha384 ? "TLS_AES_256_GCM_SHA384" : "TLS_AES_128_GCM_SHA256");
	SSL_CTX_set_num_tickets(ctx, tickets);
	lfd = tcp_listen(atoi(argv[1]));
	printf("listening\n");
	fflush(stdout);
	for (;; index++) {
		int cfd = accept(lfd, NULL, NULL);

		if (cfd < 0)
			continue;
		if (fork() == 0) {
			close(lfd);
			serve(ctx, cfd, atoi(argv[2]), index == fault_on ? fault : NULL, after,
			      index);
		}
		close(cfd);
	}
}
