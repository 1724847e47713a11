/*
 * test_store.c - unit tests for common/store.c.
 *
 * Each test gets a fresh temporary directory (setup/teardown) holding the
 * store directory "s" and anything else it needs. Damage is done to
 * data.mdb with plain file I/O while the store is closed: the tests find
 * bytes by searching for distinctive keys, since in an LMDB leaf node the
 * value immediately follows its key.
 */
#include "rl_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/store.h"

#define PASS "correct horse battery staple"
#define CANARY "CANARY-xyzzy-4242"

typedef struct fx {
	char base[64]; /* mkdtemp result */
	char dir[128]; /* base/s: the store */
	char aux[128]; /* base/b: a second store, backup or key file */
} fx;

static const rl_store_opts opts_min = { 0, RL_KDF_MIN };
static const uint8_t key_a[RL_KEY_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const uint8_t key_b[RL_KEY_BYTES] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static rl_secret
pass_secret(const char *p)
{
	return (rl_secret){ p, strlen(p), NULL };
}

static rl_secret
key_secret(const uint8_t *k)
{
	return (rl_secret){ NULL, 0, k };
}

static void
rm_tree(const char *path)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	char sub[512];

	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static int
setup(void **state)
{
	fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	snprintf(f->base, sizeof f->base, "/tmp/rl_test_store_XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->dir, sizeof f->dir, "%s/s", f->base);
	snprintf(f->aux, sizeof f->aux, "%s/b", f->base);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	rm_tree(f->base);
	free(f);
	return 0;
}

static char *
path_in(const char *dir, const char *name)
{
	static char p[2][256];
	static int i;
	int r;

	i ^= 1;
	r = snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	assert_true(r > 0 && (size_t)r < sizeof p[i]);
	return p[i];
}

/* Reads a whole file; *n gets its size. */
static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *p;
	long sz;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	sz = ftell(fp);
	assert_true(sz >= 0);
	rewind(fp);
	p = malloc((size_t)sz + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)sz, fp), (size_t)sz);
	fclose(fp);
	*n = (size_t)sz;
	return p;
}

static void
spit(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	if (n > 0)
		assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* Offsets just past each occurrence of needle in p[0..n), up to max. */
static size_t
find_all(const uint8_t *p, size_t n, const void *needle, size_t nl, size_t *at, size_t max)
{
	size_t c = 0;

	for (size_t i = 0; i + nl <= n && c < max; i++) {
		if (memcmp(p + i, needle, nl) == 0)
			at[c++] = i + nl;
	}
	return c;
}

/* Does any regular file in dir contain needle? */
static bool
dir_contains(const char *dir, const void *needle, size_t nl)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		const char *p = path_in(dir, de->d_name);
		size_t n, at;
		uint8_t *b;

		if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		b = slurp(p, &n);
		if (find_all(b, n, needle, nl, &at, 1) > 0)
			found = true;
		free(b);
	}
	closedir(d);
	return found;
}

static size_t
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static rl_store *
open_pass(const char *dir, const char *pass)
{
	rl_secret s = pass_secret(pass);
	rl_store *st = NULL;

	RL_PASS(rl_store_open(dir, &s, &opts_min, &st));
	assert_non_null(st);
	return st;
}

static rl_store *
make_store(const char *dir)
{
	rl_secret s = pass_secret(PASS);

	RL_PASS(rl_store_create(dir, &s, &opts_min));
	return open_pass(dir, PASS);
}

static rl_bytes
str(const char *s)
{
	return RL_BYTES(s, strlen(s));
}

static void
put_str(rl_store *st, rl_table t, const char *k, const char *v)
{
	rl_txn *txn;

	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_put(txn, t, str(k), str(v)));
	RL_PASS(rl_store_commit(txn));
}

/* Asserts t holds k -> v (v NULL: k is absent). */
static void
expect_str(rl_store *st, rl_table t, const char *k, const char *v)
{
	rl_txn *txn;
	rl_buf b;

	rl_buf_init(&b);
	RL_PASS(rl_store_begin(st, false, &txn));
	if (v == NULL) {
		RL_FAIL(rl_store_get(txn, t, str(k), &b), RL_ENOTFOUND);
	} else {
		RL_PASS(rl_store_get(txn, t, str(k), &b));
		assert_int_equal(b.len, strlen(v));
		assert_memory_equal(b.data, v, b.len);
	}
	rl_store_abort(txn);
	rl_buf_fini(&b);
}

static size_t
count(rl_store *st, rl_table t)
{
	rl_txn *txn;
	size_t n = 0;

	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_store_count(txn, t, &n));
	RL_PASS(rl_store_commit(txn));
	return n;
}

static rl_bytes
be64(uint8_t b[8], uint64_t v)
{
	rl_put_be64(b, v);
	return RL_BYTES(b, 8);
}

/* ---- tests ---- */

static void
test_create_open_close(void **state)
{
	fx *f = *state;
	rl_secret s = pass_secret(PASS);
	rl_store *st;
	struct stat sb;
	char deep[256];

	RL_PASS(rl_store_create(f->dir, &s, &opts_min));
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(path_in(f->dir, "data.mdb"), &sb), 0);
	assert_int_equal(sb.st_mode & 0077, 0);

	st = open_pass(f->dir, PASS);
	assert_int_equal(count(st, RL_T_STATES), 0);
	rl_store_close(st);
	rl_store_close(NULL);

	/* Opened twice in a row, and a second create is refused. */
	st = open_pass(f->dir, PASS);
	rl_store_close(st);
	RL_FAIL(rl_store_create(f->dir, &s, &opts_min), RL_EEXIST);
	st = open_pass(f->dir, PASS);
	rl_store_close(st);

	/* A missing parent is an I/O error and leaves nothing behind. */
	snprintf(deep, sizeof deep, "%s/no/such", f->base);
	RL_FAIL(rl_store_create(deep, &s, &opts_min), RL_EIO);
	assert_int_not_equal(stat(path_in(f->base, "no"), &sb), 0);

	/* An existing empty directory is fine. */
	assert_int_equal(mkdir(f->aux, 0700), 0);
	RL_PASS(rl_store_create(f->aux, &s, &opts_min));
	st = open_pass(f->aux, PASS);
	rl_store_close(st);
}

static void
test_put_get_del_count(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	rl_txn *txn;
	rl_buf b;
	char k[32], v[64];

	rl_buf_init(&b);
	RL_PASS(rl_store_begin(st, true, &txn));
	for (int t = 0; t < RL_T__COUNT; t++) {
		for (int i = 0; i < 3; i++) {
			snprintf(k, sizeof k, "key-%d", i);
			snprintf(v, sizeof v, "value %d of table %d", i, t);
			RL_PASS(rl_store_put(txn, (rl_table)t, str(k), str(v)));
		}
	}
	/* Reads inside the write txn see its writes. */
	for (int t = 0; t < RL_T__COUNT; t++) {
		size_t n;

		RL_PASS(rl_store_count(txn, (rl_table)t, &n));
		assert_int_equal(n, 3);
		RL_PASS(rl_store_get(txn, (rl_table)t, str("key-1"), &b));
		snprintf(v, sizeof v, "value 1 of table %d", t);
		assert_int_equal(b.len, strlen(v));
		assert_memory_equal(b.data, v, b.len);
	}
	RL_PASS(rl_store_commit(txn));

	for (int t = 0; t < RL_T__COUNT; t++) {
		/* Overwrite, delete, delete again. */
		snprintf(v, sizeof v, "new value of table %d", t);
		put_str(st, (rl_table)t, "key-0", v);
		expect_str(st, (rl_table)t, "key-0", v);
		RL_PASS(rl_store_begin(st, true, &txn));
		RL_PASS(rl_store_del(txn, (rl_table)t, str("key-2")));
		RL_FAIL(rl_store_del(txn, (rl_table)t, str("key-2")), RL_ENOTFOUND);
		RL_FAIL(rl_store_del(txn, (rl_table)t, str("never")), RL_ENOTFOUND);
		/* RL_ENOTFOUND from del does not fail the transaction. */
		RL_PASS(rl_store_commit(txn));
		expect_str(st, (rl_table)t, "key-2", NULL);
		assert_int_equal(count(st, (rl_table)t), 2);
	}
	rl_store_close(st);

	/* Everything survives a reopen. */
	st = open_pass(f->dir, PASS);
	for (int t = 0; t < RL_T__COUNT; t++) {
		snprintf(v, sizeof v, "new value of table %d", t);
		expect_str(st, (rl_table)t, "key-0", v);
		snprintf(v, sizeof v, "value 1 of table %d", t);
		expect_str(st, (rl_table)t, "key-1", v);
		expect_str(st, (rl_table)t, "key-2", NULL);
		assert_int_equal(count(st, (rl_table)t), 2);
	}
	rl_store_close(st);
	rl_buf_fini(&b);
}

static void
test_value_sizes(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	size_t big = 300 * 1024;
	uint8_t *p = malloc(big);
	rl_txn *txn;
	rl_buf b;

	assert_non_null(p);
	rl_random(p, big);
	rl_buf_init(&b);
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_put(txn, RL_T_STATES, str("empty"), RL_BYTES(NULL, 0)));
	RL_PASS(rl_store_put(txn, RL_T_INDEX, str("empty"), RL_BYTES(NULL, 0)));
	RL_PASS(rl_store_put(txn, RL_T_LOG, str("big"), RL_BYTES(p, big)));
	RL_PASS(rl_store_commit(txn));

	/* The old content of out is replaced, not appended to. */
	RL_PASS(rl_buf_append(&b, "junk", 4));
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_store_get(txn, RL_T_STATES, str("empty"), &b));
	assert_int_equal(b.len, 0);
	RL_PASS(rl_buf_append(&b, "junk", 4));
	RL_PASS(rl_store_get(txn, RL_T_INDEX, str("empty"), &b));
	assert_int_equal(b.len, 0);
	RL_PASS(rl_store_get(txn, RL_T_LOG, str("big"), &b));
	assert_int_equal(b.len, big);
	assert_memory_equal(b.data, p, big);
	rl_store_abort(txn);
	rl_buf_fini(&b);
	free(p);
	rl_store_close(st);
}

static void
test_key_limits(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	uint8_t k[RL_STORE_MAX_KEY + 1];
	rl_txn *txn;
	rl_buf b;

	memset(k, 'k', sizeof k);
	rl_buf_init(&b);
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_put(txn, RL_T_META, RL_BYTES(k, RL_STORE_MAX_KEY), str("max")));
	RL_PASS(rl_store_commit(txn));
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_store_get(txn, RL_T_META, RL_BYTES(k, RL_STORE_MAX_KEY), &b));
	assert_int_equal(b.len, 3);
	RL_FAIL(rl_store_get(txn, RL_T_META, RL_BYTES(k, sizeof k), &b), RL_ETOOBIG);
	RL_FAIL(rl_store_get(txn, RL_T_META, RL_BYTES(k, 0), &b), RL_EINVAL);
	/* Read argument errors do not fail a read txn. */
	RL_PASS(rl_store_get(txn, RL_T_META, RL_BYTES(k, RL_STORE_MAX_KEY), &b));
	rl_store_abort(txn);

	/* A put that fails fails the whole txn: commit stores nothing. */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_put(txn, RL_T_META, str("before"), str("x")));
	RL_FAIL(rl_store_put(txn, RL_T_META, RL_BYTES(k, sizeof k), str("x")), RL_ETOOBIG);
	RL_FAIL(rl_store_put(txn, RL_T_META, str("after"), str("x")), RL_ETOOBIG);
	RL_FAIL(rl_store_get(txn, RL_T_META, str("before"), &b), RL_ETOOBIG);
	RL_FAIL(rl_store_commit(txn), RL_ETOOBIG);
	expect_str(st, RL_T_META, "before", NULL);

	RL_PASS(rl_store_begin(st, true, &txn));
	RL_FAIL(rl_store_put(txn, RL_T_META, RL_BYTES(k, 0), str("x")), RL_EINVAL);
	RL_FAIL(rl_store_commit(txn), RL_EINVAL);
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_FAIL(rl_store_del(txn, RL_T_META, RL_BYTES(k, sizeof k)), RL_ETOOBIG);
	rl_store_abort(txn);
	assert_int_equal(count(st, RL_T_META), 1);
	rl_buf_fini(&b);
	rl_store_close(st);
}

static void
test_tables_isolated(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	char v[32];

	for (int t = 0; t < RL_T__COUNT; t++) {
		snprintf(v, sizeof v, "table %d", t);
		put_str(st, (rl_table)t, "same-key", v);
	}
	for (int t = 0; t < RL_T__COUNT; t++) {
		snprintf(v, sizeof v, "table %d", t);
		expect_str(st, (rl_table)t, "same-key", v);
		assert_int_equal(count(st, (rl_table)t), 1);
	}
	put_str(st, RL_T_STATES, "only-states", "x");
	expect_str(st, RL_T_META, "only-states", NULL);
	rl_store_close(st);
}

static void
test_cursor(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	static const uint64_t order[] = { 50, 10, 40, 20, 30, 70, 60 };
	uint8_t kb[8], vb[8];
	rl_txn *txn;
	rl_cursor *c, *c2;
	rl_bytes k;
	rl_buf v;
	uint64_t want;

	rl_buf_init(&v);
	/* An empty table. */
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_OUTBOX, &c));
	RL_FAIL(rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v), RL_ENOTFOUND);
	RL_FAIL(rl_cursor_last(c, &k, &v), RL_ENOTFOUND);
	rl_cursor_close(c);
	rl_cursor_close(NULL);
	rl_store_abort(txn);

	RL_PASS(rl_store_begin(st, true, &txn));
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		RL_PASS(rl_store_put(txn, RL_T_OUTBOX, be64(kb, order[i]), be64(vb, order[i] * 3)));
	RL_PASS(rl_store_commit(txn));

	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_OUTBOX, &c));
	/* Full walk in key order, values opened. */
	want = 10;
	RL_PASS(rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v));
	for (;;) {
		assert_int_equal(k.len, 8);
		assert_int_equal(rl_get_be64(k.p), want);
		assert_int_equal(v.len, 8);
		assert_int_equal(rl_get_be64(v.data), want * 3);
		want += 10;
		rl_err e = rl_cursor_next(c, &k, &v);
		if (e == RL_ENOTFOUND)
			break;
		RL_PASS(e);
	}
	assert_int_equal(want, 80);
	RL_FAIL(rl_cursor_next(c, &k, &v), RL_ENOTFOUND);

	/* Seek to an absent key lands on the next greater one. */
	RL_PASS(rl_cursor_seek(c, be64(kb, 35), &k, &v));
	assert_int_equal(rl_get_be64(k.p), 40);
	RL_PASS(rl_cursor_seek(c, be64(kb, 40), &k, NULL));
	assert_int_equal(rl_get_be64(k.p), 40);
	RL_PASS(rl_cursor_next(c, &k, NULL));
	assert_int_equal(rl_get_be64(k.p), 50);
	/* A shorter key sorts before its extensions (memcmp order). */
	RL_PASS(rl_cursor_seek(c, RL_BYTES(kb, 1), &k, NULL));
	assert_int_equal(rl_get_be64(k.p), 10);
	RL_FAIL(rl_cursor_seek(c, be64(kb, 71), &k, &v), RL_ENOTFOUND);
	RL_PASS(rl_cursor_last(c, &k, &v));
	assert_int_equal(rl_get_be64(k.p), 70);
	assert_int_equal(rl_get_be64(v.data), 210);

	/* Two cursors on different tables at once. */
	RL_PASS(rl_cursor_open(txn, RL_T_LOG, &c2));
	RL_FAIL(rl_cursor_last(c2, &k, NULL), RL_ENOTFOUND);
	rl_cursor_close(c2);
	rl_cursor_close(c);
	rl_store_abort(txn);

	/* Delete while walking: drop the multiples of 20. */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_OUTBOX, &c));
	rl_err e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL);
	while (e == RL_OK) {
		if (rl_get_be64(k.p) % 20 == 0)
			RL_PASS(rl_cursor_del(c));
		e = rl_cursor_next(c, &k, NULL);
	}
	RL_FAIL(e, RL_ENOTFOUND);
	rl_cursor_close(c);
	RL_PASS(rl_store_commit(txn));
	assert_int_equal(count(st, RL_T_OUTBOX), 4);

	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_OUTBOX, &c));
	want = 10;
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v)) {
		assert_int_equal(rl_get_be64(k.p), want);
		assert_int_equal(rl_get_be64(v.data), want * 3);
		want += 20;
	}
	RL_FAIL(e, RL_ENOTFOUND);
	assert_int_equal(want, 90);
	rl_cursor_close(c);
	rl_store_abort(txn);

	/* Delete everything through a cursor. */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_OUTBOX, &c));
	while (rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL) == RL_OK)
		RL_PASS(rl_cursor_del(c));
	rl_cursor_close(c);
	RL_PASS(rl_store_commit(txn));
	assert_int_equal(count(st, RL_T_OUTBOX), 0);

	rl_buf_fini(&v);
	rl_store_close(st);
}

/* Cursors left open are closed by commit and abort (ASan checks leaks). */
static void
test_cursor_left_open(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	rl_txn *txn;
	rl_cursor *c;

	put_str(st, RL_T_META, "a", "1");
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_META, &c));
	RL_PASS(rl_cursor_open(txn, RL_T_STATES, &c));
	RL_FAIL(rl_cursor_seek(c, RL_BYTES(NULL, 0), NULL, NULL), RL_ENOTFOUND);
	rl_store_abort(txn);
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_META, &c));
	RL_PASS(rl_store_commit(txn));
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_META, &c));
	RL_PASS(rl_cursor_seek(c, RL_BYTES(NULL, 0), NULL, NULL));
	RL_PASS(rl_store_commit(txn));
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_META, &c));
	rl_store_abort(txn);
	rl_store_close(st);
}

static void
test_append(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	uint8_t kb[8], vb[8];
	rl_txn *txn;
	rl_cursor *c;
	rl_bytes k;
	rl_buf v;
	uint64_t want;
	rl_err e;

	rl_buf_init(&v);
	RL_PASS(rl_store_begin(st, true, &txn));
	for (uint64_t i = 1; i <= 2000; i++)
		RL_PASS(rl_store_append(txn, RL_T_LOG, be64(kb, i), be64(vb, ~i)));
	RL_PASS(rl_store_commit(txn));

	/* Appending continues across txns. */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_append(txn, RL_T_LOG, be64(kb, 2001), be64(vb, ~(uint64_t)2001)));
	RL_PASS(rl_store_commit(txn));

	/* Equal or smaller keys are refused and the txn stores nothing. */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_append(txn, RL_T_LOG, be64(kb, 3000), be64(vb, 0)));
	RL_FAIL(rl_store_append(txn, RL_T_LOG, be64(kb, 3000), be64(vb, 0)), RL_EINVAL);
	RL_FAIL(rl_store_commit(txn), RL_EINVAL);
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_FAIL(rl_store_append(txn, RL_T_LOG, be64(kb, 5), be64(vb, 0)), RL_EINVAL);
	rl_store_abort(txn);
	assert_int_equal(count(st, RL_T_LOG), 2001);

	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_LOG, &c));
	want = 1;
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v)) {
		assert_int_equal(rl_get_be64(k.p), want);
		assert_int_equal(rl_get_be64(v.data), ~want);
		want++;
	}
	RL_FAIL(e, RL_ENOTFOUND);
	assert_int_equal(want, 2002);
	RL_PASS(rl_cursor_last(c, &k, NULL));
	assert_int_equal(rl_get_be64(k.p), 2001);
	rl_cursor_close(c);
	rl_store_abort(txn);

	/* Across many pages: rewrite every entry under the key the cursor
	 * returned (a pointer into the page being rewritten), with a longer
	 * value, and delete the odd ones. */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_LOG, &c));
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL); e == RL_OK;
	     e = rl_cursor_next(c, &k, NULL)) {
		uint8_t nv[16];

		want = rl_get_be64(k.p);
		if (want % 2 == 1) {
			RL_PASS(rl_cursor_del(c));
			continue;
		}
		rl_put_be64(nv, want);
		rl_put_be64(nv + 8, want * 5);
		RL_PASS(rl_store_put(txn, RL_T_LOG, k, RL_BYTES(nv, sizeof nv)));
	}
	RL_FAIL(e, RL_ENOTFOUND);
	rl_cursor_close(c);
	RL_PASS(rl_store_commit(txn));
	assert_int_equal(count(st, RL_T_LOG), 1000);
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_cursor_open(txn, RL_T_LOG, &c));
	want = 2;
	for (e = rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v); e == RL_OK;
	     e = rl_cursor_next(c, &k, &v)) {
		assert_int_equal(rl_get_be64(k.p), want);
		assert_int_equal(v.len, 16);
		assert_int_equal(rl_get_be64(v.data), want);
		assert_int_equal(rl_get_be64(v.data + 8), want * 5);
		want += 2;
	}
	RL_FAIL(e, RL_ENOTFOUND);
	assert_int_equal(want, 2002);
	rl_cursor_close(c);
	rl_store_abort(txn);
	rl_buf_fini(&v);
	rl_store_close(st);
}

static void
test_wrong_pass(void **state)
{
	fx *f = *state;
	rl_secret s = pass_secret(PASS), bad = pass_secret(PASS "!"), empty = pass_secret("");
	rl_secret k = key_secret(key_a);
	rl_store *st = NULL;

	RL_PASS(rl_store_create(f->dir, &s, &opts_min));
	RL_FAIL(rl_store_open(f->dir, &bad, &opts_min, &st), RL_EKEY);
	RL_FAIL(rl_store_open(f->dir, &empty, &opts_min, &st), RL_EKEY);
	RL_FAIL(rl_store_open(f->dir, &k, &opts_min, &st), RL_EKEY);
	assert_null(st);
	/* The cost recorded at create is used, whatever opts say. */
	RL_PASS(rl_store_open(f->dir, &s, NULL, &st));
	rl_store_close(st);
}

static void
test_keyfile_store(void **state)
{
	fx *f = *state;
	rl_secret ka = key_secret(key_a), kb = key_secret(key_b), p = pass_secret(PASS);
	uint8_t key[RL_KEY_BYTES];
	char hex[2 * RL_KEY_BYTES + 2];
	rl_store *st = NULL;

	rl_hex_encode(key_a, RL_KEY_BYTES, hex);
	strcat(hex, "\n");
	assert_int_equal(mkdir(f->aux, 0700), 0);
	spit(path_in(f->aux, "key"), hex, strlen(hex));
	RL_PASS(rl_store_read_keyfile(path_in(f->aux, "key"), key));
	assert_memory_equal(key, key_a, RL_KEY_BYTES);

	RL_PASS(rl_store_create(f->dir, &ka, NULL));
	RL_FAIL(rl_store_open(f->dir, &kb, NULL, &st), RL_EKEY);
	RL_FAIL(rl_store_open(f->dir, &p, &opts_min, &st), RL_EKEY);
	assert_null(st);
	RL_PASS(rl_store_open(f->dir, &ka, NULL, &st));
	put_str(st, RL_T_DEVICES, "dev", "device record");
	rl_store_close(st);
	st = NULL;
	RL_PASS(rl_store_open(f->dir, &(rl_secret){ NULL, 0, key }, NULL, &st));
	expect_str(st, RL_T_DEVICES, "dev", "device record");
	rl_store_close(st);
}

static void
test_read_keyfile(void **state)
{
	fx *f = *state;
	uint8_t key[RL_KEY_BYTES], raw[RL_KEY_BYTES];
	char hex[2 * RL_KEY_BYTES + 1], buf[2 * RL_KEY_BYTES + 8];
	const char *kf;

	assert_int_equal(mkdir(f->aux, 0700), 0);
	kf = path_in(f->aux, "key");
	rl_random(raw, sizeof raw);
	rl_hex_encode(raw, sizeof raw, hex);

	spit(kf, raw, sizeof raw); /* raw */
	RL_PASS(rl_store_read_keyfile(kf, key));
	assert_memory_equal(key, raw, RL_KEY_BYTES);
	memset(key, 0, sizeof key);
	spit(kf, hex, strlen(hex)); /* hex */
	RL_PASS(rl_store_read_keyfile(kf, key));
	assert_memory_equal(key, raw, RL_KEY_BYTES);
	for (char *p = hex; *p; p++) /* upper-case hex with a newline */
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(buf, sizeof buf, "%s\n", hex);
	memset(key, 0, sizeof key);
	spit(kf, buf, strlen(buf));
	RL_PASS(rl_store_read_keyfile(kf, key));
	assert_memory_equal(key, raw, RL_KEY_BYTES);

	snprintf(buf, sizeof buf, "%s\n\n", hex); /* two newlines */
	spit(kf, buf, strlen(buf));
	RL_FAIL(rl_store_read_keyfile(kf, key), RL_EKEY);
	snprintf(buf, sizeof buf, "%s ", hex); /* trailing space */
	spit(kf, buf, strlen(buf));
	RL_FAIL(rl_store_read_keyfile(kf, key), RL_EKEY);
	snprintf(buf, sizeof buf, "%s", hex); /* bad character */
	buf[10] = 'g';
	spit(kf, buf, strlen(buf));
	RL_FAIL(rl_store_read_keyfile(kf, key), RL_EKEY);
	spit(kf, hex, 63); /* short */
	RL_FAIL(rl_store_read_keyfile(kf, key), RL_EKEY);
	spit(kf, raw, 31);
	RL_FAIL(rl_store_read_keyfile(kf, key), RL_EKEY);
	spit(kf, raw, 0);
	RL_FAIL(rl_store_read_keyfile(kf, key), RL_EKEY);
	memset(buf, 'a', sizeof buf); /* long */
	spit(kf, buf, sizeof buf);
	RL_FAIL(rl_store_read_keyfile(kf, key), RL_EKEY);
	RL_FAIL(rl_store_read_keyfile(path_in(f->aux, "missing"), key), RL_EIO);
	RL_FAIL(rl_store_read_keyfile(f->aux, key), RL_EIO); /* a directory */
}

static void
test_rekey(void **state)
{
	fx *f = *state;
	rl_secret p1 = pass_secret(PASS), p2 = pass_secret("new passphrase");
	rl_secret ka = key_secret(key_a), p3 = pass_secret("third");
	rl_store *st = make_store(f->dir), *st2 = NULL;

	put_str(st, RL_T_STATES, "sit", "state");
	put_str(st, RL_T_INDEX, "idx", "plain");
	RL_PASS(rl_store_rekey(st, &p2));
	/* The open store keeps working. */
	expect_str(st, RL_T_STATES, "sit", "state");
	put_str(st, RL_T_STATES, "sit2", "after rekey");
	rl_store_close(st);

	RL_FAIL(rl_store_open(f->dir, &p1, &opts_min, &st2), RL_EKEY);
	st = open_pass(f->dir, "new passphrase");
	expect_str(st, RL_T_STATES, "sit", "state");
	expect_str(st, RL_T_STATES, "sit2", "after rekey");
	expect_str(st, RL_T_INDEX, "idx", "plain");

	/* Passphrase to key file. */
	RL_PASS(rl_store_rekey(st, &ka));
	rl_store_close(st);
	RL_FAIL(rl_store_open(f->dir, &p2, &opts_min, &st2), RL_EKEY);
	RL_PASS(rl_store_open(f->dir, &ka, &opts_min, &st));
	expect_str(st, RL_T_STATES, "sit", "state");

	/* And back to a passphrase. */
	RL_PASS(rl_store_rekey(st, &p3));
	rl_store_close(st);
	RL_FAIL(rl_store_open(f->dir, &ka, &opts_min, &st2), RL_EKEY);
	RL_FAIL(rl_store_open(f->dir, &p2, &opts_min, &st2), RL_EKEY);
	assert_null(st2);
	st = open_pass(f->dir, "third");
	expect_str(st, RL_T_STATES, "sit2", "after rekey");
	rl_store_close(st);
}

static void
test_open_nothing(void **state)
{
	fx *f = *state;
	rl_secret s = pass_secret(PASS);
	rl_store *st = NULL;
	struct stat sb;

	/* Missing directory: not created. */
	RL_FAIL(rl_store_open(f->dir, &s, &opts_min, &st), RL_ENOSTORE);
	assert_int_not_equal(stat(f->dir, &sb), 0);
	/* Empty directory: stays empty. */
	assert_int_equal(mkdir(f->dir, 0700), 0);
	RL_FAIL(rl_store_open(f->dir, &s, &opts_min, &st), RL_ENOSTORE);
	assert_int_equal(dir_entries(f->dir), 0);
	/* A path through a regular file. */
	spit(f->aux, "x", 1);
	RL_FAIL(rl_store_open(f->aux, &s, &opts_min, &st), RL_ENOSTORE);
	assert_null(st);
}

/* Backs up a store and replaces its data.mdb with new bytes. */
static void
replace_data(const char *dir, const void *p, size_t n)
{
	spit(path_in(dir, "data.mdb"), p, n);
	unlink(path_in(dir, "lock.mdb"));
}

static void
expect_open_fails(const char *dir)
{
	rl_secret s = pass_secret(PASS);
	rl_store *st = NULL;
	rl_err e = rl_store_open(dir, &s, &opts_min, &st);

	if (e != RL_ECORRUPT && e != RL_EIO)
		fail_msg("open of a damaged store: %s", rl_strerror(e));
	assert_null(st);
}

static void
test_open_damaged(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	uint8_t v[500], *orig, *junk;
	uint8_t kb[8];
	size_t n;
	rl_txn *txn;

	/* Enough data to span many pages. */
	memset(v, 'v', sizeof v);
	RL_PASS(rl_store_begin(st, true, &txn));
	for (uint64_t i = 0; i < 400; i++)
		RL_PASS(rl_store_put(txn, RL_T_STATES, be64(kb, i * 7919), RL_BYTES(v, sizeof v)));
	RL_PASS(rl_store_commit(txn));
	rl_store_close(st);
	orig = slurp(path_in(f->dir, "data.mdb"), &n);
	assert_true(n > 64 * 1024);

	replace_data(f->dir, orig, n / 2); /* the metas survive, data pages lost */
	expect_open_fails(f->dir);
	replace_data(f->dir, orig, 8192 + 100);
	expect_open_fails(f->dir);
	replace_data(f->dir, orig, 4096);
	expect_open_fails(f->dir);
	replace_data(f->dir, orig, 100);
	expect_open_fails(f->dir);
	replace_data(f->dir, orig, 0);
	expect_open_fails(f->dir);
	junk = malloc(n);
	assert_non_null(junk);
	rl_random(junk, n);
	replace_data(f->dir, junk, n); /* garbage */
	expect_open_fails(f->dir);
	memset(junk, 0, n); /* zeros */
	replace_data(f->dir, junk, n);
	expect_open_fails(f->dir);
	free(junk);

	/* The original bytes still make a good store. */
	replace_data(f->dir, orig, n);
	st = open_pass(f->dir, PASS);
	assert_int_equal(count(st, RL_T_STATES), 400);
	rl_store_close(st);
	free(orig);
}

/* An LMDB environment without a keyring is not a store. */
static void
test_open_no_keyring(void **state)
{
	fx *f = *state;
	rl_secret s = pass_secret(PASS);
	rl_store *st = make_store(f->dir), *st2 = NULL;
	uint8_t *p;
	size_t n, at[8], c;

	rl_store_close(st);
	/* Rename the keyring's entry in the main database. */
	p = slurp(path_in(f->dir, "data.mdb"), &n);
	c = find_all(p, n, "keyring", 7, at, 8);
	assert_true(c >= 1);
	for (size_t i = 0; i < c; i++)
		p[at[i] - 1] = 'X';
	spit(path_in(f->dir, "data.mdb"), p, n);
	free(p);
	RL_FAIL(rl_store_open(f->dir, &s, &opts_min, &st2), RL_ENOSTORE);
	assert_null(st2);
}

static void
tamper_keyring(const char *dir, const char *field, long off, uint8_t x)
{
	uint8_t *p;
	size_t n, at[8], c;

	p = slurp(path_in(dir, "data.mdb"), &n);
	c = find_all(p, n, field, strlen(field), at, 8);
	assert_true(c >= 1);
	for (size_t i = 0; i < c; i++)
		p[(long)at[i] + off] ^= x;
	spit(path_in(dir, "data.mdb"), p, n);
	free(p);
}

static void
test_keyring_damaged(void **state)
{
	fx *f = *state;
	rl_secret s = pass_secret(PASS);
	rl_store *st = NULL;
	uint8_t *orig;
	size_t n;

	rl_store_close(make_store(f->dir));
	orig = slurp(path_in(f->dir, "data.mdb"), &n);

	tamper_keyring(f->dir, "version", 3, 0x02); /* version 2 -> 0 */
	RL_FAIL(rl_store_open(f->dir, &s, &opts_min, &st), RL_EVERSION);
	replace_data(f->dir, orig, n);
	tamper_keyring(f->dir, "kind", 0, 0x70); /* unknown kind */
	RL_FAIL(rl_store_open(f->dir, &s, &opts_min, &st), RL_ECORRUPT);
	replace_data(f->dir, orig, n);
	tamper_keyring(f->dir, "dkey", 30, 0x01); /* wrapped key */
	RL_FAIL(rl_store_open(f->dir, &s, &opts_min, &st), RL_EKEY);
	replace_data(f->dir, orig, n);
	tamper_keyring(f->dir, "salt", 0, 0x01); /* salt: another KEK */
	RL_FAIL(rl_store_open(f->dir, &s, &opts_min, &st), RL_EKEY);
	replace_data(f->dir, orig, n);
	tamper_keyring(f->dir, "ops", 0, 0x80); /* absurd argon2id cost */
	RL_FAIL(rl_store_open(f->dir, &s, &opts_min, &st), RL_ECORRUPT);
	replace_data(f->dir, orig, n);
	tamper_keyring(f->dir, "dkey", -4, 'X'); /* field renamed: missing */
	RL_FAIL(rl_store_open(f->dir, &s, &opts_min, &st), RL_ECORRUPT);
	assert_null(st);

	replace_data(f->dir, orig, n);
	st = open_pass(f->dir, PASS);
	rl_store_close(st);
	free(orig);
}

static void
test_tampered_value(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	static const char ka[] = "TAMPER-KEY-AAAAA", kb[] = "TAMPER-KEY-BBBBB";
	rl_txn *txn;
	rl_cursor *c;
	rl_bytes k;
	rl_buf v;
	uint8_t *p, tmp[64];
	size_t n, at[8], c1, c2;

	rl_buf_init(&v);
	/* One txn, so the leaf page exists once in the file (LMDB copies a
	 * page on write and leaves the old copy in free space). */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_put(txn, RL_T_STATES, str(ka), str("value of a, 24 bytes ...")));
	RL_PASS(rl_store_put(txn, RL_T_STATES, str(kb), str("value of b, 24 bytes ...")));
	RL_PASS(rl_store_put(txn, RL_T_STATES, str("TAMPER-KEY-CCCCC"), str("untouched")));
	RL_PASS(rl_store_commit(txn));
	rl_store_close(st);

	/* Swap the sealed values of a and b: each now has the other's ad. */
	p = slurp(path_in(f->dir, "data.mdb"), &n);
	c1 = find_all(p, n, ka, 16, at, 2);
	assert_int_equal(c1, 1);
	c2 = find_all(p, n, kb, 16, at + 1, 2);
	assert_int_equal(c2, 1);
	memcpy(tmp, p + at[0], 24 + RL_SEAL_OVERHEAD);
	memcpy(p + at[0], p + at[1], 24 + RL_SEAL_OVERHEAD);
	memcpy(p + at[1], tmp, 24 + RL_SEAL_OVERHEAD);
	spit(path_in(f->dir, "data.mdb"), p, n);
	free(p);

	st = open_pass(f->dir, PASS);
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_FAIL(rl_store_get(txn, RL_T_STATES, str(ka), &v), RL_ECORRUPT);
	RL_FAIL(rl_store_get(txn, RL_T_STATES, str(kb), &v), RL_ECORRUPT);
	/* Damage is per value: the txn and other values still work. */
	RL_PASS(rl_store_get(txn, RL_T_STATES, str("TAMPER-KEY-CCCCC"), &v));
	assert_int_equal(v.len, 9);
	RL_PASS(rl_cursor_open(txn, RL_T_STATES, &c));
	RL_FAIL(rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, &v), RL_ECORRUPT);
	assert_int_equal(k.len, 16); /* the damaged entry is named */
	assert_memory_equal(k.p, ka, 16);
	RL_PASS(rl_cursor_seek(c, RL_BYTES(NULL, 0), &k, NULL)); /* keys only: fine */
	rl_cursor_close(c);
	rl_store_abort(txn);

	/* The damaged entries can be deleted. */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_del(txn, RL_T_STATES, str(ka)));
	RL_PASS(rl_store_commit(txn));
	rl_store_close(st);

	/* Flip one ciphertext byte of "untouched". */
	p = slurp(path_in(f->dir, "data.mdb"), &n);
	c1 = find_all(p, n, "TAMPER-KEY-CCCCC", 16, at, 8);
	assert_true(c1 >= 1);
	for (size_t i = 0; i < c1; i++)
		p[at[i] + RL_NONCE_BYTES + 3] ^= 0x20;
	spit(path_in(f->dir, "data.mdb"), p, n);
	free(p);
	st = open_pass(f->dir, PASS);
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_FAIL(rl_store_get(txn, RL_T_STATES, str("TAMPER-KEY-CCCCC"), &v), RL_ECORRUPT);
	rl_store_abort(txn);
	rl_store_close(st);
	rl_buf_fini(&v);
}

/* The same key and value moved between two tables does not open. */
static void
test_swap_tables(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	static const char kx[] = "TABLE-SWAP-KEY-X";
	rl_txn *txn;
	rl_buf v;
	uint8_t *p, tmp[64];
	size_t n, at[4], c;

	rl_buf_init(&v);
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_put(txn, RL_T_META, str(kx), str("meta value......")));
	RL_PASS(rl_store_put(txn, RL_T_AUDIT, str(kx), str("audit value.....")));
	RL_PASS(rl_store_commit(txn));
	rl_store_close(st);
	p = slurp(path_in(f->dir, "data.mdb"), &n);
	c = find_all(p, n, kx, 16, at, 4);
	assert_int_equal(c, 2);
	memcpy(tmp, p + at[0], 16 + RL_SEAL_OVERHEAD);
	memcpy(p + at[0], p + at[1], 16 + RL_SEAL_OVERHEAD);
	memcpy(p + at[1], tmp, 16 + RL_SEAL_OVERHEAD);
	spit(path_in(f->dir, "data.mdb"), p, n);
	free(p);
	st = open_pass(f->dir, PASS);
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_FAIL(rl_store_get(txn, RL_T_META, str(kx), &v), RL_ECORRUPT);
	RL_FAIL(rl_store_get(txn, RL_T_AUDIT, str(kx), &v), RL_ECORRUPT);
	rl_store_abort(txn);
	rl_store_close(st);
	rl_buf_fini(&v);
}

static void
test_canary(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	rl_txn *txn;
	char v[256];
	uint8_t big[8192];

	snprintf(v, sizeof v, "{\"name\":\"Jean Dupont\",\"note\":\"%s\"}", CANARY);
	memset(big, '.', sizeof big);
	memcpy(big + 5000, CANARY, strlen(CANARY));
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_put(txn, RL_T_STATES, str("situation-0001"), str(v)));
	RL_PASS(rl_store_put(txn, RL_T_META, str("device-name"), str(v)));
	RL_PASS(rl_store_put(txn, RL_T_AUDIT, str("big"), RL_BYTES(big, sizeof big)));
	RL_PASS(rl_store_commit(txn));
	/* Overwritten and deleted values leave no plaintext behind either. */
	put_str(st, RL_T_STATES, "situation-0001", "replaced");
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_del(txn, RL_T_META, str("device-name")));
	RL_PASS(rl_store_commit(txn));
	put_str(st, RL_T_OUTBOX, "o", v);
	rl_store_close(st);

	assert_false(dir_contains(f->dir, CANARY, strlen(CANARY)));
	assert_false(dir_contains(f->dir, "Jean Dupont", 11));
	assert_false(dir_contains(f->dir, PASS, strlen(PASS)));
	/* The check itself works: keys are plaintext. */
	assert_true(dir_contains(f->dir, "situation-0001", 14));
}

static void
test_abort(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	rl_txn *txn, *rd;
	rl_buf v;

	rl_buf_init(&v);
	put_str(st, RL_T_META, "kept", "1");
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_put(txn, RL_T_META, str("dropped"), str("2")));
	RL_PASS(rl_store_del(txn, RL_T_META, str("kept")));
	rl_store_abort(txn);
	rl_store_abort(NULL);
	expect_str(st, RL_T_META, "kept", "1");
	expect_str(st, RL_T_META, "dropped", NULL);

	/* A reader keeps its snapshot across a later commit. */
	RL_PASS(rl_store_begin(st, false, &rd));
	put_str(st, RL_T_META, "kept", "changed");
	RL_PASS(rl_store_get(rd, RL_T_META, str("kept"), &v));
	assert_int_equal(v.len, 1);
	assert_memory_equal(v.data, "1", 1);
	RL_PASS(rl_store_commit(rd));
	expect_str(st, RL_T_META, "kept", "changed");
	rl_store_close(st);

	st = open_pass(f->dir, PASS);
	expect_str(st, RL_T_META, "dropped", NULL);
	assert_int_equal(count(st, RL_T_META), 1);
	rl_store_close(st);
	rl_buf_fini(&v);
}

static void
test_fault_full(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir);
	rl_txn *txn;
	rl_buf v;

	rl_buf_init(&v);
	rl_store_fault_full_after(st, 2);
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_put(txn, RL_T_STATES, str("a"), str("1")));
	RL_PASS(rl_store_append(txn, RL_T_LOG, str("b"), str("2")));
	RL_FAIL(rl_store_put(txn, RL_T_STATES, str("c"), str("3")), RL_EFULL);
	/* The txn is failed: everything after returns the same error. */
	RL_FAIL(rl_store_get(txn, RL_T_STATES, str("a"), &v), RL_EFULL);
	RL_FAIL(rl_store_del(txn, RL_T_STATES, str("a")), RL_EFULL);
	RL_FAIL(rl_store_commit(txn), RL_EFULL);
	assert_int_equal(count(st, RL_T_STATES), 0);
	assert_int_equal(count(st, RL_T_LOG), 0);

	/* Still full until disabled; reads are unaffected. */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_FAIL(rl_store_put(txn, RL_T_INDEX, str("x"), str("y")), RL_EFULL);
	rl_store_abort(txn);
	rl_store_fault_full_after(st, -1);
	put_str(st, RL_T_STATES, "a", "1");
	expect_str(st, RL_T_STATES, "a", "1");

	/* 0: the very next put fails. */
	rl_store_fault_full_after(st, 0);
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_FAIL(rl_store_put(txn, RL_T_META, str("m"), str("1")), RL_EFULL);
	RL_FAIL(rl_store_commit(txn), RL_EFULL);
	rl_store_fault_full_after(st, -1);
	expect_str(st, RL_T_META, "m", NULL);
	rl_store_close(st);
	rl_buf_fini(&v);
}

static void
test_backup(void **state)
{
	fx *f = *state;
	rl_store *st = make_store(f->dir), *bk = NULL;
	rl_secret s = pass_secret(PASS), bad = pass_secret("nope");
	uint8_t kb[8];
	rl_txn *txn;
	struct stat sb;

	RL_PASS(rl_store_begin(st, true, &txn));
	for (uint64_t i = 0; i < 300; i++)
		RL_PASS(rl_store_append(txn, RL_T_LOG, be64(kb, i), str("log entry")));
	RL_PASS(rl_store_commit(txn));
	put_str(st, RL_T_STATES, "sit", "state");
	put_str(st, RL_T_INDEX, "idx", "plain");
	/* Deleted data is not in the compacted copy. */
	RL_PASS(rl_store_begin(st, true, &txn));
	for (uint64_t i = 100; i < 300; i++)
		RL_PASS(rl_store_del(txn, RL_T_LOG, be64(kb, i)));
	RL_PASS(rl_store_commit(txn));

	/* A reader open during the backup does not block it. */
	RL_PASS(rl_store_begin(st, false, &txn));
	RL_PASS(rl_store_backup(st, f->aux));
	rl_store_abort(txn);
	assert_int_equal(stat(f->aux, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(path_in(f->aux, "data.mdb"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	RL_FAIL(rl_store_backup(st, f->aux), RL_EEXIST);
	RL_FAIL(rl_store_create(f->aux, &s, &opts_min), RL_EEXIST);

	/* Later changes to the original do not reach the copy. */
	put_str(st, RL_T_STATES, "later", "x");
	rl_store_close(st);

	RL_FAIL(rl_store_open(f->aux, &bad, &opts_min, &bk), RL_EKEY);
	bk = open_pass(f->aux, PASS);
	expect_str(bk, RL_T_STATES, "sit", "state");
	expect_str(bk, RL_T_INDEX, "idx", "plain");
	expect_str(bk, RL_T_STATES, "later", NULL);
	assert_int_equal(count(bk, RL_T_LOG), 100);
	/* The copy is a full store: writable, rekeyable. */
	put_str(bk, RL_T_STATES, "in-copy", "y");
	RL_PASS(rl_store_rekey(bk, &bad));
	rl_store_close(bk);
	bk = open_pass(f->aux, "nope");
	expect_str(bk, RL_T_STATES, "in-copy", "y");
	rl_store_close(bk);
	/* The original is untouched by the copy's rekey. */
	st = open_pass(f->dir, PASS);
	expect_str(st, RL_T_STATES, "later", "x");
	rl_store_close(st);
}

static void
test_map_full(void **state)
{
	fx *f = *state;
	rl_store_opts small = { 1 << 20, RL_KDF_MIN };
	rl_secret s = pass_secret(PASS);
	rl_store *st = NULL;
	uint8_t kb[8], v[1000];
	rl_txn *txn;
	rl_buf b;
	uint64_t committed = 0, i = 0;
	rl_err e = RL_OK;

	rl_buf_init(&b);
	RL_PASS(rl_store_create(f->dir, &s, &small));
	RL_PASS(rl_store_open(f->dir, &s, &small, &st));
	while (e == RL_OK) {
		RL_PASS(rl_store_begin(st, true, &txn));
		for (int j = 0; j < 20 && e == RL_OK; j++, i++) {
			memset(v, (int)(i & 0xff), sizeof v);
			e = rl_store_put(txn, RL_T_STATES, be64(kb, i), RL_BYTES(v, sizeof v));
		}
		if (e == RL_OK) {
			e = rl_store_commit(txn);
			if (e == RL_OK)
				committed = i;
		} else {
			RL_FAIL(rl_store_commit(txn), RL_EFULL);
		}
		assert_true(i < 100000);
	}
	RL_FAIL(e, RL_EFULL);
	assert_true(committed > 100);
	assert_int_equal(count(st, RL_T_STATES), committed);

	/* Deleting still works when full, and frees room. */
	RL_PASS(rl_store_begin(st, true, &txn));
	RL_PASS(rl_store_del(txn, RL_T_STATES, be64(kb, 0)));
	RL_PASS(rl_store_commit(txn));
	rl_store_close(st);

	RL_PASS(rl_store_open(f->dir, &s, &small, &st));
	assert_int_equal(count(st, RL_T_STATES), committed - 1);
	RL_PASS(rl_store_begin(st, false, &txn));
	for (uint64_t k = 1; k < committed; k += 37) {
		RL_PASS(rl_store_get(txn, RL_T_STATES, be64(kb, k), &b));
		assert_int_equal(b.len, sizeof v);
		assert_int_equal(b.data[0], k & 0xff);
		assert_int_equal(b.data[sizeof v - 1], k & 0xff);
	}
	rl_store_abort(txn);
	rl_store_close(st);
	rl_buf_fini(&b);
}

/* ---- map sizes (rl_store_opts.map_bytes) ---- */

#define MAP_TINY ((size_t)64 << 10)  /* smaller than the filled store */
#define MAP_SMALL ((size_t)1 << 20)  /* fills after a few hundred values */
#define MAP_BIG ((size_t)64 << 30)   /* the server's default */
#define MAP_VAL_BYTES 1000

static rl_store *
open_map(const char *dir, size_t map_bytes)
{
	rl_store_opts o = { map_bytes, RL_KDF_MIN };
	rl_secret s = pass_secret(PASS);
	rl_store *st = NULL;

	RL_PASS(rl_store_open(dir, &s, &o, &st));
	return st;
}

static uint64_t
data_size(const char *dir)
{
	struct stat sb;

	assert_int_equal(stat(path_in(dir, "data.mdb"), &sb), 0);
	return (uint64_t)sb.st_size;
}

/* Puts keys *next, *next + 1, ... below to into STATES, 20 a transaction,
 * until to or an error, which it returns; *next is then the first key not
 * committed. A failed transaction must commit nothing. */
static rl_err
map_fill(rl_store *st, uint64_t *next, uint64_t to)
{
	uint8_t kb[8], v[MAP_VAL_BYTES];
	uint64_t i = *next;
	rl_txn *txn;
	rl_err e = RL_OK;

	while (e == RL_OK && i < to) {
		RL_PASS(rl_store_begin(st, true, &txn));
		for (int j = 0; j < 20 && i < to && e == RL_OK; j++, i++) {
			memset(v, (int)(i & 0xff), sizeof v);
			e = rl_store_put(txn, RL_T_STATES, be64(kb, i), RL_BYTES(v, sizeof v));
		}
		if (e == RL_OK)
			e = rl_store_commit(txn);
		else
			RL_FAIL(rl_store_commit(txn), e);
		if (e == RL_OK)
			*next = i;
	}
	return e;
}

/* STATES holds exactly keys 0 .. n-1, each with its whole value. */
static void
map_expect(rl_store *st, uint64_t n)
{
	uint8_t kb[8];
	rl_txn *txn;
	rl_buf b;

	rl_buf_init(&b);
	assert_int_equal(count(st, RL_T_STATES), n);
	RL_PASS(rl_store_begin(st, false, &txn));
	for (uint64_t k = 0; k < n; k += 13) {
		RL_PASS(rl_store_get(txn, RL_T_STATES, be64(kb, k), &b));
		assert_int_equal(b.len, MAP_VAL_BYTES);
		assert_int_equal(b.data[0], k & 0xff);
		assert_int_equal(b.data[MAP_VAL_BYTES - 1], k & 0xff);
	}
	RL_PASS(rl_store_get(txn, RL_T_STATES, be64(kb, n - 1), &b));
	RL_FAIL(rl_store_get(txn, RL_T_STATES, be64(kb, n), &b), RL_ENOTFOUND);
	rl_store_abort(txn);
	rl_buf_fini(&b);
}

/* The child of test_map_sizes: opens the store with a map smaller than its
 * data, waits (on `go`) while the parent writes past that map, then reads
 * and writes. Exit 0 if it saw want entries and its write committed. */
static void
map_child(const char *dir, int go, int ready, uint64_t want)
{
	rl_store_opts o = { MAP_SMALL, RL_KDF_MIN };
	rl_secret s = pass_secret(PASS);
	rl_store *st;
	rl_txn *txn;
	size_t n = 0;
	char c = 'r';

	if (rl_store_open(dir, &s, &o, &st) != RL_OK)
		_exit(3);
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		_exit(4);
	/* The parent's commits went past this map: LMDB says MDB_MAP_RESIZED,
	 * the store adopts the larger map and carries on. */
	if (rl_store_begin(st, false, &txn) != RL_OK)
		_exit(5);
	if (rl_store_count(txn, RL_T_STATES, &n) != RL_OK || n != want)
		_exit(6);
	rl_store_abort(txn);
	if (rl_store_begin(st, true, &txn) != RL_OK)
		_exit(7);
	if (rl_store_put(txn, RL_T_META, str("child"), str("1")) != RL_OK ||
	    rl_store_commit(txn) != RL_OK)
		_exit(8);
	rl_store_close(st);
	_exit(0);
}

/*
 * A store filled to its map, then opened with a smaller map than its data,
 * with the server's 64 GiB, and by a second process with a small map while
 * the first grows it: nothing is lost or half-written, the file never
 * shrinks, and never grows to the map size.
 */
static void
test_map_sizes(void **state)
{
	fx *f = *state;
	rl_store_opts small = { MAP_SMALL, RL_KDF_MIN };
	rl_secret s = pass_secret(PASS);
	uint64_t n = 0, n0, size_full, size_big;
	int go[2], ready[2], status;
	rl_store *st;
	pid_t pid;
	char c;

	/* Filled: RL_EFULL, and the transaction that failed left nothing. */
	RL_PASS(rl_store_create(f->dir, &s, &small));
	st = open_map(f->dir, MAP_SMALL);
	RL_FAIL(map_fill(st, &n, UINT64_MAX), RL_EFULL);
	assert_true(n > 100);
	map_expect(st, n);
	rl_store_close(st);
	size_full = data_size(f->dir);
	assert_true(size_full <= MAP_SMALL);

	/* A map smaller than the data: LMDB maps the data's size. Everything
	 * reads; writes find no room (a few may fit in free pages); the file
	 * is neither shrunk nor grown. */
	st = open_map(f->dir, MAP_TINY);
	map_expect(st, n);
	n0 = n;
	RL_FAIL(map_fill(st, &n, n + 1000), RL_EFULL);
	assert_true(n - n0 < 100);
	map_expect(st, n);
	rl_store_close(st);
	assert_int_equal(data_size(f->dir), size_full);

	/* The server's 64 GiB: opening does not grow the file (the map is
	 * address space), and writes go on past the old map. */
	st = open_map(f->dir, MAP_BIG);
	assert_int_equal(data_size(f->dir), size_full);
	RL_PASS(map_fill(st, &n, 4 * n));
	map_expect(st, n);
	size_big = data_size(f->dir);
	assert_true(size_big > MAP_SMALL && size_big < 64 * MAP_SMALL);

	/* Another process opens it with a small map while this one writes past
	 * it (an admin command beside the server). */
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		map_child(f->dir, go[0], ready[1], 2 * n);
	}
	close(go[0]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	RL_PASS(map_fill(st, &n, 2 * n));
	assert_int_equal(write(go[1], &c, 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(go[1]);
	close(ready[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the second process failed (status %d)", status);
	expect_str(st, RL_T_META, "child", "1");
	rl_store_close(st);

	/* Reopened with the first, now too small, map: all of it is there. */
	st = open_map(f->dir, MAP_SMALL);
	map_expect(st, n);
	expect_str(st, RL_T_META, "child", "1");
	rl_store_close(st);
	assert_true(data_size(f->dir) >= size_big);
}

/* Processes killed inside a read transaction while another keeps the store
 * open (the server, a watching client): their reader slots must not run out. */
static void
test_dead_readers(void **state)
{
	fx *f = *state;
	rl_secret s = pass_secret(PASS);
	rl_store *st = NULL;
	rl_txn *txn;

	RL_PASS(rl_store_create(f->dir, &s, &opts_min));
	RL_PASS(rl_store_open(f->dir, &s, &opts_min, &st));
	for (int i = 0; i < 300; i++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			rl_store *cst;
			rl_txn *ctx;

			if (rl_store_open(f->dir, &s, &opts_min, &cst) != RL_OK)
				_exit(3);
			if (rl_store_begin(cst, false, &ctx) != RL_OK)
				_exit(4);
			raise(SIGKILL);
			_exit(5);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("kill %d: the child could not read the store (exit %d)", i,
			         WEXITSTATUS(status));
	}
	RL_PASS(rl_store_begin(st, false, &txn));
	rl_store_abort(txn);
	rl_store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_get_del_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_isolated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_left_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_keyfile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_no_keyring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyring_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_readers, setup, teardown),
	};

	if (rl_crypto_init() != RL_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
