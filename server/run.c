/*
 * run.c - the HQ sync daemon: sessions, a worker pool and a single writer.
 *
 * Requests arrive on NNG REP contexts (net.c) and are queued as jobs. Worker
 * threads handle what only reads: handshakes (HELLO), pulls and pings, each
 * pull in its own read transaction. Pushes go to the one writer thread, which
 * takes every push waiting, checks and applies them all in one LMDB
 * transaction and commits once (group commit), then answers each: a push is
 * acknowledged only once that commit is durable. A change-set that fails its
 * checks is refused alone; an I/O failure (disk full) refuses the whole
 * group, and nothing of it is stored.
 *
 * Sessions live in a fixed table probed from the session id's first bytes;
 * each device holds a bounded number of sessions (the oldest is evicted), so
 * a flood of handshakes from one device cannot push others out. The table
 * lock also guards every session's counters while a frame is opened or
 * sealed.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/net.h"
#include "epoch.h"
#include "proto/msg.h"
#include "run.h"

#define SESS_PROBE 32
#define LAST_SEEN_EVERY_MS 30000

typedef struct sess_slot {
	bool used;
	rl_session s;
	uint8_t dev[RL_DEV_BYTES];
	uint64_t created_ms;
	uint64_t last_ms;
	uint64_t seen_written_ms;
} sess_slot;

typedef enum job_kind { JOB_NET, JOB_PUSH, JOB_AUDIT } job_kind;

typedef struct job {
	struct job *next;
	job_kind kind;
	rl_net_req *req;
	rl_buf msg;     /* the request frame */
	rl_buf body;    /* opened body of a sealed request */
	uint8_t sid[RL_SESSION_ID_BYTES];
	rl_device dev;
	/* push */
	rl_op *ops;
	rl_opid *pool;
	size_t nops;
	rl_err result;
	size_t applied;
	uint64_t upto;
	/* audit */
	const char *what;
	uint64_t count;
	rl_buf sits;
} job;

typedef struct jobq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job *head, *tail;
	size_t n;
} jobq;

typedef struct srv {
	rl_hub *hub;
	rl_run_opts o;
	rl_net_server *net;
	pthread_mutex_t smu; /* sessions */
	sess_slot *slots;
	jobq work, write;
	pthread_t *workers;
	pthread_t writer;
	uint8_t epoch[RL_EPOCH_BYTES]; /* fixed while serving */
	volatile sig_atomic_t stopping;
} srv;

/* ---- job queues ---- */

static void
jobq_init(jobq *q)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->head = q->tail = NULL;
	q->n = 0;
}

static void
jobq_push(jobq *q, job *j)
{
	pthread_mutex_lock(&q->mu);
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Takes one job (or all of them with take_all); NULL once stopping and empty. */
static job *
jobq_pop(jobq *q, srv *s, bool take_all)
{
	job *j;

	pthread_mutex_lock(&q->mu);
	while (q->head == NULL && !s->stopping)
		pthread_cond_wait(&q->cv, &q->mu);
	j = q->head;
	if (j != NULL) {
		if (take_all) {
			q->head = q->tail = NULL;
			q->n = 0;
		} else {
			q->head = j->next;
			if (q->head == NULL)
				q->tail = NULL;
			j->next = NULL;
			q->n--;
		}
	}
	pthread_mutex_unlock(&q->mu);
	return j;
}

static void
jobq_wake(jobq *q)
{
	pthread_mutex_lock(&q->mu);
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static job *
job_new(job_kind kind)
{
	job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->kind = kind;
	rl_buf_init(&j->msg);
	rl_buf_init(&j->body);
	rl_buf_init(&j->sits);
	return j;
}

static void
job_free(job *j)
{
	if (j == NULL)
		return;
	rl_buf_fini(&j->msg);
	rl_buf_fini(&j->body);
	rl_buf_fini(&j->sits);
	free(j->ops);
	free(j->pool);
	free(j);
}

/* ---- replies ---- */

static void
reply_plain_error(rl_net_req *req, rl_err e, const char *text)
{
	rl_buf b;

	rl_buf_init(&b);
	if (rl_frame_error(rl_wire_code(e), text, &b) == RL_OK)
		rl_net_reply(req, rl_buf_view(&b));
	else
		rl_net_reply(req, RL_BYTES("", 0));
	rl_buf_fini(&b);
}

static sess_slot *sess_find(srv *s, const uint8_t id[RL_SESSION_ID_BYTES]);
static void sess_drop(sess_slot *slot);

/* Seals body for the session of j and answers; a vanished session gets a
 * plaintext session error. With close, the session is dropped before the
 * answer leaves, so the client's next request cannot find it. */
static void
reply_sealed_close(srv *s, job *j, rl_bytes body, bool close)
{
	sess_slot *slot;
	rl_buf out;
	rl_err e = RL_ECLOSED;

	rl_buf_init(&out);
	pthread_mutex_lock(&s->smu);
	if ((slot = sess_find(s, j->sid)) != NULL) {
		e = rl_session_seal(&slot->s, body, &out);
		slot->last_ms = rl_wall_ms();
		if (close)
			sess_drop(slot);
	}
	pthread_mutex_unlock(&s->smu);
	if (e == RL_OK)
		rl_net_reply(j->req, rl_buf_view(&out));
	else
		reply_plain_error(j->req, RL_ECLOSED, "session inconnue");
	rl_buf_fini(&out);
}

static void
reply_sealed(srv *s, job *j, rl_bytes body)
{
	reply_sealed_close(s, j, body, false);
}

/* A sealed error; with close, the session ends with it. */
static void
reply_sealed_error_close(srv *s, job *j, rl_err err, bool close)
{
	rl_buf b;

	rl_buf_init(&b);
	rl_msg_error_encode(rl_wire_code(err), rl_strerror(err), &b);
	reply_sealed_close(s, j, rl_buf_view(&b), close);
	rl_buf_fini(&b);
}

static void
reply_sealed_error(srv *s, job *j, rl_err err)
{
	reply_sealed_error_close(s, j, err, false);
}

/* ---- sessions ---- */

static size_t
sess_home(const srv *s, const uint8_t id[RL_SESSION_ID_BYTES])
{
	uint32_t h = (uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16;

	return h % s->o.max_sessions;
}

static sess_slot *
sess_find(srv *s, const uint8_t id[RL_SESSION_ID_BYTES])
{
	size_t home = sess_home(s, id);

	for (size_t i = 0; i < SESS_PROBE; i++) {
		sess_slot *slot = &s->slots[(home + i) % s->o.max_sessions];

		if (slot->used && memcmp(slot->s.id, id, RL_SESSION_ID_BYTES) == 0)
			return slot;
	}
	return NULL;
}

static void
sess_drop(sess_slot *slot)
{
	rl_session_wipe(&slot->s);
	memset(slot, 0, sizeof(*slot));
}

/* Installs a new session for dev (lock held). RL_EBUSY if no room. */
static rl_err
sess_add(srv *s, const rl_session *sess, const uint8_t dev[RL_DEV_BYTES], uint64_t now)
{
	size_t home = sess_home(s, sess->id), count = 0;
	sess_slot *oldest = NULL, *free_slot = NULL;

	/* Bound the sessions of one device: evict its oldest. */
	for (size_t i = 0; i < s->o.max_sessions; i++) {
		sess_slot *slot = &s->slots[i];

		if (!slot->used || memcmp(slot->dev, dev, RL_DEV_BYTES) != 0)
			continue;
		count++;
		if (oldest == NULL || slot->created_ms < oldest->created_ms)
			oldest = slot;
	}
	if (count >= s->o.sessions_per_device && oldest != NULL)
		sess_drop(oldest);
	for (size_t i = 0; i < SESS_PROBE && free_slot == NULL; i++) {
		sess_slot *slot = &s->slots[(home + i) % s->o.max_sessions];

		if (!slot->used)
			free_slot = slot;
		else if (now - slot->last_ms > s->o.session_idle_ms) {
			sess_drop(slot);
			free_slot = slot;
		}
	}
	if (free_slot == NULL)
		return RL_EBUSY;
	free_slot->used = true;
	free_slot->s = *sess;
	memcpy(free_slot->dev, dev, RL_DEV_BYTES);
	free_slot->created_ms = free_slot->last_ms = now;
	return RL_OK;
}

/* ---- device lookups ---- */

static rl_err
device_load(srv *s, const uint8_t pk_in[RL_DEV_BYTES], rl_device *d)
{
	uint8_t pk[RL_DEV_BYTES];
	rl_txn *txn;
	rl_err e;

	memcpy(pk, pk_in, RL_DEV_BYTES); /* pk_in may point into d */
	if ((e = rl_store_begin(s->hub->st, false, &txn)) != RL_OK)
		return e;
	e = rl_hub_device_get(txn, pk, d);
	rl_store_abort(txn);
	if (e == RL_OK && d->revoked_ms != 0)
		e = RL_EREVOKED;
	return e;
}

static void
hexid(const uint8_t *p, size_t n, char *out)
{
	rl_hex_encode(p, n, out);
}

/* ---- request handling (workers) ---- */

static void
handle_hello(srv *s, job *j)
{
	char dhex[2 * RL_DEV_BYTES + 1];
	rl_hs_server_info info;
	rl_session sess;
	rl_hello h;
	rl_device d;
	rl_buf out;
	rl_err e;

	if ((e = rl_hs_parse_hello(rl_buf_view(&j->msg), &h)) != RL_OK) {
		reply_plain_error(j->req, e, "hello invalide");
		return;
	}
	hexid(h.client_pk, RL_DEV_BYTES, dhex);
	if ((e = device_load(s, h.client_pk, &d)) != RL_OK) {
		rl_log(RL_LOG_WARN, "handshake refused for device %.16s: %s", dhex, rl_strerror(e));
		reply_plain_error(j->req, e == RL_EREVOKED ? e : RL_ENOTFOUND, "appareil refusé");
		return;
	}
	/* WELCOME tells where the store's history stands, so that clients
	 * notice a restored server (epoch.h). */
	memcpy(info.epoch, s->epoch, RL_EPOCH_BYTES);
	info.time_ms = rl_wall_ms();
	if ((e = rl_epoch_seq(s->hub, &info.seq)) != RL_OK) {
		rl_log(RL_LOG_ERROR, "handshake: cannot read the store: %s", rl_strerror(e));
		reply_plain_error(j->req, e, "poignée de main impossible");
		return;
	}
	rl_buf_init(&out);
	e = rl_hs_server_welcome_info(&h, rl_replica_secret_key(s->hub->rp), &info, &sess, &out);
	if (e == RL_OK) {
		pthread_mutex_lock(&s->smu);
		e = sess_add(s, &sess, h.client_pk, rl_wall_ms());
		pthread_mutex_unlock(&s->smu);
	}
	rl_session_wipe(&sess);
	if (e == RL_OK) {
		rl_log(RL_LOG_DEBUG, "session opened for device %.16s", dhex);
		rl_net_reply(j->req, rl_buf_view(&out));
	} else {
		rl_log(RL_LOG_WARN, "handshake failed for device %.16s: %s", dhex, rl_strerror(e));
		reply_plain_error(j->req, e, "poignée de main impossible");
	}
	rl_buf_fini(&out);
}

static void
handle_enroll(srv *s, job *j)
{
	rl_buf out;
	rl_err e;

	rl_buf_init(&out);
	e = rl_hub_enroll(s->hub, rl_buf_view(&j->msg), rl_wall_ms(), &out);
	if (e == RL_OK) {
		rl_enroll_req q;
		char dhex[2 * RL_DEV_BYTES + 1] = "?";

		if (rl_enroll_parse(rl_buf_view(&j->msg), &q) == RL_OK)
			hexid(q.device_pk, RL_DEV_BYTES, dhex);
		rl_log(RL_LOG_INFO, "device %.16s enrolled", dhex);
		rl_net_reply(j->req, rl_buf_view(&out));
	} else {
		rl_log(RL_LOG_WARN, "enrollment refused: %s", rl_strerror(e));
		reply_plain_error(j->req, e, "enrôlement refusé");
	}
	rl_buf_fini(&out);
}

static void
queue_audit(srv *s, const rl_device *dev, const char *what, uint64_t count, rl_buf *sits)
{
	job *a = job_new(JOB_AUDIT);

	if (a == NULL)
		return;
	a->dev = *dev;
	a->what = what;
	a->count = count;
	if (sits != NULL) {
		a->sits = *sits;
		rl_buf_init(sits);
	}
	jobq_push(&s->write, a);
}

static void
handle_pull(srv *s, job *j)
{
	uint64_t cursor;
	uint32_t max;
	rl_buf out, sits;
	rl_err e;

	if (rl_msg_pull_decode(rl_buf_view(&j->body), &cursor, &max) != RL_OK) {
		reply_sealed_error(s, j, RL_EPROTO);
		return;
	}
	if (s->o.pull_max_entries != 0 && (max == 0 || max > s->o.pull_max_entries))
		max = s->o.pull_max_entries;
	rl_buf_init(&out);
	rl_buf_init(&sits);
	if ((e = rl_hub_pull(s->hub, &j->dev, cursor, max, &out, &sits)) != RL_OK) {
		rl_log(RL_LOG_ERROR, "pull failed: %s", rl_strerror(e));
		reply_sealed_error(s, j, e);
	} else {
		bool write_seen = false;
		size_t nsits = sits.len / RL_SIT_BYTES;
		uint64_t now = rl_wall_ms();
		sess_slot *slot;

		reply_sealed(s, j, rl_buf_view(&out));
		if (nsits > 0) {
			char dhex[2 * RL_DEV_BYTES + 1];

			hexid(j->dev.pk, RL_DEV_BYTES, dhex);
			rl_log(RL_LOG_INFO, "pull by device %.16s: changes of %zu situations sent", dhex,
			       nsits);
		}
		pthread_mutex_lock(&s->smu);
		if ((slot = sess_find(s, j->sid)) != NULL &&
		    (nsits > 0 || now - slot->seen_written_ms > LAST_SEEN_EVERY_MS)) {
			slot->seen_written_ms = now;
			write_seen = true;
		}
		pthread_mutex_unlock(&s->smu);
		if (write_seen)
			queue_audit(s, &j->dev, "pull", nsits, &sits);
	}
	rl_buf_fini(&out);
	rl_buf_fini(&sits);
}

/* Opens a sealed request and dispatches it; pushes move to the writer. */
static bool
handle_sealed(srv *s, job *j)
{
	sess_slot *slot;
	uint32_t type;
	rl_err e;

	if (rl_session_frame_id(rl_buf_view(&j->msg), j->sid) != RL_OK) {
		reply_plain_error(j->req, RL_EPROTO, "trame invalide");
		return false;
	}
	pthread_mutex_lock(&s->smu);
	if ((slot = sess_find(s, j->sid)) == NULL) {
		pthread_mutex_unlock(&s->smu);
		reply_plain_error(j->req, RL_ECLOSED, "session inconnue");
		return false;
	}
	e = rl_session_open(&slot->s, rl_buf_view(&j->msg), &j->body);
	if (e != RL_OK) {
		/* Tampered, replayed or reordered: the session is dead. */
		char dhex[2 * RL_DEV_BYTES + 1];

		hexid(slot->dev, RL_DEV_BYTES, dhex);
		sess_drop(slot);
		pthread_mutex_unlock(&s->smu);
		rl_log(RL_LOG_WARN, "bad sealed frame from device %.16s: %s (session closed)", dhex,
		       rl_strerror(e));
		reply_plain_error(j->req, RL_ECLOSED, "trame refusée");
		return false;
	}
	memcpy(j->dev.pk, slot->dev, RL_DEV_BYTES);
	slot->last_ms = rl_wall_ms();
	pthread_mutex_unlock(&s->smu);

	/* Revocation takes effect on the next request of an open session. */
	if ((e = device_load(s, j->dev.pk, &j->dev)) != RL_OK) {
		/* Revoked, gone from the registry (unknown device), or the
		 * registry unreadable (internal): never a scope refusal, which
		 * the client takes as one change-set refused. */
		reply_sealed_error_close(s, j,
		                         e == RL_EREVOKED || e == RL_ENOTFOUND ? e : RL_EIO, true);
		return false;
	}
	if (rl_msg_type(rl_buf_view(&j->body), &type) != RL_OK) {
		reply_sealed_error(s, j, RL_EPROTO);
		return false;
	}
	switch (type) {
	case RL_MSG_PUSH:
		j->ops = malloc(RL_BATCH_MAX_OPS * sizeof(*j->ops));
		j->pool = malloc(RL_BATCH_MAX_REFS * sizeof(*j->pool));
		if (j->ops == NULL || j->pool == NULL) {
			reply_sealed_error(s, j, RL_EBUSY);
			return false;
		}
		e = rl_msg_push_decode(rl_buf_view(&j->body), j->ops, RL_BATCH_MAX_OPS, &j->nops,
		                       j->pool, RL_BATCH_MAX_REFS);
		if (e != RL_OK) {
			char dhex[2 * RL_DEV_BYTES + 1];

			hexid(j->dev.pk, RL_DEV_BYTES, dhex);
			rl_log(RL_LOG_WARN, "bad push from device %.16s: %s", dhex, rl_strerror(e));
			reply_sealed_error(s, j, e == RL_ETOOBIG ? e : RL_EPROTO);
			return false;
		}
		j->kind = JOB_PUSH;
		jobq_push(&s->write, j);
		return true;
	case RL_MSG_PULL:
		handle_pull(s, j);
		return false;
	case RL_MSG_PING: {
		rl_buf b;

		rl_buf_init(&b);
		rl_msg_pong_encode(rl_wall_ms(), &b);
		reply_sealed(s, j, rl_buf_view(&b));
		rl_buf_fini(&b);
		return false;
	}
	case RL_MSG_BYE:
		reply_sealed_error_close(s, j, RL_ECLOSED, true);
		return false;
	default:
		reply_sealed_error(s, j, RL_EPROTO);
		return false;
	}
}

static void *
worker_main(void *arg)
{
	srv *s = arg;
	job *j;

	while ((j = jobq_pop(&s->work, s, false)) != NULL) {
		bool kept = false;

		switch (j->msg.len ? j->msg.data[0] : 0) {
		case RL_FRAME_HELLO:
			handle_hello(s, j);
			break;
		case RL_FRAME_ENROLL:
			handle_enroll(s, j);
			break;
		case RL_FRAME_SEALED:
			kept = handle_sealed(s, j);
			break;
		default:
			reply_plain_error(j->req, RL_EPROTO, "trame inconnue");
			break;
		}
		if (!kept)
			job_free(j);
	}
	return NULL;
}

/* ---- the writer ---- */

static void
writer_group(srv *s, job *group)
{
	uint64_t now = rl_wall_ms(), seq0 = s->hub->seq;
	rl_txn *txn = NULL;
	rl_err e;

	if ((e = rl_store_begin(s->hub->st, true, &txn)) != RL_OK)
		goto done;
	for (job *j = group; j != NULL && e == RL_OK; j = j->next) {
		rl_device d;

		if (j->kind == JOB_AUDIT) {
			if (rl_hub_device_get(txn, j->dev.pk, &d) == RL_OK) {
				d.last_seen_ms = now;
				e = rl_hub_device_put(txn, &d);
			}
			if (e == RL_OK && j->count > 0)
				e = rl_hub_audit(s->hub, txn, now, j->dev.pk, j->what, j->count,
				                 rl_buf_view(&j->sits));
			continue;
		}
		/* Fresh device record: revocation and counters as committed. */
		if ((j->result = rl_hub_device_get(txn, j->dev.pk, &d)) != RL_OK)
			continue;
		if (d.revoked_ms != 0) {
			j->result = RL_EREVOKED;
			continue;
		}
		e = rl_hub_push(s->hub, txn, &d, j->ops, j->nops, now, &j->result, &j->applied,
		                &j->upto);
	}
	if (e == RL_OK)
		e = rl_hub_save_seq(s->hub, txn);
	if (e == RL_OK) {
		e = rl_store_commit(txn);
		txn = NULL;
	}
done:
	rl_store_abort(txn);
	if (e != RL_OK) {
		s->hub->seq = seq0;
		rl_log(RL_LOG_ERROR, "ingest transaction failed: %s (change-sets refused)",
		       rl_strerror(e));
	}
	for (job *j = group, *next; j != NULL; j = next) {
		next = j->next;
		if (j->kind == JOB_PUSH) {
			rl_err r = e != RL_OK ? e : j->result;
			char dhex[2 * RL_DEV_BYTES + 1];

			hexid(j->dev.pk, RL_DEV_BYTES, dhex);
			if (r == RL_OK) {
				rl_buf b;

				/* A push that changed something is an event; a replay is not. */
				rl_log(j->applied ? RL_LOG_INFO : RL_LOG_DEBUG,
				       "push from device %.16s: %zu of %zu changes applied", dhex, j->applied,
				       j->nops);
				rl_buf_init(&b);
				rl_msg_push_ok_encode(j->applied, j->upto, &b);
				reply_sealed(s, j, rl_buf_view(&b));
				rl_buf_fini(&b);
			} else {
				rl_log(RL_LOG_WARN, "push from %.16s refused: %s", dhex, rl_strerror(r));
				reply_sealed_error(s, j, r);
			}
		}
		job_free(j);
	}
}

static void *
writer_main(void *arg)
{
	srv *s = arg;
	job *all;

	while ((all = jobq_pop(&s->write, s, true)) != NULL) {
		/* Split into groups of bounded size, each one transaction. */
		while (all != NULL) {
			job *head = all, *tail = all;
			size_t ops = all->nops;

			while (tail->next != NULL && ops + tail->next->nops <= s->o.write_group_ops) {
				tail = tail->next;
				ops += tail->nops;
			}
			all = tail->next;
			tail->next = NULL;
			writer_group(s, head);
		}
	}
	return NULL;
}

/* ---- entry points ---- */

static void
on_request(void *arg, rl_net_req *req, rl_bytes msg)
{
	srv *s = arg;
	job *j;

	if (msg.len == 0 || msg.len > RL_MSG_MAX_BYTES) {
		reply_plain_error(req, RL_EPROTO, "trame invalide");
		return;
	}
	if (s->stopping || (j = job_new(JOB_NET)) == NULL) {
		reply_plain_error(req, RL_EBUSY, "serveur occupé");
		return;
	}
	j->req = req;
	if (rl_buf_append(&j->msg, msg.p, msg.len) != RL_OK) {
		job_free(j);
		reply_plain_error(req, RL_EBUSY, "serveur occupé");
		return;
	}
	jobq_push(&s->work, j);
}

void
rl_run_defaults(rl_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->listen = "tcp://0.0.0.0:7401";
	o->contexts = 128;
	o->workers = 2;
	o->max_sessions = 4096;
	o->sessions_per_device = 4;
	o->session_idle_ms = 10 * 60 * 1000;
	o->skew_ms = RL_DEFAULT_SKEW_MS;
	o->pull_max_entries = RL_PULL_MAX_ENTRIES;
	o->write_group_ops = 65536;
}

rl_err
rl_run_serve(rl_hub *hub, const rl_run_opts *o)
{
	sigset_t set;
	rl_epoch_event ev;
	srv s;
	int sig;
	rl_err e;

	memset(&s, 0, sizeof(s));
	if ((e = rl_epoch_start(hub, s.epoch, &ev)) != RL_OK) {
		rl_log(RL_LOG_ERROR, "cannot read or write the store epoch: %s", rl_strerror(e));
		return e;
	}
	if (ev == RL_EPOCH_RESTORED)
		rl_log(RL_LOG_WARN, "store restored from a backup: new epoch; clients will resend "
		                    "what the backup lacks and pull again from the start");
	else if (ev == RL_EPOCH_NEW)
		rl_log(RL_LOG_INFO, "new store: first epoch drawn");
	s.hub = hub;
	s.o = *o;
	hub->skew_ms = o->skew_ms;
	pthread_mutex_init(&s.smu, NULL);
	jobq_init(&s.work);
	jobq_init(&s.write);
	if ((s.slots = calloc(o->max_sessions, sizeof(*s.slots))) == NULL ||
	    (s.workers = calloc(o->workers, sizeof(*s.workers))) == NULL) {
		free(s.slots);
		return RL_ENOMEM;
	}
	/* Signals are taken by sigwait below, not by the threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (unsigned i = 0; i < o->workers; i++)
		pthread_create(&s.workers[i], NULL, worker_main, &s);
	pthread_create(&s.writer, NULL, writer_main, &s);
	e = rl_net_listen(o->listen, o->contexts, RL_MSG_MAX_BYTES, on_request, &s, &s.net);
	if (e == RL_OK) {
		char url[256];

		/* The bound address: with port 0, the one the system chose. */
		if (rl_net_server_url(s.net, url, sizeof(url)) != RL_OK)
			snprintf(url, sizeof(url), "%s", o->listen);
		rl_log(RL_LOG_INFO, "serving on %s (seq %llu)", url, (unsigned long long)hub->seq);
		sigwait(&set, &sig);
		rl_log(RL_LOG_INFO, "signal %d: stopping", sig);
	} else
		rl_log(RL_LOG_ERROR, "cannot listen on %s: %s", o->listen, rl_strerror(e));
	/* Workers drain their queues, answering, then the sockets close. */
	s.stopping = 1;
	jobq_wake(&s.work);
	for (unsigned i = 0; i < o->workers; i++)
		pthread_join(s.workers[i], NULL);
	jobq_wake(&s.write);
	pthread_join(s.writer, NULL);
	rl_net_stop(s.net);
	for (unsigned i = 0; i < o->max_sessions; i++)
		if (s.slots[i].used)
			sess_drop(&s.slots[i]);
	free(s.slots);
	free(s.workers);
	return e;
}
