// SPDX-License-Identifier: MIT
/* The config file: a good one, every class of bad one, and secrets files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <errno.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "queue.h"
#include "conffile.h"
#include "ublk_features.h"
#include "ublk_dev.h"
#include "target_spec.h"
#include "tcp.h"

static char dir[] = "/tmp/netublk-conf-XXXXXX";
static char path[300], spath[300];

static void write_file(const char *p, const char *text, mode_t mode)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

static int load(const char *text, struct nu_conf *c, char *err)
{
	write_file(path, text, 0644);
	return nu_conf_load(path, c, err, 256);
}

static void test_good(void **state)
{
	static struct nu_conf c;
	char err[256] = "";

	assert_int_equal(load("# netublk\n"
			      "[global]\n"
			      "initiator = iqn.2026-11.org.example:host\n"
			      "queues = 4\n"
			      "data_mode = copy\n"
			      "coalesce_us = 0\n"
			      "busy_poll_us = 30\n"
			      "queue_affinity = blk-mq\n"
			      "batch_io = on\n"
			      "control_group = root\n"
			      "metrics_listen = [::1]:9577\n"
			      "\n"
			      "[target lio]\n"
			      "transport = iscsi\n"
			      "portal = 127.0.0.1:3260\n"
			      "target = iqn.2026-11.org.example:lio\n"
			      "header_digest = crc32c\n"
			      "luns = 0, 2\n"
			      "read_only = On\n"
			      "\n"
			      "[target tgt]\n"
			      "portal = 127.0.0.1:3261\n"
			      "target = iqn.2026-11.org.example:tgt\n"
			      "initiator = iqn.2026-11.org.example:other\n"
			      "discard = false\n",
			      &c, err),
			 0);
	assert_int_equal(c.nr_targets, 2);
	assert_int_equal(c.queues, 4);
	assert_int_equal(c.data_mode, UBLK_DM_COPY);
	assert_int_equal(c.coalesce_us, 0);
	assert_int_equal(c.busy_poll_us, 30);
	assert_int_equal(c.queue_affinity, UBLK_QUEUE_BLK_MQ);
	assert_int_equal(c.batch_io, NU_ON);
	assert_string_equal(c.control_group, "root");
	assert_string_equal(c.metrics_listen, "[::1]:9577");
	assert_string_equal(c.targets[0].name, "lio");
	assert_true(c.targets[0].iscsi.header_digest);
	assert_true(c.targets[0].read_only);
	assert_true(c.targets[0].discard);
	assert_true(nu_conf_lun_wanted(&c.targets[0], 2));
	assert_false(nu_conf_lun_wanted(&c.targets[0], 1));
	assert_true(nu_conf_lun_wanted(&c.targets[1], 7));
	assert_false(c.targets[1].discard);
	/* The global initiator unless a target sets its own. */
	assert_string_equal(c.targets[0].iscsi.initiator, "iqn.2026-11.org.example:host");
	assert_string_equal(c.targets[1].iscsi.initiator, "iqn.2026-11.org.example:other");
}

static void test_bad(void **state)
{
	static const struct {
		const char *text, *want;
	} v[] = {
		{"[global]\nqueues = 0\n", ":2: queues must be a number from 1 to 64"},
		{"[global]\nqueue_affinity = numa\n",
		 ":2: queue_affinity must be any, blk-mq or apart, not 'numa'"},
		{"[global]\nbatch_io = maybe\n",
		 ":2: batch_io must be auto, yes or no, not 'maybe'"},
		{"[global]\n\ncoalesce_us = 20ms\n",
		 ":3: coalesce_us must be a number from 0 to 10000, not '20ms'"},
		{"[global]\nbusy_poll_us = 5000\n",
		 ":2: busy_poll_us must be a number from 0 to 1000, not '5000'"},
		{"[global]\nbogus = 1\n", ":2: unknown key 'bogus' in [global]"},
		{"[tgt x]\nportal = a\n", ":2: unknown section [tgt x]"},
		{"portal = a\n", ":1: 'portal' outside any section"},
		{"[global]\nthis line is wrong\n", ":2: syntax error"},
		{"[target a]\nportal = p\ntarget = t\nheader_digest = md5\n",
		 ":4: [target a]: header_digest must be crc32c or none"},
		{"[target a]\nportal = p\nfrobnicate = 1\n",
		 ":3: [target a]: unknown key 'frobnicate'"},
		{"[target a]\nportal = p\n", ":1: [target a]: target is missing"},
		{"[target a]\ntarget = t\nportal = p\nchap_user = u\n",
		 "chap_user and chap_secret go together"},
		{"[target a]\nportal = p\ntarget = t\n[target a]\nportal = q\n",
		 ":5: [target a] appears twice (first on line 1, again on line 4)"},
		{"[target a]\nportal = p\ntarget = t\ntransport = fc\n", ":4: transport 'fc'"},
		{"[target a]\nportal = p\ntarget = t\nluns = 1,x\n", ":4: luns is a list"},
		{"[target a]\nportal = p\ntarget = t\nread_only = maybe\n",
		 ":4: read_only must be yes or no"},
		{"[global]\nqueues = 2\n", "no [target NAME] section"},
		{"[global]\ncontrol_group = no-such-group-here\n",
		 ":2: control_group: there is no group 'no-such-group-here'"},
		{"[global]\nmetrics_listen = 0.0.0.0:9577\n",
		 ":2: metrics_listen must be a loopback address or a unix socket"},
		{"[global]\nmetrics_listen = [2001:db8::1]:9577\n",
		 ":2: metrics_listen must be a loopback address"},
		{"[global]\nmetrics_listen = 127.0.0.1\n",
		 ":2: metrics_listen is 127.0.0.1:PORT, [::1]:PORT or unix:/PATH (another address: "
		 "ADDRESS:PORT or [V6]:PORT, with metrics_listen_remote = yes), not '127.0.0.1'"},
		{"[global]\nmetrics_listen = 0.0.0.0:9577\nmetrics_listen_remote = no\n",
		 ":2: metrics_listen must be a loopback address or a unix socket (the page is not "
		 "authenticated; metrics_listen_remote = yes allows any address), not "
		 "'0.0.0.0:9577'"},
		{"[global]\nmetrics_listen_remote = maybe\n",
		 ":2: metrics_listen_remote must be yes or no"},
		{"[global]\nmetrics_listen = 127.0.0.1:70000\n",
		 ":2: metrics_listen is 127.0.0.1:PORT"},
		{"[global]\nmetrics_listen = unix:run/m.sock\n",
		 ":2: a unix socket is unix:/ABSOLUTE/PATH"},
		/* NVMe/TCP sections. */
		{"[target n]\ntransport = nvme-tcp\naddress = a\n",
		 ":1: [target n]: address and subsystem (or discover = yes) are required"},
		{"[target n]\naddress = a\ntransport = nvme-tcp\n",
		 ":2: [target n]: unknown key 'address' for an iscsi target"},
		{"[target n]\nportal = p\ntransport = nvme-tcp\n",
		 ":3: [target n]: transport must be the section's first key"},
		{"[target n]\ntransport = nvme-tcp\nportal = p\n",
		 ":3: [target n]: unknown key 'portal' for an nvme-tcp target"},
		{"[target n]\ntransport = nvme-tcp\naddress = a\nsubsystem = s\nnamespaces = 0\n",
		 ":5: namespaces is a list of namespace numbers, not '0'"},
		{"[target n]\ntransport = nvme-tcp\naddress = a\nsubsystem = s\nkeep_alive_timeout "
		 "= 0\n",
		 ":5: [target n]: keep_alive_timeout is 1 to 3600 seconds"},
		{"[target n]\ntransport = nvme-tcp\naddress = a\nsubsystem = s\nhost_id = nope\n",
		 ":5: [target n]: host_id must be a UUID"},
		{"[global]\nhost_nqn =\n[target n]\n", ":2: host_nqn must be 1 to"},
		/* Multipath keys, on either kind. */
		{"[target a]\nportal = p q\ntarget = t\npath_selector = service-time\n",
		 ":4: path_selector must be failover, round-robin or queue-depth"},
		{"[target a]\nportal = p q\ntarget = t\nno_path_retry = later\n",
		 ":4: no_path_retry must be seconds (0 to 86400), queue or fail, not 'later'"},
		{"[target a]\nportal = p q\ntarget = t\nfailback = 0\n",
		 ":4: failback must be immediate, manual or seconds (1 to 86400), not '0'"},
		{"[target a]\nportal = p q\ntarget = t\nmultipath = sometimes\n",
		 ":4: multipath must be yes or no"},
		{"[target n]\ntransport = nvme-tcp\naddress = a\nsubsystem = s\ndiscover = yes\n",
		 ":1: [target n]: discover = yes serves what the discovery controller lists"},
	};
	static struct nu_conf c;
	char err[256];

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		err[0] = 0;
		if (load(v[i].text, &c, err) == 0)
			fail_msg("case %u loaded", i);
		if (!strstr(err, v[i].want))
			fail_msg("case %u: got '%s', want '%s'", i, err, v[i].want);
		/* Every error names the file. */
		assert_non_null(strstr(err, path));
	}
	assert_int_equal(nu_conf_load("/nonexistent/netublk.conf", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/netublk.conf"));
}

/* Any address, but only when the config says so, on either side of it. */
static void test_metrics_remote(void **state)
{
	static const char *const good[] = {
		"[global]\nmetrics_listen = 0.0.0.0:9577\nmetrics_listen_remote = yes\n",
		"[global]\nmetrics_listen_remote = yes\nmetrics_listen = [2001:db8::1]:9577\n",
		"[global]\nmetrics_listen_remote = yes\nmetrics_listen = 127.0.0.1:9577\n",
	};
	static struct nu_conf c;
	char err[256], text[256];

	(void)state;
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "%s[target a]\nportal = p\ntarget = t\n", good[i]);
		err[0] = '\0';
		assert_int_equal(load(text, &c, err), 0);
		assert_true(c.metrics_remote);
	}
	assert_string_equal(c.metrics_listen, "127.0.0.1:9577");
	assert_int_equal(load("[global]\nmetrics_listen = 127.0.0.1:9577\n"
			      "[target a]\nportal = p\ntarget = t\n",
			      &c, err),
			 0);
	assert_false(c.metrics_remote);
}

static void test_nvme(void **state)
{
	static struct nu_conf c;
	char err[256] = "";

	assert_int_equal(load("[global]\nhost_nqn = nqn.2014-08.org.nvmexpress:uuid:x\n"
			      "[target san]\nportal = p\ntarget = t\n"
			      "[target flash]\ntransport = nvme-tcp\naddress = 10.0.0.1\n"
			      "subsystem = nqn.2026-11.org.example:f\nheader_digest = crc32c\n"
			      "namespaces = 1, 3\nkeep_alive_timeout = 2\nqueue_size = 64\n"
			      "[target other]\ntransport = nvme-tcp\naddress = 10.0.0.2:4421\n"
			      "subsystem = nqn.x:o\nhost_nqn = nqn.x:mine\n",
			      &c, err),
			 0);
	assert_int_equal(c.nr_targets, 3);
	assert_int_equal(c.coalesce_us, NU_QUEUE_COALESCE_US); /* not set: the default */
	assert_int_equal(c.busy_poll_us, 0);
	assert_int_equal(c.queue_affinity, UBLK_QUEUE_ANY);
	assert_int_equal(c.batch_io, NU_AUTO);
	assert_int_equal(c.targets[0].kind, NU_TARGET_ISCSI);
	assert_int_equal(c.targets[1].kind, NU_TARGET_NVME);
	assert_string_equal(c.targets[1].nvme.address, "10.0.0.1");
	assert_string_equal(c.targets[1].nvme.subnqn, "nqn.2026-11.org.example:f");
	assert_true(c.targets[1].nvme.header_digest);
	assert_false(c.targets[1].nvme.data_digest);
	assert_int_equal(c.targets[1].nvme.kato_s, 2);
	assert_int_equal(c.targets[1].nvme.ctrl_loss_tmo_s, 600);
	assert_int_equal(c.targets[1].nvme.queue_size, 64);
	assert_true(nu_conf_lun_wanted(&c.targets[1], 3));
	assert_false(nu_conf_lun_wanted(&c.targets[1], 2));
	/* The global host NQN unless the section has its own. */
	assert_string_equal(c.targets[1].nvme.hostnqn, "nqn.2014-08.org.nvmexpress:uuid:x");
	assert_string_equal(c.targets[2].nvme.hostnqn, "nqn.x:mine");
	/* A discovery controller to serve everything from: no subsystem needed. */
	assert_int_equal(load("[target site]\ntransport = nvme-tcp\naddress = 10.0.0.9\n"
			      "discover = yes\n",
			      &c, err),
			 0);
	assert_true(c.targets[0].nvme.discover_all);
}

/* The example shipped in conf/ parses, with a secrets file where it says. */
static void test_example(void **state)
{
	static struct nu_conf c;
	char err[256] = "", line[512], *src = getenv("top_srcdir");
	FILE *in, *out;

	snprintf(line, sizeof(line), "%s/conf/netublk.conf.example", src ? src : ".");
	in = fopen(line, "r");
	assert_non_null(in);
	out = fopen(path, "w");
	assert_non_null(out);
	while (fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "secrets", 7))
			fprintf(out, "secrets = %s\n", spath);
		else
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
	write_file(spath, "[target san1]\nchap_secret = one-secret\nmutual_secret = two-secret\n",
		   0600);
	if (nu_conf_load(path, &c, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(c.nr_targets, 3);
	assert_int_equal(c.targets[1].kind, NU_TARGET_NVME);
	assert_true(c.targets[2].nvme.discover_all);
}

/* Several portals or addresses per target: listed, or the key repeated; tried in order. */
static void test_portal_lists(void **state)
{
	static struct nu_conf c;
	struct iscsi_target_config t;
	struct nvme_target_config n;
	char err[256] = "", one[64];

	assert_int_equal(load("[target a]\nportal = 10.0.0.1:3260,10.0.0.2 , [fd00::1]:3261\n"
			      "portal = 10.0.0.3\ntarget = t\n"
			      "[target b]\ntransport = nvme-tcp\naddress = 10.0.1.1 10.0.1.2:4421\n"
			      "subsystem = s\n",
			      &c, err),
			 0);
	assert_string_equal(c.targets[0].iscsi.portal,
			    "10.0.0.1:3260 10.0.0.2 [fd00::1]:3261 10.0.0.3");
	assert_string_equal(c.targets[1].nvme.address, "10.0.1.1 10.0.1.2:4421");
	assert_int_equal(nu_addr_nth(c.targets[0].iscsi.portal, 2, one, sizeof(one)), 4);
	assert_string_equal(one, "[fd00::1]:3261");
	assert_int_equal(nu_addr_nth(c.targets[0].iscsi.portal, 4, one, sizeof(one)), 4);
	assert_string_equal(one, "");
	assert_int_equal(nu_addr_nth("", 0, one, sizeof(one)), 0);
	/* A spec separates keys with commas: the key repeats. */
	assert_int_equal(nu_iscsi_spec_parse("portal=h1:3260,target=t,portal=h2", &t, err, sizeof(err)),
			 0);
	assert_string_equal(t.portal, "h1:3260 h2");
	assert_int_equal(nu_nvme_spec_parse("address=a,address=b:4421,subsystem=s", &n, err,
					    sizeof(err)),
			 0);
	assert_string_equal(n.address, "a b:4421");
	assert_int_equal(nu_iscsi_spec_parse("portal=1,portal=2,portal=3,portal=4,portal=5,"
					     "portal=6,portal=7,portal=8,portal=9,target=t",
					     &t, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "at most 8 addresses"));
	/* Several addresses are paths at once unless multipath = no. */
	assert_false(c.targets[0].single_path);
	assert_int_equal(c.targets[0].path_selector, NU_PS_FAILOVER);
	assert_false(c.targets[0].no_path_retry_set);
	assert_int_equal(c.targets[0].failback_s, 0);
	assert_int_equal(load("[target a]\nportal = p q\ntarget = t\nmultipath = no\n"
			      "[target b]\nportal = p q\ntarget = u\npath_selector = queue-depth\n"
			      "no_path_retry = queue\nfailback = manual\n"
			      "[target c]\ntransport = nvme-tcp\naddress = a b\nsubsystem = s\n"
			      "path_selector = round-robin\nno_path_retry = 15\nfailback = 30\n"
			      "[target d]\nportal = p q\ntarget = v\nno_path_retry = fail\n"
			      "failback = immediate\n",
			      &c, err),
			 0);
	assert_true(c.targets[0].single_path);
	assert_int_equal(c.targets[1].path_selector, NU_PS_QUEUE_DEPTH);
	assert_int_equal(c.targets[1].no_path_retry_s, -1);
	assert_int_equal(c.targets[2].path_selector, NU_PS_ROUND_ROBIN);
	assert_int_equal(c.targets[2].no_path_retry_s, 15);
	assert_true(c.targets[3].no_path_retry_set);
	assert_int_equal(c.targets[3].no_path_retry_s, 0);
	assert_int_equal(c.targets[1].failback_s, -1);
	assert_int_equal(c.targets[2].failback_s, 30);
	assert_int_equal(c.targets[3].failback_s, 0);
	assert_int_equal(load("[target a]\nportal = ,\ntarget = t\n", &c, err), -EINVAL);
	assert_non_null(strstr(err, ":2: [target a]: portal needs an address"));
}

/* Two DHHC-1 secrets (test/tools/dhchap.py's KAT keys), and the first with one character changed. */
#define KEY1 "DHHC-1:01:AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09pl1OOC:"
#define KEY1_BAD_CRC "DHHC-1:01:AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09pl1OOD:"
#define KEY2 "DHHC-1:00:paanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8RflKDP:"

static void test_dhchap(void **state)
{
	static struct nu_conf c;
	char err[256] = "";
	const char *base = "[target n]\ntransport = nvme-tcp\naddress = a\nsubsystem = s\n";
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "%sdhchap_secret = %s\ndhchap_ctrl_secret = %s\n"
		 "dhchap_hashes = sha384\ndhchap_dhgroups = ffdhe2048, ffdhe4096\n", base, KEY1, KEY2);
	assert_int_equal(load(text, &c, err), 0);
	assert_string_equal(c.targets[0].nvme.dhchap_secret, KEY1);
	assert_int_equal(c.targets[0].nvme.dhchap_hashes, 1u << 2);
	assert_int_equal(c.targets[0].nvme.dhchap_groups, 1u << 1 | 1u << 3);
	/* Not set: every hash and group is offered. */
	assert_int_equal(load(base, &c, err), 0);
	assert_int_equal(c.targets[0].nvme.dhchap_hashes, 0x0e);
	assert_int_equal(c.targets[0].nvme.dhchap_groups, 0x3f);
	/* A bad key names its line and never shows the key. */
	snprintf(text, sizeof(text), "%sdhchap_secret = %s\n", base, KEY1_BAD_CRC);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":5: [target n]: dhchap_secret: DHHC-1 secret fails its CRC"));
	assert_null(strstr(err, "AQgP"));
	snprintf(text, sizeof(text), "%sdhchap_secret = hunter2\n", base);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":5: [target n]: dhchap_secret: not a DHHC-1:0N: secret"));
	assert_null(strstr(err, "hunter2"));
	snprintf(text, sizeof(text), "%sdhchap_ctrl_secret = %s\n", base, KEY2);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, "dhchap_ctrl_secret needs dhchap_secret too"));
	snprintf(text, sizeof(text), "%sdhchap_secret = %s\ndhchap_ctrl_secret = %s\n", base, KEY1,
		 KEY1);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, "dhchap_ctrl_secret must differ from dhchap_secret"));
	snprintf(text, sizeof(text), "%sdhchap_dhgroups = ffdhe1024\n", base);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":5: [target n]: dhchap_dhgroups is a list of"));
	snprintf(text, sizeof(text), "%sdhchap_hashes = md5\n", base);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":5: [target n]: dhchap_hashes is a list of"));
	/* An iSCSI target has no such key. */
	assert_int_equal(load("[target a]\nportal = p\ntarget = t\ndhchap_secret = x\n", &c, err),
			 -EINVAL);
	assert_non_null(strstr(err, "unknown key 'dhchap_secret' for an iscsi target"));
}

/* A configured TLS PSK (test/tools/nvme_tls.py's first KAT key), and it with its CRC broken. */
#define TLS_KEY "NVMeTLSkey-1:01:Iy45RE9aZXB7hpGcp7K9yNPe6fT/ChUgKzZBTFdibXg6OJqT:"
#define TLS_KEY_BAD_CRC "NVMeTLSkey-1:01:Iy45RE9aZXB7hpGcp7K9yNPe6fT/ChUgKzZBTFdibXg6OJqU:"

static void test_tls(void **state)
{
	static struct nu_conf c;
	char err[256] = "";
	const char *base = "[target n]\ntransport = nvme-tcp\naddress = a\nsubsystem = s\n";
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "%stls = required\ntls_key = %s\n", base, TLS_KEY);
	assert_int_equal(load(text, &c, err), 0);
	assert_int_equal(c.targets[0].nvme.tls, NVME_TLS_REQUIRED);
	assert_string_equal(c.targets[0].nvme.tls_key, TLS_KEY);
	/* nvme-cli's defaults: identity version 1, the RFC 8446 derivation. */
	assert_int_equal(c.targets[0].nvme.tls_identity_version, 1);
	assert_false(c.targets[0].nvme.tls_compat);
	snprintf(text, sizeof(text),
		 "%stls = preferred\ntls_key = %s\ntls_identity_version = 0\ntls_compat = yes\n",
		 base, TLS_KEY);
	assert_int_equal(load(text, &c, err), 0);
	assert_int_equal(c.targets[0].nvme.tls, NVME_TLS_PREFERRED);
	assert_int_equal(c.targets[0].nvme.tls_identity_version, 0);
	assert_true(c.targets[0].nvme.tls_compat);
	snprintf(text, sizeof(text), "%stls = yes\ntls_key = %s\n", base, TLS_KEY);
	assert_int_equal(load(text, &c, err), 0);
	assert_int_equal(c.targets[0].nvme.tls, NVME_TLS_REQUIRED);
	/* Not set: clear text. */
	assert_int_equal(load(base, &c, err), 0);
	assert_int_equal(c.targets[0].nvme.tls, NVME_TLS_OFF);
	/* A bad key names its line and never shows the key. */
	snprintf(text, sizeof(text), "%stls = yes\ntls_key = %s\n", base, TLS_KEY_BAD_CRC);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":6: [target n]: tls_key: NVMeTLSkey-1 key fails its CRC"));
	assert_null(strstr(err, "Iy45"));
	snprintf(text, sizeof(text), "%stls_key = %s\n", base, KEY1);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":5: [target n]: tls_key: not an NVMeTLSkey-1:0N: key"));
	assert_null(strstr(err, "AQgP"));
	snprintf(text, sizeof(text), "%stls = maybe\n", base);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":5: [target n]: tls is no, required (yes) or preferred"));
	snprintf(text, sizeof(text), "%stls = required\n", base);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, "tls needs tls_key"));
	snprintf(text, sizeof(text), "%stls_key = %s\n", base, TLS_KEY);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, "tls_key is set but tls is not"));
	snprintf(text, sizeof(text), "%stls_identity_version = 2\n", base);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":5: [target n]: tls_identity_version is 1"));
	/* An iSCSI target has no such key. */
	assert_int_equal(load("[target a]\nportal = p\ntarget = t\ntls = yes\n", &c, err), -EINVAL);
	assert_non_null(strstr(err, "unknown key 'tls' for an iscsi target"));
}

static void test_secrets(void **state)
{
	static struct nu_conf c;
	char conf[512], err[256];

	snprintf(conf, sizeof(conf),
		 "[global]\nsecrets = %s\n[target a]\nportal = p\ntarget = t\nchap_user = u\n",
		 spath);
	write_file(spath, "[target a]\nchap_secret = s3cret-one\n", 0600);
	assert_int_equal(load(conf, &c, err), 0);
	assert_string_equal(c.targets[0].iscsi.chap_secret, "s3cret-one");
	/* Readable by others: refused, saying what to do. */
	chmod(spath, 0644);
	assert_int_equal(load(conf, &c, err), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	chmod(spath, 0640);
	assert_int_equal(load(conf, &c, err), -EPERM);
	/* Only secrets belong there. */
	write_file(spath, "[target a]\nportal = elsewhere\n", 0600);
	assert_int_equal(load(conf, &c, err), -EINVAL);
	assert_non_null(strstr(err, spath));
	assert_non_null(strstr(err, ":2: only chap_secret"));
	/* DH-HMAC-CHAP keys too, for an nvme-tcp target. */
	snprintf(conf, sizeof(conf),
		 "[global]\nsecrets = %s\n[target n]\ntransport = nvme-tcp\naddress = a\n"
		 "subsystem = s\n",
		 spath);
	write_file(spath, "[target n]\ndhchap_secret = " KEY1 "\ndhchap_ctrl_secret = " KEY2 "\n",
		   0600);
	assert_int_equal(load(conf, &c, err), 0);
	assert_string_equal(c.targets[0].nvme.dhchap_secret, KEY1);
	assert_string_equal(c.targets[0].nvme.dhchap_ctrl_secret, KEY2);
	write_file(spath, "[target n]\ndhchap_secret = " KEY1_BAD_CRC "\n", 0600);
	assert_int_equal(load(conf, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":2: [target n]: dhchap_secret: DHHC-1 secret fails its CRC"));
	assert_null(strstr(err, "AQgP"));
	/* And the TLS PSK, the section saying only that it wants TLS. */
	snprintf(conf, sizeof(conf),
		 "[global]\nsecrets = %s\n[target n]\ntransport = nvme-tcp\naddress = a\n"
		 "subsystem = s\ntls = required\n",
		 spath);
	write_file(spath, "[target n]\ntls_key = " TLS_KEY "\n", 0600);
	assert_int_equal(load(conf, &c, err), 0);
	assert_string_equal(c.targets[0].nvme.tls_key, TLS_KEY);
	write_file(spath, "[target n]\ntls_key = " TLS_KEY_BAD_CRC "\n", 0600);
	assert_int_equal(load(conf, &c, err), -EINVAL);
	assert_non_null(strstr(err, ":2: [target n]: tls_key: NVMeTLSkey-1 key fails its CRC"));
	write_file(spath, "[target b]\nchap_secret = x\n", 0600);
	assert_int_equal(load(conf, &c, err), -EINVAL);
	assert_non_null(strstr(err, "which the config does not have"));
}

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/netublk.conf", dir);
	snprintf(spath, sizeof(spath), "%s/secrets.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	unlink(spath);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_metrics_remote),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_dhchap),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_nvme),
		cmocka_unit_test(test_portal_lists),
		cmocka_unit_test(test_example),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
