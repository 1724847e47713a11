/*
 * proxy.c - a fault-injecting TCP proxy for the fault tests: links that drop
 * mid-handshake, mid-batch or mid-acknowledgement, that lag, lose, corrupt,
 * duplicate or reorder bytes.
 *
 *   proxy --target HOST:PORT [--listen PORT] [--port-file F] [--stats-file F]
 *         [--quiet] [--verbose]
 *         [--up-bytes N] [--down-bytes N] [--after-ms N] [--cut-conns K] [--rst]
 *         [--seed N] [--segment MAX] [--drop P] [--stall P] [--trunc P] [--flip P]
 *         [--dup P] [--reorder P] [--delay P] [--delay-ms MAX] [--rst-ratio P]
 *         [--stall-ms N] [--drop-ack P]
 *
 * It listens on 127.0.0.1:PORT (0, the default, takes a free port) and
 * prints "listening PORT" on stdout (and into --port-file), then forwards
 * every accepted connection to HOST:PORT, both ways.
 *
 * Cut rules, deterministic, for the first K connections (--cut-conns K; 0,
 * the default, means every connection): the connection is closed on both
 * sides once N bytes went client -> target (--up-bytes), once N bytes went
 * target -> client (--down-bytes), or N ms after it was accepted
 * (--after-ms), whichever comes first. Exactly N bytes are delivered before
 * the cut, so the cut can fall in the middle of a frame. --rst closes with a
 * TCP reset (SO_LINGER 0) instead of an orderly FIN. Later connections pass
 * untouched.
 *
 * Random faults, driven by --seed (the seed is printed on stderr; the same
 * seed and the same traffic give the same faults). What a direction reads
 * is cut into segments of 1 to MAX bytes (--segment MAX; default: what one
 * read returns, up to 64 KiB), and each segment may get at most one fault,
 * each with its probability P (a decimal in [0, 1]):
 *
 *   --drop P     deliver a random prefix of the segment, then close the
 *                connection both ways (a reset with probability --rst-ratio,
 *                else a FIN): a cut at a random point, mid-handshake,
 *                mid-batch or mid-acknowledgement alike
 *   --stall P    from this segment on the link carries nothing either way
 *                (a black hole) until a peer gives up, or --stall-ms (10 s)
 *   --trunc P    deliver a random prefix of the segment, lose the rest; the
 *                connection goes on (the receiver's framing is off)
 *   --flip P     flip one random bit of the segment
 *   --dup P      deliver the segment twice
 *   --reorder P  hold the segment back and deliver it after the next one of
 *                its direction (or after 50 ms if none comes)
 *   --delay P    hold the segment, and everything behind it, a random time
 *                up to --delay-ms (default 200)
 *
 * --drop-ack P adds a drop, with probability P, to each segment of an
 * answer to a push (see below): acknowledgements are small, one segment
 * each, and rarely hit otherwise.
 *
 * To say where a drop fell, the proxy follows the SP framing of what each
 * side sends (an 8-byte header, then frames of an 8-byte length and a
 * body; request k gets answer k): a drop in the first frame of either side
 * is "mid-handshake", one inside a request of more than 512 bytes (a push:
 * other requests are a few dozen bytes) "mid-batch", one inside the answer
 * to such a request "mid-ack".
 *
 * Each cut is reported on stderr ("proxy: conn 1 cut: ..."), each connection
 * that ends by itself too ("proxy: conn 2 closed ..."); --quiet says
 * nothing per connection, --verbose also reports every random fault. On exit
 * (SIGTERM or SIGINT) a summary line gives the counts:
 *   proxy: stats conns=N drop=N stall=N trunc=N flip=N dup=N reorder=N
 *          delay=N drop_handshake=N drop_batch=N drop_ack=N up=BYTES down=BYTES
 * and --stats-file F holds the same line, rewritten every second.
 *
 * One thread, poll(2), non-blocking sockets, a bounded queue per direction.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROXY_MAX_CONNS 256
#define PROXY_READ (64 * 1024)        /* one read, at most */
#define PROXY_QUEUE_MAX (512 * 1024)  /* bytes queued per direction before reading stops */
#define PROXY_NONE UINT64_MAX
#define PROXY_REORDER_HOLD_MS 50
#define PROXY_DEFAULT_DELAY_MS 200
#define PROXY_DEFAULT_STALL_MS 10000
#define PROXY_SP_HEADER 8          /* SP protocol header at a connection's start */
#define PROXY_BIG_REQUEST 512      /* a request this big is a push */
#define PROXY_SIZES 16             /* request sizes remembered, by index */

enum { F_DROP, F_STALL, F_TRUNC, F_FLIP, F_DUP, F_REORDER, F_DELAY, F__COUNT };

static const char *const fault_names[F__COUNT] = { "drop", "stall",   "trunc", "flip",
	                                               "dup",  "reorder", "delay" };

/* A queued segment: bytes waiting to be written, not before `due`. */
typedef struct seg {
	struct seg *next;
	uint64_t due; /* ms, monotonic */
	size_t off, len;
	uint8_t data[];
} seg;

typedef struct pipe_dir {
	seg *head, *tail;
	size_t queued;   /* bytes in the queue */
	seg *held;       /* a segment held back for reordering */
	uint64_t held_until;
	uint64_t last_due; /* segments never overtake each other */
	uint64_t budget; /* bytes still allowed through; PROXY_NONE unbounded */
	uint64_t moved;  /* bytes delivered */
	bool eof;        /* the source closed */
	/* SP framing of what the source sent (before any fault). */
	uint64_t frames;   /* complete frames */
	uint64_t part_len; /* length of the part being read (header, length, body) */
	uint64_t part_got;
	int part;          /* 0 SP header, 1 frame length, 2 frame body */
	uint8_t lenbuf[8];
	uint64_t sizes[PROXY_SIZES]; /* body sizes of frames, by index */
} pipe_dir;

typedef struct conn {
	bool used;
	unsigned no;
	int cfd, tfd;      /* client side, target side */
	pipe_dir up, down; /* client -> target, target -> client */
	uint64_t deadline; /* ms; PROXY_NONE none */
	bool stalled;
	uint64_t stall_end;
	bool closing;      /* a drop: close once the prefix is delivered */
	bool closing_rst;
} conn;

typedef struct opts {
	const char *target;
	unsigned listen_port;
	const char *port_file;
	const char *stats_file; /* rewritten every second with the stats line */
	uint64_t up_bytes, down_bytes, after_ms;
	unsigned cut_conns;
	bool rst, quiet, verbose;
	uint64_t seed;
	size_t segment;
	double p[F__COUNT];
	double rst_ratio;
	double drop_ack;
	uint64_t delay_ms, stall_ms;
} opts;

static volatile sig_atomic_t stop;
static uint64_t rng_state;
static unsigned long long fault_count[F__COUNT];
static unsigned long long drop_handshake, drop_batch, drop_ack;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* splitmix64: small, seedable, good enough to pick faults. */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t
rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool
chance(double p)
{
	return p > 0 && (double)(rnd() >> 11) / (double)(1ull << 53) < p;
}

static int
usage(void)
{
	fputs("usage: proxy --target HOST:PORT [--listen PORT] [--port-file F] [--stats-file F]\n"
	      "             [--quiet] [--verbose]\n"
	      "             [--up-bytes N] [--down-bytes N] [--after-ms N] [--cut-conns K] [--rst]\n"
	      "             [--seed N] [--segment MAX] [--drop P] [--stall P] [--trunc P]\n"
	      "             [--flip P] [--dup P] [--reorder P] [--delay P] [--delay-ms MAX]\n"
	      "             [--rst-ratio P] [--stall-ms N] [--drop-ack P]\n",
	      stderr);
	return 2;
}

static bool
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && s[0] != '-';
}

static bool
parse_prob(const char *s, double *p)
{
	char *end;

	errno = 0;
	*p = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *p >= 0 && *p <= 1;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Connects (blocking, loopback is immediate) to host:port. */
static int
dial_target(const char *target)
{
	char host[256];
	const char *colon = strrchr(target, ':');
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1;

	if (colon == NULL || (size_t)(colon - target) >= sizeof(host))
		return -1;
	memcpy(host, target, (size_t)(colon - target));
	host[colon - target] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		set_nonblock(fd);
	}
	return fd;
}

static void
close_fd(int fd, bool rst)
{
	if (fd < 0)
		return;
	if (rst) {
		struct linger l = { 1, 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(fd);
}

static void
dir_free(pipe_dir *d)
{
	for (seg *s = d->head, *next; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	free(d->held);
	memset(d, 0, sizeof(*d));
}

static void
conn_close(conn *c, bool rst, const char *why, const opts *o)
{
	if (!o->quiet)
		fprintf(stderr, "proxy: conn %u %s%s (%llu bytes up, %llu down)\n", c->no,
		        why ? "cut: " : "closed", why ? why : "", (unsigned long long)c->up.moved,
		        (unsigned long long)c->down.moved);
	close_fd(c->cfd, rst);
	close_fd(c->tfd, rst);
	dir_free(&c->up);
	dir_free(&c->down);
	memset(c, 0, sizeof(*c));
}

static seg *
seg_new(const uint8_t *p, size_t len, uint64_t due)
{
	seg *s = malloc(sizeof(*s) + (len ? len : 1));

	if (s == NULL) {
		perror("proxy: malloc");
		exit(1);
	}
	s->next = NULL;
	s->due = due;
	s->off = 0;
	s->len = len;
	memcpy(s->data, p, len);
	return s;
}

static void
dir_enqueue(pipe_dir *d, seg *s)
{
	/* Order is kept: a segment is never due before the one ahead of it. */
	if (s->due < d->last_due)
		s->due = d->last_due;
	d->last_due = s->due;
	if (d->tail)
		d->tail->next = s;
	else
		d->head = s;
	d->tail = s;
	d->queued += s->len;
}

/* A held segment whose time is up (or that a later one releases) joins the
 * queue. */
static void
dir_release_held(pipe_dir *d)
{
	seg *h = d->held;

	if (h == NULL)
		return;
	d->held = NULL;
	d->queued -= h->len;
	dir_enqueue(d, h);
}

static void
fault_note(const opts *o, const conn *c, int f, const char *dir, uint64_t at)
{
	fault_count[f]++;
	if (o->verbose)
		fprintf(stderr, "proxy: conn %u fault: %s %s at byte %llu\n", c->no, fault_names[f], dir,
		        (unsigned long long)at);
}

/* Follows the SP framing over n bytes the source sent. */
static void
frame_track(pipe_dir *d, const uint8_t *p, size_t n)
{
	while (n > 0) {
		uint64_t want = (d->part == 0 ? PROXY_SP_HEADER : d->part == 1 ? 8 : d->part_len) -
		                d->part_got;
		size_t take = want < n ? (size_t)want : n;

		if (d->part == 1)
			memcpy(d->lenbuf + d->part_got, p, take);
		d->part_got += take;
		p += take;
		n -= take;
		if (d->part_got < (d->part == 0 ? PROXY_SP_HEADER : d->part == 1 ? 8 : d->part_len))
			continue;
		d->part_got = 0;
		if (d->part == 1) {
			d->part_len = 0;
			for (int i = 0; i < 8; i++)
				d->part_len = d->part_len << 8 | d->lenbuf[i];
			d->sizes[d->frames % PROXY_SIZES] = d->part_len;
			d->part = 2;
			if (d->part_len > 0)
				continue;
		}
		if (d->part == 2)
			d->frames++;
		d->part = 1;
	}
}

/* Whether direction d of c is sending the answer to a push. */
static bool
in_ack(const conn *c, const pipe_dir *d)
{
	uint64_t k = d->frames;

	return d == &c->down && k > 0 && c->up.frames > k && c->up.frames - k < PROXY_SIZES &&
	       c->up.sizes[k % PROXY_SIZES] > PROXY_BIG_REQUEST;
}

/* Where a drop in direction d of c falls (see the top of the file). */
static void
drop_where(conn *c, const pipe_dir *d)
{
	if (d->frames == 0)
		drop_handshake++;
	else if (d == &c->up && d->part == 2 && d->part_len > PROXY_BIG_REQUEST)
		drop_batch++;
	else if (in_ack(c, d))
		drop_ack++;
}

/*
 * Takes one segment read from the source of direction d and queues it with
 * at most one random fault. Returns false when the fault closes the
 * connection once what is queued has gone out (a drop).
 */
static void
dir_take(conn *c, pipe_dir *d, const char *name, const uint8_t *p, size_t len, const opts *o)
{
	uint64_t now = now_ms(), at = d->moved + d->queued;
	double roll = (double)(rnd() >> 11) / (double)(1ull << 53), acc = 0;
	int f = -1;
	seg *s;

	for (int k = 0; k < F__COUNT; k++) {
		acc += o->p[k];
		if (roll < acc) {
			f = k;
			break;
		}
	}
	if (c->stalled || c->closing)
		return; /* a black hole, or the end of the link: the bytes vanish */
	if (f < 0 && o->drop_ack > 0 && in_ack(c, d) && chance(o->drop_ack))
		f = F_DROP;
	switch (f) {
	case F_DROP: {
		size_t keep = (size_t)rnd_below(len);

		frame_track(d, p, keep);
		drop_where(c, d);
		fault_note(o, c, f, name, at + keep);
		if (keep)
			dir_enqueue(d, seg_new(p, keep, now));
		dir_release_held(d);
		c->closing = true;
		c->closing_rst = o->rst || chance(o->rst_ratio);
		return;
	}
	case F_STALL:
		fault_note(o, c, f, name, at);
		c->stalled = true;
		c->stall_end = now + o->stall_ms;
		return;
	case F_TRUNC: {
		size_t keep = (size_t)rnd_below(len);

		fault_note(o, c, f, name, at + keep);
		if (keep)
			dir_enqueue(d, seg_new(p, keep, now));
		break;
	}
	case F_FLIP:
		s = seg_new(p, len, now);
		s->data[rnd_below(len)] ^= (uint8_t)(1u << rnd_below(8));
		fault_note(o, c, f, name, at);
		dir_enqueue(d, s);
		break;
	case F_DUP:
		fault_note(o, c, f, name, at);
		dir_enqueue(d, seg_new(p, len, now));
		dir_enqueue(d, seg_new(p, len, now));
		break;
	case F_REORDER:
		if (d->held == NULL) {
			fault_note(o, c, f, name, at);
			d->held = seg_new(p, len, now);
			d->held_until = now + PROXY_REORDER_HOLD_MS;
			d->queued += len;
			return; /* the next segment goes first */
		}
		dir_enqueue(d, seg_new(p, len, now));
		break;
	case F_DELAY:
		fault_note(o, c, f, name, at);
		dir_enqueue(d, seg_new(p, len, now + 1 + rnd_below(o->delay_ms)));
		break;
	default:
		dir_enqueue(d, seg_new(p, len, now));
		break;
	}
	dir_release_held(d);
}

/* Reads what the direction may take from src. Returns -1 when src failed. */
static int
dir_read(conn *c, pipe_dir *d, const char *name, int src, const opts *o)
{
	uint8_t buf[PROXY_READ];
	size_t room = sizeof(buf);
	ssize_t n;

	if (d->budget != PROXY_NONE && d->budget < room)
		room = (size_t)d->budget;
	if (room == 0)
		return 0;
	n = read(src, buf, room);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (n == 0) {
		d->eof = true;
		return 0;
	}
	if (d->budget != PROXY_NONE)
		d->budget -= (uint64_t)n;
	for (size_t off = 0; off < (size_t)n && !c->closing;) {
		size_t len = (size_t)n - off;

		if (o->segment && len > o->segment)
			len = 1 + (size_t)rnd_below(o->segment);
		/* A drop follows the framing itself, up to where it cuts. */
		dir_take(c, d, name, buf + off, len, o);
		if (!c->closing)
			frame_track(d, buf + off, len);
		off += len;
	}
	return 0;
}

/* Writes the due head segments to dst. Returns -1 when dst failed. */
static int
dir_write(pipe_dir *d, int dst, uint64_t now)
{
	while (d->head != NULL && d->head->due <= now) {
		seg *s = d->head;
		ssize_t n = write(dst, s->data + s->off, s->len - s->off);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		s->off += (size_t)n;
		d->moved += (uint64_t)n;
		d->queued -= (size_t)n;
		if (s->off < s->len)
			return 0;
		d->head = s->next;
		if (d->head == NULL)
			d->tail = NULL;
		free(s);
	}
	return 0;
}

/* Whether d has bytes it may write now. */
static bool
dir_ready(const pipe_dir *d, uint64_t now)
{
	return d->head != NULL && d->head->due <= now;
}

/* The next time d needs attention (a segment coming due, a held one). */
static uint64_t
dir_next(const pipe_dir *d)
{
	uint64_t t = PROXY_NONE;

	if (d->head != NULL)
		t = d->head->due;
	if (d->held != NULL && d->held_until < t)
		t = d->held_until;
	return t;
}

/* A direction whose budget is spent and whose queue is delivered. */
static bool
dir_spent(const pipe_dir *d)
{
	return d->budget == 0 && d->queued == 0;
}

static bool
dir_can_read(const conn *c, const pipe_dir *d)
{
	return d->queued < PROXY_QUEUE_MAX && d->budget != 0 && !d->eof && !c->closing;
}

static void
print_stats(FILE *f, unsigned accepted, uint64_t up, uint64_t down)
{
	fprintf(f, "proxy: stats conns=%u", accepted);
	for (int k = 0; k < F__COUNT; k++)
		fprintf(f, " %s=%llu", fault_names[k], fault_count[k]);
	fprintf(f, " drop_handshake=%llu drop_batch=%llu drop_ack=%llu", drop_handshake, drop_batch,
	        drop_ack);
	fprintf(f, " up=%llu down=%llu\n", (unsigned long long)up, (unsigned long long)down);
}

/* Rewrites the stats file (atomically: a temporary file renamed). */
static void
write_stats(const char *path, unsigned accepted, uint64_t up, uint64_t down)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	print_stats(f, accepted, up, down);
	if (fclose(f) == 0)
		rename(tmp, path);
}

int
main(int argc, char **argv)
{
	static conn conns[PROXY_MAX_CONNS];
	static struct pollfd pfd[1 + 2 * PROXY_MAX_CONNS];
	static int map[1 + 2 * PROXY_MAX_CONNS];
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct sigaction sig;
	unsigned accepted = 0;
	uint64_t total_up = 0, total_down = 0, stats_due = 0;
	opts o;
	bool seeded = false;
	int lfd, one = 1;

	memset(&o, 0, sizeof(o));
	o.up_bytes = o.down_bytes = o.after_ms = PROXY_NONE;
	o.delay_ms = PROXY_DEFAULT_DELAY_MS;
	o.stall_ms = PROXY_DEFAULT_STALL_MS;
	for (int i = 1; i < argc; i++) {
		static const char *const pnames[F__COUNT] = { "--drop", "--stall",   "--trunc", "--flip",
			                                          "--dup",  "--reorder", "--delay" };
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool done = false;
		uint64_t n;

		if (strcmp(a, "--rst") == 0) {
			o.rst = true;
			continue;
		}
		if (strcmp(a, "--quiet") == 0) {
			o.quiet = true;
			continue;
		}
		if (strcmp(a, "--verbose") == 0) {
			o.verbose = true;
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		for (int k = 0; k < F__COUNT && !done; k++) {
			if (strcmp(a, pnames[k]) == 0) {
				if (!parse_prob(v, &o.p[k]))
					return usage();
				done = true;
			}
		}
		if (done)
			continue;
		if (strcmp(a, "--target") == 0)
			o.target = v;
		else if (strcmp(a, "--port-file") == 0)
			o.port_file = v;
		else if (strcmp(a, "--stats-file") == 0)
			o.stats_file = v;
		else if (strcmp(a, "--rst-ratio") == 0) {
			if (!parse_prob(v, &o.rst_ratio))
				return usage();
		} else if (strcmp(a, "--drop-ack") == 0) {
			if (!parse_prob(v, &o.drop_ack))
				return usage();
		} else if (!parse_u64(v, &n))
			return usage();
		else if (strcmp(a, "--listen") == 0 && n <= 65535)
			o.listen_port = (unsigned)n;
		else if (strcmp(a, "--up-bytes") == 0)
			o.up_bytes = n;
		else if (strcmp(a, "--down-bytes") == 0)
			o.down_bytes = n;
		else if (strcmp(a, "--after-ms") == 0)
			o.after_ms = n;
		else if (strcmp(a, "--cut-conns") == 0 && n <= UINT32_MAX)
			o.cut_conns = (unsigned)n;
		else if (strcmp(a, "--seed") == 0) {
			o.seed = n;
			seeded = true;
		} else if (strcmp(a, "--segment") == 0 && n <= PROXY_READ)
			o.segment = (size_t)n;
		else if (strcmp(a, "--delay-ms") == 0 && n > 0)
			o.delay_ms = n;
		else if (strcmp(a, "--stall-ms") == 0)
			o.stall_ms = n;
		else
			return usage();
	}
	if (o.target == NULL)
		return usage();
	{
		double sum = 0;

		for (int k = 0; k < F__COUNT; k++)
			sum += o.p[k];
		if (sum > 1) {
			fputs("proxy: the fault probabilities add up to more than 1\n", stderr);
			return 2;
		}
		if (sum > 0 || o.drop_ack > 0 || seeded) {
			if (!seeded)
				o.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
			fprintf(stderr, "proxy: seed %llu\n", (unsigned long long)o.seed);
		}
	}
	rng_state = o.seed;

	memset(&sig, 0, sizeof(sig));
	sig.sa_handler = on_signal;
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		perror("proxy: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)o.listen_port);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
		perror("proxy: listen");
		return 1;
	}
	set_nonblock(lfd);
	printf("listening %u\n", ntohs(sa.sin_port));
	fflush(stdout);
	if (o.port_file != NULL) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", o.port_file);
		if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%u\n", ntohs(sa.sin_port)) < 0 ||
		    fclose(f) != 0 || rename(tmp, o.port_file) != 0) {
			perror("proxy: port file");
			return 1;
		}
	}

	while (!stop) {
		nfds_t n = 0;
		uint64_t now = now_ms(), wake = PROXY_NONE;
		int timeout;

		if (o.stats_file != NULL && now >= stats_due) {
			write_stats(o.stats_file, accepted, total_up, total_down);
			stats_due = now + 1000;
		}
		if (o.stats_file != NULL)
			wake = stats_due;

		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < PROXY_MAX_CONNS; i++) {
			conn *c = &conns[i];
			uint64_t t;

			if (!c->used)
				continue;
			if (c->deadline < wake)
				wake = c->deadline;
			if (c->stalled && c->stall_end < wake)
				wake = c->stall_end;
			if ((t = dir_next(&c->up)) < wake)
				wake = t;
			if ((t = dir_next(&c->down)) < wake)
				wake = t;
			/* A stalled link still notices a peer that gives up (POLLIN
			 * then reads EOF or an error), but forwards nothing. */
			pfd[n].fd = c->cfd;
			pfd[n].events = (short)((dir_can_read(c, &c->up) ? POLLIN : 0) |
			                        (!c->stalled && dir_ready(&c->down, now) ? POLLOUT : 0));
			map[n++] = i;
			pfd[n].fd = c->tfd;
			pfd[n].events = (short)((dir_can_read(c, &c->down) ? POLLIN : 0) |
			                        (!c->stalled && dir_ready(&c->up, now) ? POLLOUT : 0));
			map[n++] = i;
		}
		timeout = wake == PROXY_NONE ? -1 : wake <= now ? 0 : (int)(wake - now);
		if (poll(pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			perror("proxy: poll");
			break;
		}
		if (pfd[0].revents & POLLIN) {
			int cfd = accept(lfd, NULL, NULL);

			if (cfd >= 0) {
				int slot = -1;

				for (int i = 0; i < PROXY_MAX_CONNS && slot < 0; i++)
					if (!conns[i].used)
						slot = i;
				if (slot < 0) {
					close_fd(cfd, true);
				} else {
					conn *c = &conns[slot];
					bool cut = o.cut_conns == 0 || accepted < o.cut_conns;

					memset(c, 0, sizeof(*c));
					c->no = ++accepted;
					c->cfd = cfd;
					setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					set_nonblock(cfd);
					c->up.budget = cut ? o.up_bytes : PROXY_NONE;
					c->down.budget = cut ? o.down_bytes : PROXY_NONE;
					c->deadline = cut && o.after_ms != PROXY_NONE ? now_ms() + o.after_ms
					                                               : PROXY_NONE;
					c->used = true;
					if ((c->tfd = dial_target(o.target)) < 0) {
						c->tfd = -1;
						conn_close(c, true, "target unreachable", &o);
					}
				}
			}
		}
		now = now_ms();
		for (nfds_t k = 1; k < n; k += 2) {
			conn *c = &conns[map[k]];
			short cre = pfd[k].revents, tre = pfd[k + 1].revents;
			uint64_t up0, down0;
			bool dead = false;

			if (!c->used)
				continue;
			up0 = c->up.moved;
			down0 = c->down.moved;
			if ((cre & (POLLIN | POLLHUP | POLLERR)) && dir_read(c, &c->up, "up", c->cfd, &o) < 0)
				dead = true;
			if ((tre & (POLLIN | POLLHUP | POLLERR)) &&
			    dir_read(c, &c->down, "down", c->tfd, &o) < 0)
				dead = true;
			/* A held segment that no later one released goes out now. */
			if (c->up.held && c->up.held_until <= now)
				dir_release_held(&c->up);
			if (c->down.held && c->down.held_until <= now)
				dir_release_held(&c->down);
			/* Write what is due at once: a cut comes after it. */
			if (!dead && !c->stalled) {
				dead = dir_write(&c->up, c->tfd, now) < 0 || dir_write(&c->down, c->cfd, now) < 0;
			}
			total_up += c->up.moved - up0;
			total_down += c->down.moved - down0;
			if (dead) {
				conn_close(c, o.rst, "socket error", &o);
				continue;
			}
			if (c->stalled) {
				if (c->up.eof || c->down.eof)
					conn_close(c, false, "stall ended by a peer", &o);
				else if (now >= c->stall_end)
					conn_close(c, o.rst, "stall timeout", &o);
				continue;
			}
			if (c->closing) {
				if (c->up.head == NULL && c->down.head == NULL)
					conn_close(c, c->closing_rst, "drop", &o);
				continue;
			}
			if (dir_spent(&c->up)) {
				conn_close(c, o.rst, "up-bytes reached", &o);
				continue;
			}
			if (dir_spent(&c->down)) {
				conn_close(c, o.rst, "down-bytes reached", &o);
				continue;
			}
			if (c->deadline != PROXY_NONE && now >= c->deadline) {
				conn_close(c, o.rst, "after-ms reached", &o);
				continue;
			}
			if ((c->up.eof && c->up.queued == 0) || (c->down.eof && c->down.queued == 0))
				conn_close(c, false, NULL, &o);
		}
	}
	for (int i = 0; i < PROXY_MAX_CONNS; i++)
		if (conns[i].used)
			conn_close(&conns[i], false, NULL, &o);
	close(lfd);
	print_stats(stderr, accepted, total_up, total_down);
	if (o.stats_file != NULL)
		write_stats(o.stats_file, accepted, total_up, total_down);
	return 0;
}
