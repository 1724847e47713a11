/*
 * fuzz_config.c - libFuzzer target for the INI configuration parsers
 * (rl_server_config_parse, rl_client_config_parse in common/config.c).
 *
 * Input: one selector byte, then the file's bytes (no terminating NUL, as
 * the parsers allow). Selector bit 0: server (0) or client (1) file; bits
 * 1-2: the error buffer's capacity (none, 1, 16 or RL_CFG_ERR_MAX bytes, in
 * a heap block of exactly that size so ASan sees any overrun). Checks: a
 * refused file leaves the structure as rl_*_config_init made it and a
 * NUL-terminated message; an accepted one holds NUL-terminated printable
 * strings, a log level in range and a map size unset or in its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s)
{
	size_t n = strnlen(s, RL_CFG_STR_MAX);

	FZ_CHECK(n < RL_CFG_STR_MAX);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = { 0, 1, 16, RL_CFG_ERR_MAX };
	rl_server_config sc, sc0;
	rl_client_config cc, cc0;
	const char *text;
	size_t errcap, len;
	char *err = NULL;
	rl_err e;

	if (size < 1)
		return 0;
	errcap = caps[(data[0] >> 1) & 3];
	if (errcap > 0) {
		FZ_CHECK((err = malloc(errcap)) != NULL);
		memset(err, 'x', errcap);
	}
	text = (const char *)data + 1;
	len = size - 1;
	if ((data[0] & 1) == 0) {
		rl_server_config_init(&sc0);
		e = rl_server_config_parse(text, len, &sc, err, errcap);
		if (e != RL_OK)
			FZ_CHECK(memcmp(&sc, &sc0, sizeof(sc)) == 0);
		else {
			check_text(sc.listen);
			check_text(sc.store);
			check_text(sc.key_file);
			FZ_CHECK(sc.log_level >= -1 && sc.log_level <= 3);
			FZ_CHECK(sc.map_bytes == 0 ||
			         (sc.map_bytes >= RL_CFG_MAP_MIN && sc.map_bytes <= RL_CFG_MAP_MAX));
		}
	} else {
		rl_client_config_init(&cc0);
		e = rl_client_config_parse(text, len, &cc, err, errcap);
		if (e != RL_OK)
			FZ_CHECK(memcmp(&cc, &cc0, sizeof(cc)) == 0);
		else {
			check_text(cc.store);
			check_text(cc.key_file);
			check_text(cc.server);
			FZ_CHECK(cc.log_level >= -1 && cc.log_level <= 3);
			FZ_CHECK(cc.map_bytes == 0 ||
			         (cc.map_bytes >= RL_CFG_MAP_MIN && cc.map_bytes <= RL_CFG_MAP_MAX));
			FZ_CHECK(cc.backoff_min_ms == 0 || cc.backoff_max_ms == 0 ||
			         cc.backoff_min_ms <= cc.backoff_max_ms);
		}
	}
	if (err != NULL) {
		FZ_CHECK(memchr(err, '\0', errcap) != NULL);
		if (e == RL_OK)
			FZ_CHECK(err[0] == '\0');
		else
			FZ_CHECK(errcap == 1 || err[0] != '\0');
	}
	free(err);
	return 0;
}
