/*
 * proxy.c - a TCP proxy that cuts links on purpose, for fault-injection
 * tests (a link that drops mid-batch, a server that vanishes mid-answer).
 *
 *   proxy --target HOST:PORT [--listen PORT] [--port-file F]
 *         [--up-bytes N] [--down-bytes N] [--after-ms N]
 *         [--cut-conns K] [--rst] [--quiet]
 *
 * It listens on 127.0.0.1:PORT (0, the default, takes a free port) and
 * prints "listening PORT" on stdout (and into --port-file), then forwards
 * every accepted connection to HOST:PORT, both ways, byte for byte.
 *
 * Cut rules, for the first K connections (--cut-conns K; 0, the default,
 * means every connection): the connection is closed on both sides once N
 * bytes went client -> target (--up-bytes), once N bytes went target ->
 * client (--down-bytes), or N ms after it was accepted (--after-ms),
 * whichever comes first. Exactly N bytes are delivered before the cut, so
 * the cut can fall in the middle of a frame. --rst closes with a TCP reset
 * (SO_LINGER 0) instead of an orderly FIN. Later connections pass untouched.
 *
 * One thread, poll(2), non-blocking sockets, a bounded buffer per
 * direction. Each cut is reported on stderr ("proxy: conn 1 cut: ..."), each
 * connection that ends by itself too ("proxy: conn 2 closed ...").
 * SIGTERM or SIGINT end it.
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

#define PROXY_MAX_CONNS 64
#define PROXY_BUF (64 * 1024)
#define PROXY_NONE UINT64_MAX

typedef struct pipe_dir {
	uint8_t buf[PROXY_BUF];
	size_t len;
	uint64_t budget; /* bytes still allowed through; PROXY_NONE unbounded */
	uint64_t moved;  /* bytes delivered */
	bool eof;        /* the source closed */
} pipe_dir;

typedef struct conn {
	bool used;
	unsigned no;
	int cfd, tfd;        /* client side, target side */
	pipe_dir up, down;   /* client -> target, target -> client */
	uint64_t deadline;   /* ms; PROXY_NONE none */
} conn;

typedef struct opts {
	const char *target;
	unsigned listen_port;
	const char *port_file;
	uint64_t up_bytes, down_bytes, after_ms;
	unsigned cut_conns;
	bool rst, quiet;
} opts;

static volatile sig_atomic_t stop;

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

static int
usage(void)
{
	fputs("usage: proxy --target HOST:PORT [--listen PORT] [--port-file F]\n"
	      "             [--up-bytes N] [--down-bytes N] [--after-ms N]\n"
	      "             [--cut-conns K] [--rst] [--quiet]\n",
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
conn_close(conn *c, bool rst, const char *why, const opts *o)
{
	if (!o->quiet)
		fprintf(stderr, "proxy: conn %u %s%s (%llu bytes up, %llu down)\n", c->no,
		        why ? "cut: " : "closed", why ? why : "", (unsigned long long)c->up.moved,
		        (unsigned long long)c->down.moved);
	close_fd(c->cfd, rst);
	close_fd(c->tfd, rst);
	memset(c, 0, sizeof(*c));
}

/* Reads what the direction may take from src. Returns -1 when src is done. */
static int
dir_read(pipe_dir *d, int src)
{
	size_t room = PROXY_BUF - d->len;
	ssize_t n;

	if (d->budget != PROXY_NONE && d->budget < room)
		room = (size_t)d->budget;
	if (room == 0)
		return 0;
	n = read(src, d->buf + d->len, room);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (n == 0) {
		d->eof = true;
		return 0;
	}
	d->len += (size_t)n;
	if (d->budget != PROXY_NONE)
		d->budget -= (uint64_t)n;
	return 0;
}

static int
dir_write(pipe_dir *d, int dst)
{
	ssize_t n;

	if (d->len == 0)
		return 0;
	n = write(dst, d->buf, d->len);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	memmove(d->buf, d->buf + n, d->len - (size_t)n);
	d->len -= (size_t)n;
	d->moved += (uint64_t)n;
	return 0;
}

/* A direction whose budget is spent and whose buffer is delivered. */
static bool
dir_spent(const pipe_dir *d)
{
	return d->budget == 0 && d->len == 0;
}

int
main(int argc, char **argv)
{
	static conn conns[PROXY_MAX_CONNS];
	struct pollfd pfd[1 + 2 * PROXY_MAX_CONNS];
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct sigaction sig;
	unsigned accepted = 0;
	opts o = { NULL, 0, NULL, PROXY_NONE, PROXY_NONE, PROXY_NONE, 0, false, false };
	int lfd, one = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (strcmp(a, "--rst") == 0) {
			o.rst = true;
			continue;
		}
		if (strcmp(a, "--quiet") == 0) {
			o.quiet = true;
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "--target") == 0)
			o.target = v;
		else if (strcmp(a, "--port-file") == 0)
			o.port_file = v;
		else if (!parse_u64(v, &n))
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
		else
			return usage();
	}
	if (o.target == NULL)
		return usage();

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
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 16) != 0 ||
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
		int map[1 + 2 * PROXY_MAX_CONNS];
		nfds_t n = 0;
		uint64_t now = now_ms();
		int timeout = -1;

		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < PROXY_MAX_CONNS; i++) {
			conn *c = &conns[i];

			if (!c->used)
				continue;
			if (c->deadline != PROXY_NONE) {
				uint64_t left = c->deadline > now ? c->deadline - now : 0;

				if (timeout < 0 || left < (uint64_t)timeout)
					timeout = (int)left;
			}
			pfd[n].fd = c->cfd;
			pfd[n].events = (short)((c->up.len < PROXY_BUF && c->up.budget != 0 && !c->up.eof
			                             ? POLLIN
			                             : 0) |
			                        (c->down.len ? POLLOUT : 0));
			map[n++] = i;
			pfd[n].fd = c->tfd;
			pfd[n].events =
			    (short)((c->down.len < PROXY_BUF && c->down.budget != 0 && !c->down.eof
			                 ? POLLIN
			                 : 0) |
			            (c->up.len ? POLLOUT : 0));
			map[n++] = i;
		}
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
					close(cfd);
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
		for (nfds_t k = 1; k < n; k += 2) {
			conn *c = &conns[map[k]];
			short cre = pfd[k].revents, tre = pfd[k + 1].revents;
			bool dead = false;

			if (!c->used)
				continue;
			if ((cre & (POLLIN | POLLHUP | POLLERR)) && dir_read(&c->up, c->cfd) < 0)
				dead = true;
			if ((tre & (POLLIN | POLLHUP | POLLERR)) && dir_read(&c->down, c->tfd) < 0)
				dead = true;
			if (!dead && (tre & POLLOUT) && dir_write(&c->up, c->tfd) < 0)
				dead = true;
			if (!dead && (cre & POLLOUT) && dir_write(&c->down, c->cfd) < 0)
				dead = true;
			/* Flush what is buffered at once: the cut comes after it. */
			if (!dead && c->up.len)
				dead = dir_write(&c->up, c->tfd) < 0;
			if (!dead && c->down.len)
				dead = dir_write(&c->down, c->cfd) < 0;
			if (dead) {
				conn_close(c, o.rst, "socket error", &o);
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
			if (c->deadline != PROXY_NONE && now_ms() >= c->deadline) {
				conn_close(c, o.rst, "after-ms reached", &o);
				continue;
			}
			if ((c->up.eof && c->up.len == 0) || (c->down.eof && c->down.len == 0))
				conn_close(c, false, NULL, &o);
		}
	}
	for (int i = 0; i < PROXY_MAX_CONNS; i++)
		if (conns[i].used)
			conn_close(&conns[i], false, NULL, &o);
	close(lfd);
	return 0;
}
