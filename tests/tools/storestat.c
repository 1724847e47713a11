/*
 * storestat.c - counts the fault tests need, read straight from a client
 * store or a changes file, without going through the `relais` commands.
 *
 *   storestat store DIR...
 *       for each client store (secret from $RELAIS_PASSPHRASE): one line
 *       "DIR device=HEX outbox=N sent=N made=N cursor=N"; made = outbox +
 *       sent, every change the device wrote and still holds (a change stays
 *       in the outbox once acknowledged; only an erasure purges it)
 *   storestat authors FILE
 *       for a file written by `relais export-changes` ("-": stdin): one line
 *       "HEX COUNT" per author device, sorted, then "total COUNT"
 *
 * Exit status: 0, 1 when a store does not open or a file does not decode
 * (the error on stderr), 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/crypto.h"
#include "common/replica.h"
#include "common/store.h"

static int
usage(void)
{
	fputs("usage: storestat store DIR...\n"
	      "       storestat authors FILE\n",
	      stderr);
	return 2;
}

static int
cmd_store(int argc, char **argv)
{
	const char *pass = getenv("RELAIS_PASSPHRASE");
	rl_secret s;

	if (pass == NULL || *pass == '\0') {
		fputs("storestat: RELAIS_PASSPHRASE is not set\n", stderr);
		return 2;
	}
	memset(&s, 0, sizeof(s));
	s.pass = pass;
	s.passlen = strlen(pass);
	for (int i = 2; i < argc; i++) {
		char hex[2 * RL_DEV_BYTES + 1];
		size_t outbox = 0, sent = 0;
		uint64_t cursor = 0;
		rl_replica *rp;
		rl_txn *txn;
		rl_err e;

		if ((e = rl_replica_open(argv[i], &s, NULL, &rp)) != RL_OK) {
			fprintf(stderr, "storestat: %s: %s\n", argv[i], rl_strerror(e));
			return 1;
		}
		if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) == RL_OK) {
			if ((e = rl_outbox_count_txn(txn, &outbox, &sent)) == RL_OK)
				e = rl_meta_get_u64(txn, "cursor", &cursor);
			rl_store_abort(txn);
		}
		rl_hex_encode(rl_replica_device(rp), RL_DEV_BYTES, hex);
		rl_replica_close(rp);
		if (e != RL_OK) {
			fprintf(stderr, "storestat: %s: %s\n", argv[i], rl_strerror(e));
			return 1;
		}
		printf("%s device=%s outbox=%zu sent=%zu made=%zu cursor=%llu\n", argv[i], hex, outbox,
		       sent, outbox + sent, (unsigned long long)cursor);
	}
	return 0;
}

static int
dev_cmp(const void *a, const void *b)
{
	const rl_op *x = *(rl_op *const *)a, *y = *(rl_op *const *)b;

	return memcmp(x->id.dev, y->id.dev, RL_DEV_BYTES);
}

static int
cmd_authors(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	rl_changes ch;
	rl_buf in;
	size_t n, total = 0;
	uint8_t chunk[65536];
	rl_err e;

	if (f == NULL) {
		perror(path);
		return 1;
	}
	rl_buf_init(&in);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (rl_buf_append(&in, chunk, n) != RL_OK) {
			fputs("storestat: out of memory\n", stderr);
			return 1;
		}
	if (f != stdin)
		fclose(f);
	if ((e = rl_changes_decode(rl_buf_view(&in), &ch)) != RL_OK) {
		fprintf(stderr, "storestat: %s: %s\n", path, rl_strerror(e));
		rl_buf_fini(&in);
		return 1;
	}
	qsort(ch.ops, ch.n, sizeof(*ch.ops), dev_cmp);
	for (size_t i = 0; i < ch.n;) {
		char hex[2 * RL_DEV_BYTES + 1];
		size_t j = i;

		while (j < ch.n && memcmp(ch.ops[j]->id.dev, ch.ops[i]->id.dev, RL_DEV_BYTES) == 0)
			j++;
		rl_hex_encode(ch.ops[i]->id.dev, RL_DEV_BYTES, hex);
		printf("%s %zu\n", hex, j - i);
		total += j - i;
		i = j;
	}
	printf("total %zu\n", total);
	rl_changes_free(&ch);
	rl_buf_fini(&in);
	return 0;
}

int
main(int argc, char **argv)
{
	if (rl_crypto_init() != RL_OK) {
		fputs("storestat: crypto init failed\n", stderr);
		return 1;
	}
	if (argc >= 3 && strcmp(argv[1], "store") == 0)
		return cmd_store(argc, argv);
	if (argc == 3 && strcmp(argv[1], "authors") == 0)
		return cmd_authors(argv[2]);
	return usage();
}
