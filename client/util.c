/*
 * util.c - helpers shared by the client's commands: messages and exit
 * codes, the store location and the user's secret, ids as coordinators type
 * them, value checks, record access, and safe output of untrusted text.
 *
 * Everything a coordinator reads is French; everything that comes from a
 * store or a file is treated as untrusted when printed: a terminal gets no
 * control characters from it, JSON gets valid UTF-8 (jansson refuses
 * anything else), so a hostile value cannot rewrite the screen or make a
 * read command fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "common/states.h"
#include "common/text.h"

#define CLI_PASS_MAX 1024 /* longest passphrase read from a terminal */

/* ---- options ---- */

static int
cli_opt_index(const rl_cli *cli, const char *name)
{
	for (int i = 0; i < RL_CLI_MAX_OPTS && cli->cmd->opts[i].name; i++)
		if (strcmp(cli->cmd->opts[i].name, name) == 0)
			return i;
	return -1;
}

const char *
rl_cli_opt(const rl_cli *cli, const char *name)
{
	int i = cli_opt_index(cli, name);

	return i < 0 ? NULL : cli->value[i];
}

bool
rl_cli_flag(const rl_cli *cli, const char *name)
{
	int i = cli_opt_index(cli, name);

	return i >= 0 && cli->count[i] > 0;
}

const char **
rl_cli_optv(const rl_cli *cli, const char *name, size_t *n)
{
	int i = cli_opt_index(cli, name);

	*n = i < 0 ? 0 : cli->count[i];
	return i < 0 ? NULL : cli->values[i];
}

/* ---- messages ---- */

int
rl_cli_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("relais: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return RL_CLI_EXIT_USER;
}

int
rl_cli_fail_err(rl_err e, const char *what)
{
	return rl_cli_fail("%s : %s", what, rl_strerror_fr(e));
}

int
rl_cli_usage(const rl_cli *cli, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("relais: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cli != NULL && cli->cmd != NULL)
		fprintf(stderr, "usage : relais %s %s\n(aide : relais %s --help)\n", cli->cmd->name,
		        cli->cmd->usage, cli->cmd->name);
	else
		fputs("(aide : relais --help)\n", stderr);
	return RL_CLI_EXIT_USAGE;
}

/* A short, printable rendering of a typed value for an error message. */
static void
cli_quote(const char *s, char out[64])
{
	size_t o = 0;

	for (; s[o] && o < 48; o++) {
		unsigned char c = (unsigned char)s[o];

		out[o] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (s[o] == '\0') {
		out[o] = '\0';
		return;
	}
	/* Cut before a UTF-8 sequence, never inside one. */
	while (o > 0 && ((unsigned char)s[o] & 0xc0) == 0x80)
		o--;
	memcpy(out + o, "…", sizeof("…"));
}

/* ---- store location and secret ---- */

const char *
rl_cli_store_dir(rl_cli *cli)
{
	const char *env, *home;
	size_t n;

	if (cli->store != NULL)
		return cli->store;
	if ((env = getenv("RELAIS_STORE")) != NULL && env[0] != '\0')
		return env;
	if (cli->store_default != NULL)
		return cli->store_default;
	if ((env = getenv("XDG_DATA_HOME")) != NULL && env[0] == '/') {
		n = strlen(env) + sizeof("/relais");
		if ((cli->store_default = malloc(n)) != NULL)
			snprintf(cli->store_default, n, "%s/relais", env);
	} else {
		home = getenv("HOME");
		if (home == NULL || home[0] == '\0')
			home = ".";
		n = strlen(home) + sizeof("/.local/share/relais");
		if ((cli->store_default = malloc(n)) != NULL)
			snprintf(cli->store_default, n, "%s/.local/share/relais", home);
	}
	return cli->store_default ? cli->store_default : "relais-store";
}

/* The terminal state to restore if a signal interrupts a prompt. Process
 * wide by nature (a signal handler has no context); cleared after use. */
static volatile sig_atomic_t tty_saved_valid;
static struct termios tty_saved;
static int tty_saved_fd = -1;

static void
tty_restore_on_signal(int sig)
{
	if (tty_saved_valid)
		tcsetattr(tty_saved_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads one line from the terminal without echo into buf (secret memory of
 * CLI_PASS_MAX + 1). Returns its length, or -1 (error), -2 (too long). */
static long
tty_read_secret(int fd, const char *prompt, char *buf)
{
	struct termios t;
	struct sigaction sa, old_int, old_term, old_hup;
	size_t n = 0;
	bool too_long = false, echo_off = false;
	long r = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_restore_on_signal;
	sigemptyset(&sa.sa_mask);
	if (tcgetattr(fd, &t) == 0) {
		tty_saved = t;
		tty_saved_fd = fd;
		tty_saved_valid = 1;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGHUP, &sa, &old_hup);
		t.c_lflag &= ~(tcflag_t)ECHO;
		t.c_lflag |= ECHONL;
		echo_off = tcsetattr(fd, TCSAFLUSH, &t) == 0;
	}
	/* The prompt only once echo is off, so what is typed after it never
	 * shows; no secret is read from a terminal that would echo it. */
	if (!echo_off || write(fd, prompt, strlen(prompt)) < 0)
		r = -1;
	while (r == 0) {
		char c;
		ssize_t k = read(fd, &c, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (n == 0)
				r = -1;
			break;
		}
		if (c == '\n' || c == '\r')
			break;
		if (n < CLI_PASS_MAX)
			buf[n++] = c;
		else
			too_long = true;
	}
	buf[n] = '\0';
	if (tty_saved_valid) {
		if (echo_off)
			tcsetattr(fd, TCSAFLUSH, &tty_saved);
		tty_saved_valid = 0;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
	}
	if (r < 0)
		return r;
	return too_long ? -2 : (long)n;
}

void
rl_cli_secret_fini(rl_cli_secret *sec)
{
	if (sec->pass)
		rl_secret_free(sec->pass);
	if (sec->key)
		rl_secret_free(sec->key);
	memset(sec, 0, sizeof(*sec));
}

static int
secret_from_tty(const char *prompt, bool creating, rl_cli_secret *out)
{
	char *again = NULL;
	long n, m;
	int fd, rc = RL_CLI_EXIT_USER;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		return rl_cli_fail("aucune phrase secrète : utilisez --key-file, la variable "
		                   "RELAIS_PASSPHRASE ou un terminal");
	if ((out->pass = rl_secret_alloc(CLI_PASS_MAX + 1)) == NULL ||
	    (creating && (again = rl_secret_alloc(CLI_PASS_MAX + 1)) == NULL)) {
		rc = rl_cli_fail_err(RL_ENOMEM, "phrase secrète");
		goto out;
	}
	n = tty_read_secret(fd, prompt, out->pass);
	if (n == -2) {
		rc = rl_cli_fail("phrase secrète trop longue (au plus %d octets)", CLI_PASS_MAX);
		goto out;
	}
	if (n < 0) {
		rc = rl_cli_fail("phrase secrète : lecture du terminal impossible");
		goto out;
	}
	if (creating) {
		if (n == 0) {
			rc = rl_cli_fail("la phrase secrète ne peut pas être vide");
			goto out;
		}
		m = tty_read_secret(fd, "Confirmez la phrase secrète : ", again);
		if (m != n || !rl_memeq(again, out->pass, (size_t)n)) {
			rc = rl_cli_fail("les deux phrases secrètes diffèrent");
			goto out;
		}
	}
	out->s.pass = out->pass;
	out->s.passlen = (size_t)n;
	rc = 0;
out:
	if (again)
		rl_secret_free(again);
	close(fd);
	if (rc != 0)
		rl_cli_secret_fini(out);
	return rc;
}

int
rl_cli_secret_get(const char *key_file, const char *env_name, const char *prompt,
                  bool creating, rl_cli_secret *out)
{
	const char *env;
	rl_err e;

	memset(out, 0, sizeof(*out));
	if (key_file != NULL) {
		if ((out->key = rl_secret_alloc(RL_KEY_BYTES)) == NULL)
			return rl_cli_fail_err(RL_ENOMEM, "fichier de clé");
		if ((e = rl_store_read_keyfile(key_file, out->key)) != RL_OK) {
			rl_cli_secret_fini(out);
			if (e == RL_EKEY)
				return rl_cli_fail("fichier de clé mal formé : %s (32 octets, ou 64 "
				                   "caractères hexadécimaux, attendus)",
				                   key_file);
			return rl_cli_fail("fichier de clé illisible : %s", key_file);
		}
		out->s.key = out->key;
		return 0;
	}
	if ((env = getenv(env_name)) != NULL) {
		size_t n = strlen(env);

		if (creating && n == 0)
			return rl_cli_fail("la phrase secrète ne peut pas être vide (%s)", env_name);
		if (n > CLI_PASS_MAX)
			return rl_cli_fail("phrase secrète trop longue (au plus %d octets)",
			                   CLI_PASS_MAX);
		if ((out->pass = rl_secret_alloc(n + 1)) == NULL)
			return rl_cli_fail_err(RL_ENOMEM, "phrase secrète");
		memcpy(out->pass, env, n + 1);
		out->s.pass = out->pass;
		out->s.passlen = n;
		return 0;
	}
	return secret_from_tty(prompt, creating, out);
}

int
rl_cli_open(rl_cli *cli, rl_replica **out)
{
	const char *dir = rl_cli_store_dir(cli);
	/* [client] map_size, else the store's default (0). */
	rl_store_opts so = { (size_t)cli->cfg.map_bytes, RL_KDF_INTERACTIVE };
	rl_cli_secret sec;
	struct stat sb;
	rl_err e;
	int rc;

	*out = NULL;
	/* No store, no prompt: say so before asking for a secret. */
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return rl_cli_fail("aucun magasin de données dans %s (créez-le avec « relais init "
		                   "--antenna CODE »)",
		                   dir);
	if ((rc = rl_cli_secret_get(cli->key_file, "RELAIS_PASSPHRASE", "Phrase secrète : ",
	                            false, &sec)) != 0)
		return rc;
	e = rl_replica_open(dir, &sec.s, &so, out);
	rl_cli_secret_fini(&sec);
	switch (e) {
	case RL_OK:
		return 0;
	case RL_ENOSTORE:
		return rl_cli_fail("aucun magasin de données dans %s (créez-le avec « relais init "
		                   "--antenna CODE »)",
		                   dir);
	case RL_EKEY:
		return rl_cli_fail("phrase secrète ou fichier de clé incorrect pour %s", dir);
	case RL_EBUSY:
		return rl_cli_fail("le magasin %s est occupé par un autre programme", dir);
	default:
		return rl_cli_fail("ouverture de %s impossible : %s", dir, rl_strerror_fr(e));
	}
}

/* ---- ids ---- */

void
rl_cli_sit_hex(const uint8_t sit[RL_SIT_BYTES], char *out)
{
	rl_hex_encode(sit, RL_SIT_BYTES, out);
}

int
rl_cli_resolve_sit(rl_replica *rp, const char *typed, uint8_t sit[RL_SIT_BYTES])
{
	uint8_t prefix[RL_SIT_BYTES] = { 0 };
	size_t len = strlen(typed), matches = 0;
	char q[64];
	rl_txn *txn = NULL;
	rl_cursor *c = NULL;
	rl_bytes k;
	rl_err e;

	cli_quote(typed, q);
	if (len < RL_CLI_SIT_PREFIX_MIN || len > RL_CLI_SIT_HEX)
		goto malformed;
	for (size_t i = 0; i < len; i++) {
		int v = rl_hex_digit(typed[i]);

		if (v < 0)
			goto malformed;
		prefix[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
	}
	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK)
		return rl_cli_fail_err(e, "lecture du magasin");
	if ((e = rl_cursor_open(txn, RL_T_STATES, &c)) != RL_OK)
		goto fail;
	/* The first key >= the prefix (odd nibble padded with 0) starts the
	 * run of keys sharing it. */
	for (e = rl_cursor_seek(c, RL_BYTES(prefix, (len + 1) / 2), &k, NULL); e == RL_OK;
	     e = rl_cursor_next(c, &k, NULL)) {
		if (k.len != RL_SIT_BYTES || memcmp(k.p, prefix, len / 2) != 0 ||
		    (len % 2 && (k.p[len / 2] & 0xf0) != prefix[len / 2]))
			break;
		if (matches++ == 0)
			memcpy(sit, k.p, RL_SIT_BYTES);
		if (matches > 1)
			break;
	}
	if (e != RL_OK && e != RL_ENOTFOUND)
		goto fail;
	rl_cursor_close(c);
	rl_store_abort(txn);
	if (matches == 0)
		return rl_cli_fail("situation inconnue : %s", q);
	if (matches > 1)
		return rl_cli_fail("identifiant ambigu : %s désigne plusieurs situations "
		                   "(donnez plus de caractères)",
		                   q);
	return 0;
fail:
	rl_cursor_close(c);
	rl_store_abort(txn);
	return rl_cli_fail_err(e, "lecture du magasin");
malformed:
	return rl_cli_fail("identifiant de situation invalide : %s (32 caractères "
	                   "hexadécimaux, ou au moins %d pour un préfixe)",
	                   q, RL_CLI_SIT_PREFIX_MIN);
}

void
rl_cli_opid_format(const rl_opid *id, char out[RL_CLI_OPID_MAX])
{
	char hex[2 * RL_CLI_OPID_DEV_BYTES + 1];

	rl_hex_encode(id->dev, RL_CLI_OPID_DEV_BYTES, hex);
	snprintf(out, RL_CLI_OPID_MAX, "%s-%llu", hex, (unsigned long long)id->ctr);
}

int
rl_cli_find_opid(const rl_record *rec, uint8_t kind, const char *typed, const char *what,
                 const rl_op **out)
{
	const char *dash = strrchr(typed, '-');
	size_t hexlen = dash ? (size_t)(dash - typed) : 0, matches = 0;
	uint64_t ctr = 0;
	char q[64];

	cli_quote(typed, q);
	*out = NULL;
	if (dash == NULL || hexlen < 4 || hexlen > RL_CLI_DEV_HEX || dash[1] == '\0' ||
	    strlen(dash + 1) > 20)
		goto malformed;
	for (size_t i = 0; i < hexlen; i++)
		if (rl_hex_digit(typed[i]) < 0)
			goto malformed;
	for (const char *p = dash + 1; *p; p++) {
		if (*p < '0' || *p > '9' || __builtin_mul_overflow(ctr, 10, &ctr) ||
		    __builtin_add_overflow(ctr, (uint64_t)(*p - '0'), &ctr))
			goto malformed;
	}
	for (size_t i = 0; i < rec->nops; i++) {
		const rl_op *op = rec->ops[i];
		char hex[RL_CLI_DEV_HEX + 1];
		bool same = true;

		if (op->kind != kind || op->id.ctr != ctr)
			continue;
		rl_hex_encode(op->id.dev, RL_DEV_BYTES, hex);
		for (size_t j = 0; j < hexlen && same; j++)
			same = hex[j] == (typed[j] >= 'A' && typed[j] <= 'F' ? typed[j] + 32 : typed[j]);
		if (!same)
			continue;
		if (matches++ == 0)
			*out = op;
	}
	if (matches == 0)
		return rl_cli_fail("%s inconnue dans cette situation : %s", what, q);
	if (matches > 1) {
		*out = NULL;
		return rl_cli_fail("identifiant ambigu : %s (donnez plus de caractères de l'appareil)",
		                   q);
	}
	return 0;
malformed:
	return rl_cli_fail("identifiant invalide : %s (forme attendue : 0123456789abcdef-12)", q);
}

/* ---- values ---- */

int
rl_cli_parse_date(const char *opt, const char *s, uint32_t *ymd)
{
	char q[64];

	if (rl_date_parse(s, strlen(s), ymd) == RL_OK)
		return 0;
	cli_quote(s, q);
	return rl_cli_fail("date invalide pour %s : %s (AAAA-MM-JJ, un jour qui existe)", opt, q);
}

int
rl_cli_check_text(const char *what, const char *s, bool multiline)
{
	size_t len = strlen(s);
	const uint8_t *p = (const uint8_t *)s;

	if (len > RL_MAX_VALUE)
		return rl_cli_fail("%s trop long : %zu octets (au plus %d)", what, len, RL_MAX_VALUE);
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t k = rl_text_next(p + i, len - i, &c);

		if (k == 0)
			return rl_cli_fail("%s : texte non UTF-8", what);
		if (rl_text_is_control(c) && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
			return rl_cli_fail("%s : caractère de contrôle refusé", what);
		i += k;
	}
	return 0;
}

static int
check_choice(const char *name, const char *s, const char *const *choices, const char *hint)
{
	char q[64];

	for (size_t i = 0; choices[i]; i++)
		if (strcmp(s, choices[i]) == 0)
			return 0;
	cli_quote(s, q);
	return rl_cli_fail("valeur invalide pour %s : « %s » (%s)", name, q, hint);
}

int
rl_cli_check_field(uint8_t field, const char *s, char *out, size_t cap)
{
	static const char *const kinds[] = { "coordination", "orientation", NULL };
	static const char *const consents[] = { "oui", "non", "en_attente", NULL };
	static const char *const statuses[] = { "open", "closed", NULL };
	static const char *const yesno[] = { "oui", "non", NULL };
	const char *name = rl_field_name(field);
	char q[64];
	uint32_t ymd;
	int rc;

	if ((rc = rl_cli_check_text(name, s, true)) != 0)
		return rc;
	cli_quote(s, q);
	switch (field) {
	case RL_F_KIND:
		rc = check_choice(name, s, kinds, "coordination ou orientation");
		break;
	case RL_F_CONSENT:
		rc = check_choice(name, s, consents, "oui, non ou en_attente");
		break;
	case RL_F_STATUS:
		rc = check_choice(name, s, statuses, "open ou closed");
		break;
	case RL_F_ALERT_DONE:
		rc = check_choice(name, s, yesno, "oui ou non");
		break;
	case RL_F_SEX:
		if ((s[0] == 'F' || s[0] == 'M' || s[0] == 'X' || s[0] == 'f' || s[0] == 'm' ||
		     s[0] == 'x') &&
		    s[1] == '\0') {
			snprintf(out, cap, "%c", s[0] & ~0x20);
			return 0;
		}
		return rl_cli_fail("valeur invalide pour sex : « %s » (F, M ou X)", q);
	case RL_F_AGE: {
		size_t n = strlen(s);
		unsigned v = 0;

		for (size_t i = 0; i < n; i++)
			if (s[i] < '0' || s[i] > '9' || i >= 3)
				n = 0;
		for (size_t i = 0; i < n; i++)
			v = v * 10 + (unsigned)(s[i] - '0');
		if (n == 0 || v > 130)
			return rl_cli_fail("valeur invalide pour age : « %s » (un nombre de 0 à 130)", q);
		snprintf(out, cap, "%u", v);
		return 0;
	}
	case RL_F_ANTENNA:
		if (!rl_antenna_valid(s))
			return rl_cli_fail("code d'antenne invalide : « %s » (1 à %d caractères parmi "
			                   "A-Z a-z 0-9 _ -)",
			                   q, RL_ANTENNA_MAX);
		break;
	case RL_F_OPENED:
	case RL_F_ALERT_DUE:
		if (rl_date_parse(s, strlen(s), &ymd) != RL_OK)
			return rl_cli_fail("date invalide pour %s : « %s » (AAAA-MM-JJ, un jour qui "
			                   "existe)",
			                   name, q);
		break;
	case RL_F_CLOSED:
		if (s[0] != '\0' && rl_date_parse(s, strlen(s), &ymd) != RL_OK)
			return rl_cli_fail("date invalide pour %s : « %s » (AAAA-MM-JJ, un jour qui "
			                   "existe)",
			                   name, q);
		break;
	case RL_F_INITIALS:
	case RL_F_COMMUNE:
		if ((rc = rl_cli_check_text(name, s, false)) != 0)
			return rc;
		break;
	default: /* free texts: living, history, evolution, close_reason, alert text */
		break;
	}
	if (rc != 0)
		return rc;
	if (strlen(s) >= cap)
		return rl_cli_fail("%s trop long", name);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

bool
rl_cli_problem_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return false;
	return n > 0 && n <= RL_MAX_ELEM;
}

int
rl_cli_read_file(const char *path, size_t max, rl_buf *out)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	rl_err e;

	rl_buf_reset(out);
	if (fd < 0)
		return rl_cli_fail("lecture impossible : %s (%s)", path, strerror(errno));
	if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		close(fd);
		return rl_cli_fail("lecture impossible : %s est un dossier", path);
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max) {
		if (!is_stdin)
			close(fd);
		return rl_cli_fail("fichier trop gros : %s (au plus %zu octets)", path, max);
	}
	for (;;) {
		ssize_t k;

		if ((e = rl_buf_reserve(out, 65536)) != RL_OK) {
			if (!is_stdin)
				close(fd);
			return rl_cli_fail_err(e, path);
		}
		k = read(fd, out->data + out->len, out->cap - out->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int err = errno;

			if (!is_stdin)
				close(fd);
			return rl_cli_fail("lecture impossible : %s (%s)", path, strerror(err));
		}
		if (k == 0)
			break;
		out->len += (size_t)k;
		if (out->len > max) {
			if (!is_stdin)
				close(fd);
			return rl_cli_fail("fichier trop gros : %s (au plus %zu octets)", path, max);
		}
	}
	if (!is_stdin)
		close(fd);
	return 0;
}

/* ---- records ---- */

rl_err
rl_cli_load(rl_replica *rp, const uint8_t sit[RL_SIT_BYTES], rl_record *rec)
{
	rl_txn *txn;
	rl_err e;

	if ((e = rl_store_begin(rl_replica_store(rp), false, &txn)) != RL_OK) {
		rl_record_init(rec, sit);
		return e;
	}
	e = rl_state_load(txn, sit, rec);
	rl_store_abort(txn);
	return e;
}

/* rl_cli_each's walk: skips tombstones, and stops on the first non-zero
 * exit status of the command's callback. */
struct each_ctx {
	rl_cli_each_fn fn;
	void *arg;
	int rc;
};

static rl_err
each_state(void *arg, const rl_record *rec)
{
	struct each_ctx *x = arg;

	if (rec->erased)
		return RL_OK;
	/* A status, not an error: any code other than RL_OK stops the walk. */
	return (x->rc = x->fn(rec, x->arg)) != 0 ? RL_ECLOSED : RL_OK;
}

int
rl_cli_each(rl_replica *rp, rl_cli_each_fn fn, void *arg)
{
	struct each_ctx x = { fn, arg, 0 };
	rl_err e = rl_states_read(rl_replica_store(rp), each_state, &x);

	if (x.rc != 0)
		return x.rc;
	return e != RL_OK ? rl_cli_fail_err(e, "lecture du magasin") : 0;
}

static bool
bytes_eq(rl_bytes a, rl_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* Appends the conflict of one register to *out if it has several distinct
 * live values. */
static rl_err
conflict_probe(const rl_record *rec, const rl_op *alert, uint8_t field, rl_cli_conflict **out,
               size_t *n)
{
	const rl_opid *target = alert ? &alert->id : NULL;
	size_t live = rl_record_reg(rec, target, field, NULL, 0);
	rl_cli_conflict *grown;
	rl_regval *vals;
	bool distinct = false;

	if (live < 2)
		return RL_OK;
	if ((vals = calloc(live, sizeof(*vals))) == NULL)
		return RL_ENOMEM;
	rl_record_reg(rec, target, field, vals, live);
	/* Values rendered from an alert op point into vals[i].text: vals must
	 * not move from here on. */
	for (size_t i = 1; i < live; i++)
		if (!bytes_eq(vals[i].value, vals[0].value))
			distinct = true;
	if (!distinct) {
		free(vals);
		return RL_OK;
	}
	if ((grown = realloc(*out, (*n + 1) * sizeof(**out))) == NULL) {
		free(vals);
		return RL_ENOMEM;
	}
	*out = grown;
	grown[*n] = (rl_cli_conflict){ alert, field, live, vals };
	(*n)++;
	return RL_OK;
}

rl_err
rl_cli_conflicts(const rl_record *rec, rl_cli_conflict **out, size_t *n)
{
	const rl_op **alerts = NULL;
	size_t nalerts = 0;
	rl_err e = RL_OK;

	*out = NULL;
	*n = 0;
	for (uint8_t f = RL_F_KIND; f < RL_F__SITUATION_END && e == RL_OK; f++)
		e = conflict_probe(rec, NULL, f, out, n);
	if (e == RL_OK)
		e = rl_record_list(rec, RL_OP_ALERT, &alerts, &nalerts);
	for (size_t i = 0; i < nalerts && e == RL_OK; i++)
		for (uint8_t f = RL_F_ALERT_DUE; f < RL_F__ALERT_END && e == RL_OK; f++)
			e = conflict_probe(rec, alerts[i], f, out, n);
	free(alerts);
	if (e != RL_OK) {
		rl_cli_conflicts_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return e;
}

void
rl_cli_conflicts_free(rl_cli_conflict *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].vals);
	free(c);
}

void
rl_cli_conflict_name(const rl_cli_conflict *c, char *out, size_t cap)
{
	char id[RL_CLI_OPID_MAX];

	if (c->alert == NULL) {
		snprintf(out, cap, "%s", rl_field_name(c->field));
		return;
	}
	rl_cli_opid_format(&c->alert->id, id);
	snprintf(out, cap, "%s@%s", rl_field_name(c->field), id);
}

/* ---- output ---- */

json_t *
rl_cli_jstr(rl_bytes b)
{
	static const uint8_t repl[] = { 0xef, 0xbf, 0xbd }; /* U+FFFD */
	json_t *j;
	rl_buf clean;

	if (b.len == 0)
		return json_string("");
	if ((j = json_stringn((const char *)b.p, b.len)) != NULL)
		return j;
	rl_buf_init(&clean);
	for (size_t i = 0; i < b.len;) {
		uint32_t c;
		size_t k = rl_text_next(b.p + i, b.len - i, &c);

		if (k == 0 ? rl_buf_append(&clean, repl, sizeof(repl)) != RL_OK
		           : rl_buf_append(&clean, b.p + i, k) != RL_OK) {
			rl_buf_fini(&clean);
			return NULL;
		}
		i += k ? k : 1;
	}
	j = json_stringn((const char *)clean.data, clean.len);
	rl_buf_fini(&clean);
	return j;
}

json_t *
rl_cli_jstr_or_null(rl_bytes b)
{
	return b.len == 0 ? json_null() : rl_cli_jstr(b);
}

int
rl_cli_json_print(json_t *doc)
{
	int r;

	if (doc == NULL)
		return rl_cli_fail_err(RL_ENOMEM, "sortie JSON");
	r = json_dumpf(doc, stdout, JSON_INDENT(2));
	json_decref(doc);
	if (r != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return rl_cli_fail("écriture de la sortie impossible");
	return 0;
}

void
rl_cli_print_safe(FILE *f, rl_bytes b, const char *indent)
{
	for (size_t i = 0; i < b.len;) {
		uint32_t c;
		size_t k = rl_text_next(b.p + i, b.len - i, &c);

		if (k == 0) {
			fputc('?', f);
			i++;
			continue;
		}
		if (c == '\n') {
			if (indent) {
				fputc('\n', f);
				fputs(indent, f);
			} else
				fputc(' ', f);
		} else if (c == '\t')
			fputc(indent ? '\t' : ' ', f);
		else if (rl_text_is_control(c))
			fputc('?', f);
		else
			fwrite(b.p + i, 1, k, f);
		i += k;
	}
}

void
rl_cli_cell(FILE *f, const char *s, int width)
{
	rl_buf clean;

	/* Printable first (controls as '?'), then one column rule for all. */
	rl_buf_init(&clean);
	if (rl_text_printable(RL_BYTES(s, strlen(s)), &clean) == RL_OK)
		rl_text_cell(f, (const char *)clean.data, width > 0 ? (size_t)width : 0);
	rl_buf_fini(&clean);
}
