/*
 * changes.c - `relais export-changes FILE` / `relais import-changes FILE`:
 * every operation of a store written to a file, and merged into another
 * store, so two devices can exchange their work with no server (a USB
 * stick between two laptops).
 *
 * File format (msgpack, one array):
 *
 *   [ "relais-changes", 1, <device id: bin 32>, [ <op>, ... ] ]
 *
 * where each op is rl_op_encode(with_sit = true). Every record state the
 * store holds contributes all of its operations (an erased record: its
 * erase only), so importing a file reproduces its states exactly.
 *
 * A file is hostile input. It is read whole with a size bound, decoded with
 * the bounded reader and rl_op_decode (which validates every op), and only
 * when all of it decodes is anything applied, in one transaction through
 * rl_replica_apply: a bad file leaves the store unchanged. Two more checks
 * protect the local device: an op claiming this device's id beyond its own
 * counter (it would collide with a future local op), and an op stamped more
 * than RL_CHANGES_MAX_SKEW_MS in the future (it would drag this device's
 * clock forward for good), are refused.
 *
 * The file holds situation content in clear: it is written with mode 0600
 * and should travel on encrypted media and be deleted after import.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/cli.h"
#include "common/file.h"
#include "common/states.h"
#include "proto/msg.h"

#define RL_CHANGES_MAGIC "relais-changes"
#define RL_CHANGES_VERSION 1
#define RL_CHANGES_MAX_FILE ((size_t)256 << 20) /* bytes */
#define RL_CHANGES_MAX_OPS 4000000u
/* The server's bound: a change refused there for its clock may later be
 * restamped by its author, so no replica may hold it under its old stamp. */
#define RL_CHANGES_MAX_SKEW_MS ((uint64_t)RL_PROTO_SKEW_MS)

/* ---- export ---- */

struct encode_ctx {
	rl_mpw w;
	rl_buf *body;
	uint32_t n;
};

static rl_err
encode_state(void *arg, const rl_record *rec)
{
	struct encode_ctx *x = arg;
	rl_err e;

	/* Tombstones too: an erasure travels in the file. */
	for (size_t i = 0; i < rec->nops; i++)
		rl_op_encode(&x->w, rec->ops[i], true);
	x->n += (uint32_t)rec->nops;
	if ((e = rl_mpw_err(&x->w)) != RL_OK)
		return e;
	return x->body->len > RL_CHANGES_MAX_FILE || x->n > RL_CHANGES_MAX_OPS ? RL_ETOOBIG : RL_OK;
}

/* Encodes every operation of the store into body; *n counts them. */
static rl_err
changes_encode(rl_replica *rp, rl_buf *body, uint32_t *n)
{
	struct encode_ctx x = { .body = body };
	rl_err e;

	rl_mpw_init(&x.w, body);
	e = rl_states_read(rl_replica_store(rp), encode_state, &x);
	*n = x.n;
	return e;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Writes head then body to path atomically (common/file.h), mode 0600;
 * "-" writes to stdout. */
static int
write_file(const char *path, rl_bytes head, rl_bytes body)
{
	rl_afile a;
	rl_err e;

	if (strcmp(path, "-") == 0) {
		if (write_all(STDOUT_FILENO, head.p, head.len) != 0 ||
		    write_all(STDOUT_FILENO, body.p, body.len) != 0)
			return rl_cli_fail("écriture impossible sur la sortie standard (%s)",
			                   strerror(errno));
		return 0;
	}
	if ((e = rl_afile_open(&a, path, 0600)) != RL_OK)
		return e == RL_ENOMEM ? rl_cli_fail_err(e, path)
		                      : rl_cli_fail("écriture impossible : %s (%s)", path, strerror(a.err));
	if ((head.len && fwrite(head.p, 1, head.len, a.f) != head.len) ||
	    (body.len && fwrite(body.p, 1, body.len, a.f) != body.len)) {
		int err = errno;

		rl_afile_abort(&a);
		return rl_cli_fail("écriture impossible : %s (%s)", path, strerror(err));
	}
	if (rl_afile_commit(&a) != RL_OK)
		return rl_cli_fail("écriture impossible : %s (%s)", path, strerror(a.err));
	return 0;
}

int
rl_cmd_export_changes(rl_cli *cli)
{
	rl_replica *rp;
	rl_buf head, body;
	uint32_t n;
	rl_mpw w;
	rl_err e;
	int rc;

	if ((rc = rl_cli_open(cli, &rp)) != 0)
		return rc;
	rl_buf_init(&head);
	rl_buf_init(&body);
	if ((e = changes_encode(rp, &body, &n)) != RL_OK) {
		rl_replica_close(rp);
		rl_buf_fini(&body);
		if (e == RL_ETOOBIG)
			return rl_cli_fail("trop de changements pour un seul fichier (au plus %zu "
			                   "octets)",
			                   RL_CHANGES_MAX_FILE);
		return rl_cli_fail_err(e, "lecture du magasin");
	}
	rl_mpw_init(&w, &head);
	rl_mpw_array(&w, 4);
	rl_mpw_cstr(&w, RL_CHANGES_MAGIC);
	rl_mpw_uint(&w, RL_CHANGES_VERSION);
	rl_mpw_bin(&w, rl_replica_device(rp), RL_DEV_BYTES);
	rl_mpw_array(&w, n);
	rl_replica_close(rp);
	if ((e = rl_mpw_err(&w)) != RL_OK)
		rc = rl_cli_fail_err(e, "export des changements");
	else
		rc = write_file(cli->pos[0], rl_buf_view(&head), rl_buf_view(&body));
	rl_buf_fini(&head);
	rl_buf_fini(&body);
	return rc;
}

/* ---- import ---- */

void
rl_changes_free(rl_changes *ch)
{
	for (size_t i = 0; i < ch->n; i++)
		free(ch->ops[i]);
	free(ch->ops);
	ch->ops = NULL;
	ch->n = 0;
}

rl_err
rl_changes_decode(rl_bytes in, rl_changes *ch)
{
	rl_opid *scratch;
	rl_bytes magic;
	uint64_t version;
	uint32_t n;
	rl_mpr r;
	rl_err e;

	memset(ch, 0, sizeof(*ch));
	rl_mpr_init(&r, in.p, in.len);
	rl_mpr_array_n(&r, 4);
	if (rl_mpr_str(&r, 32, &magic) != RL_OK || magic.len != strlen(RL_CHANGES_MAGIC) ||
	    memcmp(magic.p, RL_CHANGES_MAGIC, magic.len) != 0)
		return RL_EPROTO;
	if (rl_mpr_uint(&r, UINT64_MAX, &version) != RL_OK)
		return RL_EPROTO;
	if (version != RL_CHANGES_VERSION)
		return RL_EVERSION;
	rl_mpr_bin_n(&r, RL_DEV_BYTES, ch->device);
	if ((e = rl_mpr_array(&r, RL_CHANGES_MAX_OPS, &n)) != RL_OK)
		return e;
	/* The reader has checked n against the bytes left, so this is bounded
	 * by the file size. */
	if ((ch->ops = calloc((size_t)n + 1, sizeof(*ch->ops))) == NULL ||
	    (scratch = malloc(RL_MAX_REFS * sizeof(*scratch))) == NULL) {
		free(ch->ops);
		ch->ops = NULL;
		return RL_ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		rl_op op;

		if ((e = rl_op_decode(&r, &op, scratch, true)) != RL_OK)
			break;
		if ((ch->ops[i] = rl_op_dup(&op)) == NULL) {
			e = RL_ENOMEM;
			break;
		}
		ch->n = i + 1;
	}
	free(scratch);
	if (e == RL_OK)
		e = rl_mpr_done(&r);
	if (e != RL_OK)
		rl_changes_free(ch);
	return e;
}

static int
sit_cmp(const void *a, const void *b)
{
	const rl_op *x = a, *y = b;
	int c = memcmp(x->sit, y->sit, RL_SIT_BYTES);

	return c != 0 ? c : rl_op_cmp(x, y);
}

int
rl_cmd_import_changes(rl_cli *cli)
{
	const char *path = cli->pos[0];
	uint64_t counter = 0, limit = rl_wall_ms() + RL_CHANGES_MAX_SKEW_MS;
	const uint8_t *me;
	size_t applied = 0;
	rl_op *flat = NULL;
	rl_replica *rp = NULL;
	rl_changes ch = { 0 };
	rl_txn *txn;
	rl_buf file;
	rl_err e;
	int rc;

	rl_buf_init(&file);
	if ((rc = rl_cli_read_file(path, RL_CHANGES_MAX_FILE, &file)) != 0)
		goto out;
	if ((e = rl_changes_decode(rl_buf_view(&file), &ch)) != RL_OK) {
		if (e == RL_EVERSION)
			rc = rl_cli_fail("fichier de changements d'une version inconnue : %s", path);
		else if (e == RL_ENOMEM)
			rc = rl_cli_fail_err(e, path);
		else
			rc = rl_cli_fail("fichier de changements invalide : %s (%s)", path,
			                 rl_strerror_fr(e));
		goto out;
	}
	rl_buf_fini(&file);
	if ((rc = rl_cli_open(cli, &rp)) != 0)
		goto out;
	me = rl_replica_device(rp);
	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK) {
		rc = rl_cli_fail_err(e, "lecture du magasin");
		goto out;
	}
	e = rl_meta_get_u64(txn, "counter", &counter);
	rl_store_abort(txn);
	if (e != RL_OK) {
		rc = rl_cli_fail_err(e, "lecture du magasin");
		goto out;
	}
	if ((flat = malloc((ch.n + 1) * sizeof(*flat))) == NULL) {
		rc = rl_cli_fail_err(RL_ENOMEM, path);
		goto out;
	}
	for (size_t i = 0; i < ch.n; i++) {
		const rl_op *op = ch.ops[i];

		if (rl_hlc_ms(op->hlc) > limit) {
			rc = rl_cli_fail("fichier refusé : %s contient des changements datés de plus "
			                 "d'une heure dans le futur (horloge de l'appareil d'origine en "
			                 "avance)",
			                 path);
			goto out;
		}
		if (memcmp(op->id.dev, me, RL_DEV_BYTES) == 0 && op->id.ctr > counter) {
			rc = rl_cli_fail("fichier refusé : %s attribue à cet appareil des changements "
			                 "qu'il n'a pas faits",
			                 path);
			goto out;
		}
		flat[i] = *op;
	}
	/* Grouped by situation, rl_replica_apply loads and saves each record
	 * once. */
	qsort(flat, ch.n, sizeof(*flat), sit_cmp);
	if ((e = rl_replica_apply(rp, flat, ch.n, &applied)) != RL_OK) {
		if (e == RL_ETOOBIG || e == RL_EINVAL)
			rc = rl_cli_fail("fichier refusé : %s (%s) ; rien n'a été importé", path,
			                 rl_strerror_fr(e));
		else
			rc = rl_cli_fail_err(e, "import impossible ; rien n'a été importé");
		goto out;
	}
	printf("%zu changement%s lu%s, %zu nouveau%s.\n", ch.n, ch.n > 1 ? "s" : "",
	       ch.n > 1 ? "s" : "", applied, applied > 1 ? "x" : "");
out:
	free(flat);
	rl_changes_free(&ch);
	rl_buf_fini(&file);
	rl_replica_close(rp);
	return rc;
}
