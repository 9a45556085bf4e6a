/*
 * test_basic.c - the writer and verifier agree on a healthy ledger: append,
 * group commit, seal, reopen, segment rotation, key epochs, and the durable
 * seq contract.
 */
#include "helpers.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void test_append_seal_verify(void)
{
	struct tledger t;
	struct ledger_options o;
	struct ledger_open_info info;
	struct ledger *l = NULL;
	struct ledger_verify_result res;
	char err[256], payload[300];
	uint64_t seq = 0, last = 0;
	int rc;

	TAP_OK(tledger_init(&t, 900) == 0, "keys created");
	tledger_options(&t, &o);
	rc = ledger_open(&o, &l, &info, err, sizeof(err));
	TAP_OK(rc == 0, "open a new ledger (%s)", rc ? err : "ok");
	if (rc)
		return;
	TAP_OK(info.created, "open reports a new ledger");
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(payload, sizeof(payload), "{\"n\":%d}", i);

		rc = ledger_append(l, LEDGER_REC_EVENT, payload, (size_t)n, &seq);
		if (rc)
			break;
		if (seq != last + 1)
			break;
		last = seq;
	}
	TAP_OK(rc == 0 && last == 1000, "1000 appends get seq 1..1000 (last %llu)",
	       (unsigned long long)last);
	TAP_OK(ledger_wait_durable(l, last, 10000) == 0, "the last append becomes durable");
	TAP_OK(ledger_close(l) == 0, "close seals and flushes");

	rc = tledger_verify(&t, true, true, NULL, &res);
	TAP_OK(rc == 0 && res.verdict == LEDGER_OK, "verify passes with MAC and require-sealed");
	if (res.verdict != LEDGER_OK)
		tledger_dump(&res);
	TAP_OK(res.records > 1000 && res.seals >= 1 && res.seals_mac_ok == res.seals,
	       "records %llu, seals %llu all MAC-verified", (unsigned long long)res.records,
	       (unsigned long long)res.seals);
	TAP_EQ_U64(res.unsealed, 0, "nothing unsealed after close");
	ledger_verify_result_release(&res);

	/* Reopen appends to the same chain. */
	rc = ledger_open(&o, &l, &info, err, sizeof(err));
	TAP_OK(rc == 0 && !info.created && !info.recovered, "reopen an existing ledger");
	if (rc == 0) {
		rc = ledger_append(l, LEDGER_REC_EVENT, "{}", 2, &seq);
		TAP_OK(rc == 0 && seq > last, "append after reopen continues the sequence");
		ledger_close(l);
	}
	rc = tledger_verify(&t, true, true, NULL, &res);
	TAP_OK(rc == 0 && res.verdict == LEDGER_OK, "verify passes after reopen");
	if (res.verdict != LEDGER_OK)
		tledger_dump(&res);
	ledger_verify_result_release(&res);
	tledger_cleanup(&t);
}

static void test_second_writer_refused(void)
{
	struct tledger t;
	struct ledger_options o;
	struct ledger *a = NULL, *b = NULL;
	char err[256];
	int rc;

	tledger_init(&t, 900);
	tledger_options(&t, &o);
	TAP_OK(ledger_open(&o, &a, NULL, err, sizeof(err)) == 0, "first writer opens");
	rc = ledger_open(&o, &b, NULL, err, sizeof(err));
	TAP_OK(rc == -EBUSY && strstr(err, "pid"), "second writer refused, holder named (%s)", err);
	ledger_close(a);
	tledger_cleanup(&t);
}

static void test_segments_and_epochs(void)
{
	struct tledger t;
	struct ledger_options o;
	struct ledger *l = NULL;
	struct ledger_verify_result res;
	char err[256], payload[2048];
	uint64_t seq;
	int rc;

	tledger_init(&t, 60);
	tledger_options(&t, &o);
	o.segment_bytes = 16 * 1024;
	o.clock = fake_clock;
	fake_now = (t.verify_key.start_s + 5) * 1000000000ull;
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "open with small segments and a fake clock (%s)", rc ? err : "ok");
	if (rc)
		return;
	memset(payload, 'x', sizeof(payload));
	payload[0] = '"';
	payload[sizeof(payload) - 1] = '"';
	for (int i = 0; i < 100 && rc == 0; i++) {
		fake_now += 7000000000ull; /* 7 s: an epoch every ~9 records */
		rc = ledger_append(l, LEDGER_REC_EVENT, payload, sizeof(payload), &seq);
	}
	TAP_OK(rc == 0, "100 appends across segments and epochs");
	{
		struct ledger_status st;

		ledger_status(l, &st);
		TAP_OK(st.segment >= 10, "segments rotated (now %llu)", (unsigned long long)st.segment);
		TAP_OK(st.epoch >= 10, "MAC key evolved (epoch %llu)", (unsigned long long)st.epoch);
	}
	ledger_close(l);
	rc = tledger_verify(&t, true, true, NULL, &res);
	TAP_OK(rc == 0 && res.verdict == LEDGER_OK && res.segments >= 10,
	       "verify passes over %llu segments and epochs %llu..%llu",
	       (unsigned long long)res.segments, (unsigned long long)res.first_epoch,
	       (unsigned long long)res.last_epoch);
	if (res.verdict != LEDGER_OK)
		tledger_dump(&res);
	ledger_verify_result_release(&res);
	{
		/* The key file on disk moved on: the old epoch key is gone. */
		struct ledger_mackey k;

		rc = ledger_mackey_load(t.mac, &k, err, sizeof(err));
		TAP_OK(rc == 0 && k.epoch >= 10, "the key file holds a later epoch (%llu)",
		       (unsigned long long)k.epoch);
	}
	tledger_cleanup(&t);
}

/* Polls until cond holds or ~20 s pass: behaviour, not speed, is checked. */
#define WAIT_FOR(cond)                                                  \
	do {                                                            \
		for (int w_ = 0; w_ < 2000 && !(cond); w_++)            \
			usleep(10000);                                  \
	} while (0)

static void test_timed_seals_and_heartbeat(void)
{
	struct tledger t;
	struct ledger_options o;
	struct ledger *l = NULL;
	struct ledger_status st;
	struct ledger_verify_result res;
	char err[256];
	uint64_t seq = 0, before;
	int rc;

	tledger_init(&t, 900);
	tledger_options(&t, &o);
	o.checkpoint_ms = 50;
	o.heartbeat_ms = 200;
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "open with 50 ms checkpoints and 200 ms heartbeats");
	if (rc)
		return;
	ledger_append(l, LEDGER_REC_EVENT, "{\"a\":1}", 7, &seq);
	WAIT_FOR((ledger_status(l, &st), st.sealed_seq > seq && st.durable_seq >= st.sealed_seq));
	TAP_OK(st.sealed_seq > seq, "a checkpoint follows a record without any further append");
	before = st.checkpoints;
	WAIT_FOR((ledger_status(l, &st), st.checkpoints >= before + 2));
	TAP_OK(st.checkpoints >= before + 2, "heartbeats keep coming while idle (%llu seals)",
	       (unsigned long long)st.checkpoints);
	ledger_close(l);
	rc = tledger_verify(&t, true, true, NULL, &res);
	TAP_OK(rc == 0 && res.verdict == LEDGER_OK && res.seals >= 3,
	       "verify passes with %llu seals (checkpoints and heartbeats)",
	       (unsigned long long)res.seals);
	if (res.verdict != LEDGER_OK)
		tledger_dump(&res);
	ledger_verify_result_release(&res);
	tledger_cleanup(&t);
}

struct producer {
	struct ledger *l;
	int id, n, errors;
	uint64_t *seqs;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	char payload[64];

	for (int i = 0; i < p->n; i++) {
		int len = snprintf(payload, sizeof(payload), "{\"p\":%d,\"i\":%d}", p->id, i);

		if (ledger_append(p->l, LEDGER_REC_EVENT, payload, (size_t)len, &p->seqs[i]) < 0 ||
		    (i % 97 == 0 && ledger_wait_durable(p->l, p->seqs[i], 30000) < 0))
			p->errors++;
	}
	return NULL;
}

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_concurrent_appenders(void)
{
	enum { THREADS = 8, PER = 5000 };
	struct tledger t;
	struct ledger_options o;
	struct ledger *l = NULL;
	struct producer p[THREADS];
	pthread_t th[THREADS];
	uint64_t *all = calloc(THREADS * PER, sizeof(*all));
	struct ledger_verify_result res;
	char err[256];
	int errors = 0, dups = 0;
	int rc;

	tledger_init(&t, 900);
	tledger_options(&t, &o);
	o.segment_bytes = 64 * 1024;
	o.checkpoint_records = 1000;
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0 && all, "open for concurrent appenders");
	if (rc || !all)
		return;
	for (int i = 0; i < THREADS; i++) {
		p[i] = (struct producer){ .l = l, .id = i, .n = PER, .seqs = all + i * PER };
		pthread_create(&th[i], NULL, produce, &p[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		errors += p[i].errors;
	}
	TAP_EQ_U64(errors, 0, "%d threads x %d appends (with durable waits) without an error",
		   THREADS, PER);
	qsort(all, THREADS * PER, sizeof(*all), cmp_seq);
	for (int i = 1; i < THREADS * PER; i++)
		dups += all[i] == all[i - 1];
	TAP_EQ_U64(dups, 0, "every append got its own seq");
	ledger_close(l);
	rc = tledger_verify(&t, true, true, NULL, &res);
	TAP_OK(rc == 0 && res.verdict == LEDGER_OK && res.records >= THREADS * PER &&
		       res.segments > 1,
	       "verify passes: %llu records in %llu segments", (unsigned long long)res.records,
	       (unsigned long long)res.segments);
	if (res.verdict != LEDGER_OK)
		tledger_dump(&res);
	ledger_verify_result_release(&res);
	free(all);
	tledger_cleanup(&t);
}

/*
 * Verify hashes big segments on several threads (prehash.c): a ledger large
 * enough to take that path must give the same findings, at the same place,
 * as the sequential path does on small ones.
 */
static void test_large_segment_damage(void)
{
	struct tledger t;
	struct ledger_options o;
	struct ledger *l = NULL;
	struct ledger_verify_result res;
	char err[256], payload[200], path[4400];
	uint64_t seq;
	FILE *f;
	long size;
	int rc = 0;

	tledger_init(&t, 900);
	tledger_options(&t, &o);
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "open for a large segment");
	if (rc)
		return;
	for (int i = 0; i < 20000 && rc == 0; i++) {
		int n = snprintf(payload, sizeof(payload), "{\"i\":%d,\"pad\":\"%0120d\"}", i, i);

		rc = ledger_append(l, LEDGER_REC_EVENT, payload, (size_t)n, &seq);
	}
	ledger_close(l);
	rc = tledger_verify(&t, true, true, NULL, &res);
	TAP_OK(rc == 0 && res.verdict == LEDGER_OK && res.records > 20000 && res.segments == 1,
	       "20,000 records in one segment verify OK");
	ledger_verify_result_release(&res);

	snprintf(path, sizeof(path), "%s/0000000001.seg", t.dir);
	f = fopen(path, "r+b");
	TAP_OK(f != NULL, "open the segment to damage it");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size / 2, SEEK_SET);
	{
		int c = fgetc(f);

		fseek(f, size / 2, SEEK_SET);
		fputc(c ^ 0x20, f);
	}
	fclose(f);
	rc = tledger_verify(&t, true, true, NULL, &res);
	TAP_OK(rc == 0 && res.verdict == LEDGER_TAMPERED && res.nfindings == 1 &&
		       res.findings[0].kind == LF_CRC,
	       "one flipped byte in the middle: exactly one CRC finding");
	if (res.nfindings)
		TAP_OK(res.findings[0].offset <= (uint64_t)size / 2 &&
			       (uint64_t)size / 2 < res.findings[0].offset + 200 &&
			       res.findings[0].seq > 9000 && res.findings[0].seq < 11000,
		       "the finding points at the damaged record (offset %llu, seq %llu)",
		       (unsigned long long)res.findings[0].offset,
		       (unsigned long long)res.findings[0].seq);
	TAP_OK(res.nfindings && res.valid_to_seq + 1 == res.findings[0].seq,
	       "the validated range ends just before it");
	ledger_verify_result_release(&res);
	tledger_cleanup(&t);
}

int main(void)
{
	test_large_segment_damage();
	test_timed_seals_and_heartbeat();
	test_concurrent_appenders();
	test_append_seal_verify();
	test_second_writer_refused();
	test_segments_and_epochs();
	return tap_done();
}
