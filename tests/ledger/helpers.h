/*
 * helpers.h - shared helpers for ledger tests: temporary state directories
 * with keys, and a ledger opened on them.
 */
#ifndef VIGIL_TEST_LEDGER_HELPERS_H
#define VIGIL_TEST_LEDGER_HELPERS_H

#include "common.h"
#include "ledger.h"

struct tledger {
	char root[4096];     /* temporary state directory */
	char dir[4200];      /* root/ledger */
	char keys[4200];     /* root/keys */
	char signing[4300];  /* "file:" spec */
	char mac[4300];      /* "file:" spec */
	struct ledger_pubkey pub;
	struct ledger_mackey verify_key; /* epoch 0 */
};

/* Creates a temporary directory with fresh keys (epoch_s-second epochs). */
int tledger_init(struct tledger *t, uint64_t epoch_s);
/* Options for opening t's ledger with the defaults tests want. */
void tledger_options(const struct tledger *t, struct ledger_options *o);
/* Removes the temporary directory. */
void tledger_cleanup(struct tledger *t);
/* Runs ledger_verify with t's public key (and MAC key when with_mac). */
int tledger_verify(const struct tledger *t, bool with_mac, bool require_sealed,
		   const char *trusted, struct ledger_verify_result *res);
/* True when res has a finding of kind k. */
bool tledger_has(const struct ledger_verify_result *res, enum ledger_finding_kind k);
/* Prints the findings as TAP diagnostics. */
void tledger_dump(const struct ledger_verify_result *res);

#endif
