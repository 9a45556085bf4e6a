/*
 * helpers.c - see helpers.h.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int tledger_init(struct tledger *t, uint64_t epoch_s)
{
	struct ledger_keys_created kc;
	char err[256];
	const char *tmp = getenv("TMPDIR");
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(t->root, sizeof(t->root), "%s/vigil-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(t->root))
		return -errno;
	snprintf(t->dir, sizeof(t->dir), "%s/ledger", t->root);
	snprintf(t->keys, sizeof(t->keys), "%s/keys", t->root);
	rc = ledger_keys_create(t->keys, epoch_s, false, &kc, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "keys: %s\n", err);
		return rc;
	}
	snprintf(t->signing, sizeof(t->signing), "file:%s", kc.signing_path);
	snprintf(t->mac, sizeof(t->mac), "file:%s", kc.mac_path);
	t->pub = kc.pub;
	t->verify_key = kc.verify_key;
	return 0;
}

void tledger_options(const struct tledger *t, struct ledger_options *o)
{
	memset(o, 0, sizeof(*o));
	o->dir = t->dir;
	o->signing_key = t->signing;
	o->mac_key = t->mac;
	o->heartbeat_ms = -1;
}

void tledger_cleanup(struct tledger *t)
{
	char cmd[4200];

	if (!t->root[0] || getenv("VIGIL_KEEP_TMP"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", t->root);
}

int tledger_verify(const struct tledger *t, bool with_mac, bool require_sealed,
		   const char *trusted, struct ledger_verify_result *res)
{
	struct ledger_verify_options vo = {
		.dir = t->dir,
		.pub = &t->pub,
		.mac = with_mac ? &t->verify_key : NULL,
		.require_sealed = require_sealed,
	};
	const char *tr[1] = { trusted };

	if (trusted) {
		vo.trusted = tr;
		vo.ntrusted = 1;
	}
	return ledger_verify(&vo, res);
}

bool tledger_has(const struct ledger_verify_result *res, enum ledger_finding_kind k)
{
	for (size_t i = 0; i < res->nfindings; i++)
		if (res->findings[i].kind == k)
			return true;
	return false;
}

void tledger_dump(const struct ledger_verify_result *res)
{
	printf("# verdict %d, %zu findings%s%s\n", res->verdict, res->nfindings,
	       res->error[0] ? ": " : "", res->error);
	for (size_t i = 0; i < res->nfindings && i < 20; i++)
		printf("#   %s seg %llu off %llu seq %llu: %s\n",
		       ledger_finding_name(res->findings[i].kind),
		       (unsigned long long)res->findings[i].segment,
		       (unsigned long long)res->findings[i].offset,
		       (unsigned long long)res->findings[i].seq, res->findings[i].detail);
}
