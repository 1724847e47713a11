/*
 * session.c - handshake, sealed frames and enrollment MACs.
 *
 * Key schedule (all hashes BLAKE2b-256, "H_k(x)" keyed with k):
 *
 *   hello_hash = H("relais-hello-v1" || HELLO frame)
 *   th  = H(hello_hash || version || session id || server eph ||
 *           store epoch || store seq (8 bytes, big-endian))
 *   ikm = ee || se || es                       (three X25519 results)
 *   k   = H_th(ikm)
 *   k_c2s = H_k("c2s"), k_s2c = H_k("s2c"), confirm = H_k("confirm")
 *
 * Nonce of a sealed frame: 24 bytes, byte 0 the direction (0 client to
 * server, 1 server to client), bytes 16..23 the counter big-endian, the rest
 * zero. Associated data: the frame's 25-byte header ('S', id, counter).
 */
#include <string.h>

#include "common/mp.h"
#include "msg.h"
#include "session.h"

static const char hello_label[] = "relais-hello-v1";

static void
hs_derive(const uint8_t hello_hash[RL_HASH_BYTES], uint32_t version,
          const uint8_t id[RL_SESSION_ID_BYTES], const uint8_t server_eph[RL_PK_BYTES],
          const rl_hs_server_info *info, const uint8_t ikm[96], uint8_t k_c2s[RL_KEY_BYTES],
          uint8_t k_s2c[RL_KEY_BYTES], uint8_t confirm[RL_HASH_BYTES])
{
	uint8_t t[RL_HASH_BYTES + 4 + RL_SESSION_ID_BYTES + RL_PK_BYTES + RL_EPOCH_BYTES + 8];
	uint8_t th[RL_HASH_BYTES], k[RL_HASH_BYTES];
	size_t o = 0;

	memcpy(t, hello_hash, RL_HASH_BYTES);
	o += RL_HASH_BYTES;
	t[o++] = (uint8_t)(version >> 24);
	t[o++] = (uint8_t)(version >> 16);
	t[o++] = (uint8_t)(version >> 8);
	t[o++] = (uint8_t)version;
	memcpy(t + o, id, RL_SESSION_ID_BYTES);
	o += RL_SESSION_ID_BYTES;
	memcpy(t + o, server_eph, RL_PK_BYTES);
	o += RL_PK_BYTES;
	memcpy(t + o, info->epoch, RL_EPOCH_BYTES);
	o += RL_EPOCH_BYTES;
	rl_put_be64(t + o, info->seq);
	rl_hash(t, sizeof(t), th);
	rl_hash_keyed(th, ikm, 96, k);
	rl_hash_keyed(k, "c2s", 3, k_c2s);
	rl_hash_keyed(k, "s2c", 3, k_s2c);
	rl_hash_keyed(k, "confirm", 7, confirm);
	rl_wipe(k, sizeof(k));
	rl_wipe(th, sizeof(th));
}

static void
hello_hash_of(rl_bytes frame, uint8_t out[RL_HASH_BYTES])
{
	rl_hash_state st;

	rl_hash_init(&st);
	rl_hash_update(&st, hello_label, sizeof(hello_label) - 1);
	rl_hash_update(&st, frame.p, frame.len);
	rl_hash_final(&st, out);
}

rl_err
rl_hs_client_hello(rl_hs_client *hs, const uint8_t static_pk[RL_PK_BYTES],
                   const uint8_t static_sk[RL_SK_BYTES], const uint8_t server_pk[RL_PK_BYTES],
                   rl_buf *out)
{
	size_t start = out->len;
	uint8_t type = RL_FRAME_HELLO;
	rl_mpw w;
	rl_err e;

	memcpy(hs->static_pk, static_pk, RL_PK_BYTES);
	memcpy(hs->static_sk, static_sk, RL_SK_BYTES);
	memcpy(hs->server_pk, server_pk, RL_PK_BYTES);
	rl_dh_keypair(hs->eph_pk, hs->eph_sk);
	if ((e = rl_buf_append(out, &type, 1)) != RL_OK)
		return e;
	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 4);
	rl_mpw_uint(&w, RL_PROTO_VERSION);
	rl_mpw_uint(&w, RL_PROTO_VERSION);
	rl_mpw_bin(&w, static_pk, RL_PK_BYTES);
	rl_mpw_bin(&w, hs->eph_pk, RL_PK_BYTES);
	if ((e = rl_mpw_err(&w)) != RL_OK)
		return e;
	hello_hash_of(RL_BYTES(out->data + start, out->len - start), hs->hello_hash);
	return RL_OK;
}

rl_err
rl_hs_parse_hello(rl_bytes frame, rl_hello *h)
{
	uint64_t vmin, vmax;
	rl_mpr r;

	if (frame.len < 1 || frame.len > RL_HELLO_MAX || frame.p[0] != RL_FRAME_HELLO)
		return RL_EPROTO;
	rl_mpr_init(&r, frame.p + 1, frame.len - 1);
	rl_mpr_array_n(&r, 4);
	rl_mpr_uint(&r, UINT32_MAX, &vmin);
	rl_mpr_uint(&r, UINT32_MAX, &vmax);
	rl_mpr_bin_n(&r, RL_PK_BYTES, h->client_pk);
	rl_mpr_bin_n(&r, RL_PK_BYTES, h->client_eph);
	if (rl_mpr_done(&r) != RL_OK)
		return RL_EPROTO;
	h->vmin = (uint32_t)vmin;
	h->vmax = (uint32_t)vmax;
	if (vmin > RL_PROTO_VERSION || vmax < RL_PROTO_VERSION)
		return RL_EVERSION;
	hello_hash_of(frame, h->hash);
	return RL_OK;
}

rl_err
rl_hs_server_welcome_info(const rl_hello *h, const uint8_t server_sk[RL_SK_BYTES],
                          const rl_hs_server_info *info, rl_session *s, rl_buf *out)
{
	uint8_t eph_pk[RL_PK_BYTES], eph_sk[RL_SK_BYTES], ikm[96], confirm[RL_HASH_BYTES];
	uint8_t type = RL_FRAME_WELCOME;
	rl_mpw w;
	rl_err e;

	memset(s, 0, sizeof(*s));
	rl_dh_keypair(eph_pk, eph_sk);
	rl_random(s->id, RL_SESSION_ID_BYTES);
	if ((e = rl_dh(ikm, eph_sk, h->client_eph)) != RL_OK ||
	    (e = rl_dh(ikm + 32, eph_sk, h->client_pk)) != RL_OK ||
	    (e = rl_dh(ikm + 64, server_sk, h->client_eph)) != RL_OK)
		goto out;
	s->version = RL_PROTO_VERSION;
	s->is_server = true;
	hs_derive(h->hash, s->version, s->id, eph_pk, info, ikm, s->k_recv, s->k_send, confirm);
	if ((e = rl_buf_append(out, &type, 1)) != RL_OK)
		goto out;
	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 7);
	rl_mpw_uint(&w, s->version);
	rl_mpw_bin(&w, s->id, RL_SESSION_ID_BYTES);
	rl_mpw_bin(&w, eph_pk, RL_PK_BYTES);
	rl_mpw_bin(&w, confirm, RL_HASH_BYTES);
	rl_mpw_uint(&w, info->time_ms);
	rl_mpw_bin(&w, info->epoch, RL_EPOCH_BYTES);
	rl_mpw_uint(&w, info->seq);
	e = rl_mpw_err(&w);
out:
	rl_wipe(eph_sk, sizeof(eph_sk));
	rl_wipe(ikm, sizeof(ikm));
	if (e != RL_OK)
		rl_session_wipe(s);
	return e;
}

rl_err
rl_hs_server_welcome(const rl_hello *h, const uint8_t server_sk[RL_SK_BYTES],
                     uint64_t server_time, rl_session *s, rl_buf *out)
{
	rl_hs_server_info info;

	memset(&info, 0, sizeof(info));
	info.time_ms = server_time;
	return rl_hs_server_welcome_info(h, server_sk, &info, s, out);
}

rl_err
rl_hs_client_finish_info(rl_hs_client *hs, rl_bytes frame, rl_session *s,
                         rl_hs_server_info *info)
{
	uint8_t eph[RL_PK_BYTES], confirm[RL_HASH_BYTES], mine[RL_HASH_BYTES], ikm[96];
	uint64_t version;
	rl_mpr r;
	rl_err e = RL_EPROTO;

	memset(s, 0, sizeof(*s));
	memset(info, 0, sizeof(*info));
	if (frame.len >= 1 && frame.p[0] == RL_FRAME_ERROR) {
		uint32_t code;
		rl_bytes text;

		e = rl_frame_parse_error(frame, &code, &text);
		if (e == RL_OK)
			e = rl_wire_err(code);
		goto out;
	}
	if (frame.len < 1 || frame.len > RL_HELLO_MAX || frame.p[0] != RL_FRAME_WELCOME)
		goto out;
	rl_mpr_init(&r, frame.p + 1, frame.len - 1);
	rl_mpr_array_n(&r, 7);
	rl_mpr_uint(&r, UINT32_MAX, &version);
	rl_mpr_bin_n(&r, RL_SESSION_ID_BYTES, s->id);
	rl_mpr_bin_n(&r, RL_PK_BYTES, eph);
	rl_mpr_bin_n(&r, RL_HASH_BYTES, confirm);
	rl_mpr_uint(&r, UINT64_MAX, &info->time_ms);
	rl_mpr_bin_n(&r, RL_EPOCH_BYTES, info->epoch);
	rl_mpr_uint(&r, UINT64_MAX, &info->seq);
	if (rl_mpr_done(&r) != RL_OK)
		goto out;
	if (version != RL_PROTO_VERSION) {
		e = RL_EVERSION;
		goto out;
	}
	if ((e = rl_dh(ikm, hs->eph_sk, eph)) != RL_OK ||
	    (e = rl_dh(ikm + 32, hs->static_sk, eph)) != RL_OK ||
	    (e = rl_dh(ikm + 64, hs->eph_sk, hs->server_pk)) != RL_OK)
		goto out;
	s->version = (uint32_t)version;
	hs_derive(hs->hello_hash, s->version, s->id, eph, info, ikm, s->k_send, s->k_recv, mine);
	e = rl_memeq(mine, confirm, RL_HASH_BYTES) ? RL_OK : RL_ECRYPTO;
out:
	rl_wipe(ikm, sizeof(ikm));
	rl_wipe(hs, sizeof(*hs));
	if (e != RL_OK)
		rl_session_wipe(s);
	return e;
}

rl_err
rl_hs_client_finish(rl_hs_client *hs, rl_bytes frame, rl_session *s, uint64_t *server_time)
{
	rl_hs_server_info info;
	rl_err e = rl_hs_client_finish_info(hs, frame, s, &info);

	*server_time = info.time_ms;
	return e;
}

rl_err
rl_frame_error(uint32_t code, const char *text, rl_buf *out)
{
	uint8_t type = RL_FRAME_ERROR;
	rl_mpw w;
	rl_err e;

	if ((e = rl_buf_append(out, &type, 1)) != RL_OK)
		return e;
	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 2);
	rl_mpw_uint(&w, code);
	rl_mpw_cstr(&w, text);
	return rl_mpw_err(&w);
}

rl_err
rl_frame_parse_error(rl_bytes frame, uint32_t *code, rl_bytes *text)
{
	uint64_t c;
	rl_mpr r;

	if (frame.len < 1 || frame.len > RL_HELLO_MAX || frame.p[0] != RL_FRAME_ERROR)
		return RL_EPROTO;
	rl_mpr_init(&r, frame.p + 1, frame.len - 1);
	rl_mpr_array_n(&r, 2);
	rl_mpr_uint(&r, UINT32_MAX, &c);
	rl_mpr_str(&r, 200, text);
	if (rl_mpr_done(&r) != RL_OK)
		return RL_EPROTO;
	*code = (uint32_t)c;
	return RL_OK;
}

/* ---- sealed frames ---- */

static void
frame_nonce(uint8_t nonce[RL_NONCE_BYTES], bool from_server, uint64_t ctr)
{
	memset(nonce, 0, RL_NONCE_BYTES);
	nonce[0] = from_server ? 1 : 0;
	rl_put_be64(nonce + 16, ctr);
}

rl_err
rl_session_seal(rl_session *s, rl_bytes body, rl_buf *out)
{
	uint8_t nonce[RL_NONCE_BYTES];
	uint64_t ctr;
	uint8_t *hdr;
	size_t need;
	rl_err e;

	if (s->failed)
		return RL_ECLOSED;
	if (__builtin_add_overflow(body.len, RL_SEALED_HEADER + RL_TAG_BYTES, &need))
		return RL_ETOOBIG;
	if ((e = rl_buf_reserve(out, need)) != RL_OK)
		return e;
	if (s->is_server)
		ctr = s->recv_ctr; /* the answer carries the request's counter */
	else
		ctr = ++s->send_ctr;
	hdr = out->data + out->len;
	hdr[0] = RL_FRAME_SEALED;
	memcpy(hdr + 1, s->id, RL_SESSION_ID_BYTES);
	rl_put_be64(hdr + 1 + RL_SESSION_ID_BYTES, ctr);
	frame_nonce(nonce, s->is_server, ctr);
	rl_seal_n(s->k_send, nonce, hdr, RL_SEALED_HEADER, body.p, body.len,
	          hdr + RL_SEALED_HEADER);
	out->len += need;
	if (s->is_server)
		s->send_ctr = ctr;
	return RL_OK;
}

rl_err
rl_session_frame_id(rl_bytes frame, uint8_t id[RL_SESSION_ID_BYTES])
{
	if (frame.len < RL_SEALED_HEADER + RL_TAG_BYTES || frame.p[0] != RL_FRAME_SEALED)
		return RL_EPROTO;
	memcpy(id, frame.p + 1, RL_SESSION_ID_BYTES);
	return RL_OK;
}

rl_err
rl_session_open(rl_session *s, rl_bytes frame, rl_buf *out)
{
	uint8_t nonce[RL_NONCE_BYTES];
	uint64_t ctr, want;
	size_t len;
	rl_err e;

	if (s->failed)
		return RL_ECLOSED;
	if (frame.len < RL_SEALED_HEADER + RL_TAG_BYTES || frame.p[0] != RL_FRAME_SEALED ||
	    !rl_memeq(frame.p + 1, s->id, RL_SESSION_ID_BYTES)) {
		e = RL_EPROTO;
		goto fail;
	}
	ctr = rl_get_be64(frame.p + 1 + RL_SESSION_ID_BYTES);
	want = s->is_server ? s->recv_ctr + 1 : s->send_ctr;
	if (ctr != want) {
		e = RL_ECRYPTO;
		goto fail;
	}
	len = frame.len - RL_SEALED_HEADER - RL_TAG_BYTES;
	rl_buf_reset(out);
	if ((e = rl_buf_reserve(out, len + 1)) != RL_OK)
		goto fail;
	frame_nonce(nonce, !s->is_server, ctr);
	if ((e = rl_open_n(s->k_recv, nonce, frame.p, RL_SEALED_HEADER,
	                   frame.p + RL_SEALED_HEADER, frame.len - RL_SEALED_HEADER,
	                   out->data)) != RL_OK)
		goto fail;
	out->len = len;
	if (s->is_server)
		s->recv_ctr = ctr;
	return RL_OK;
fail:
	s->failed = true;
	return e;
}

void
rl_session_wipe(rl_session *s)
{
	rl_wipe(s->k_send, sizeof(s->k_send));
	rl_wipe(s->k_recv, sizeof(s->k_recv));
	s->failed = true;
}

/* ---- enrollment ---- */

static const char enroll_label1[] = "relais-enroll-request-v1";
static const char enroll_label2[] = "relais-enroll-reply-v1";

rl_err
rl_token_parse(const char *s, uint8_t id[RL_TOKEN_ID_BYTES],
               uint8_t secret[RL_TOKEN_SECRET_BYTES])
{
	size_t n = strlen(s);

	if (n != RL_TOKEN_HEX || rl_hex_decode(s, 2 * RL_TOKEN_ID_BYTES, id, RL_TOKEN_ID_BYTES) ||
	    rl_hex_decode(s + 2 * RL_TOKEN_ID_BYTES, 2 * RL_TOKEN_SECRET_BYTES, secret,
	                  RL_TOKEN_SECRET_BYTES))
		return RL_EINVAL;
	return RL_OK;
}

/* MAC key of a token: H(label || secret). */
static void
token_key(const uint8_t secret[RL_TOKEN_SECRET_BYTES], const char *label,
          uint8_t key[RL_KEY_BYTES])
{
	rl_hash_state st;

	rl_hash_init(&st);
	rl_hash_update(&st, label, strlen(label));
	rl_hash_update(&st, secret, RL_TOKEN_SECRET_BYTES);
	rl_hash_final(&st, key);
}

rl_err
rl_enroll_request(const uint8_t id[RL_TOKEN_ID_BYTES], const uint8_t secret[RL_TOKEN_SECRET_BYTES],
                  const uint8_t device_pk[RL_PK_BYTES], const char *name, rl_buf *out)
{
	uint8_t type = RL_FRAME_ENROLL, key[RL_KEY_BYTES], mac[RL_HASH_BYTES];
	size_t start;
	rl_mpw w;
	rl_err e;

	if (strlen(name) > 64)
		return RL_ETOOBIG;
	if ((e = rl_buf_append(out, &type, 1)) != RL_OK)
		return e;
	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 2);
	start = out->len;
	rl_mpw_array(&w, 4);
	rl_mpw_uint(&w, RL_PROTO_VERSION);
	rl_mpw_bin(&w, id, RL_TOKEN_ID_BYTES);
	rl_mpw_bin(&w, device_pk, RL_PK_BYTES);
	rl_mpw_cstr(&w, name);
	if ((e = rl_mpw_err(&w)) != RL_OK)
		return e;
	token_key(secret, enroll_label1, key);
	rl_hash_keyed(key, out->data + start, out->len - start, mac);
	rl_wipe(key, sizeof(key));
	rl_mpw_bin(&w, mac, sizeof(mac));
	return rl_mpw_err(&w);
}

rl_err
rl_enroll_parse(rl_bytes frame, rl_enroll_req *q)
{
	uint64_t version;
	rl_bytes name;
	size_t start;
	rl_mpr r;

	if (frame.len < 1 || frame.len > RL_HELLO_MAX || frame.p[0] != RL_FRAME_ENROLL)
		return RL_EPROTO;
	rl_mpr_init(&r, frame.p + 1, frame.len - 1);
	rl_mpr_array_n(&r, 2);
	start = r.pos;
	rl_mpr_array_n(&r, 4);
	rl_mpr_uint(&r, UINT32_MAX, &version);
	rl_mpr_bin_n(&r, RL_TOKEN_ID_BYTES, q->token_id);
	rl_mpr_bin_n(&r, RL_PK_BYTES, q->device_pk);
	rl_mpr_str(&r, 64, &name);
	q->signed_part = RL_BYTES(frame.p + 1 + start, r.pos - start);
	rl_mpr_bin_n(&r, RL_HASH_BYTES, q->mac);
	if (rl_mpr_done(&r) != RL_OK)
		return RL_EPROTO;
	if (version != RL_PROTO_VERSION)
		return RL_EVERSION;
	for (size_t i = 0; i < name.len; i++)
		if (name.p[i] < 0x20 || name.p[i] == 0x7f)
			return RL_EPROTO;
	memcpy(q->name, name.p, name.len);
	q->name[name.len] = '\0';
	return RL_OK;
}

rl_err
rl_enroll_verify(const rl_enroll_req *q, const uint8_t secret[RL_TOKEN_SECRET_BYTES])
{
	uint8_t key[RL_KEY_BYTES], mac[RL_HASH_BYTES];
	int ok;

	token_key(secret, enroll_label1, key);
	rl_hash_keyed(key, q->signed_part.p, q->signed_part.len, mac);
	rl_wipe(key, sizeof(key));
	ok = rl_memeq(mac, q->mac, RL_HASH_BYTES);
	return ok ? RL_OK : RL_ECRYPTO;
}

/* MAC of the reply: over server key, device key, antenna and role. */
static void
enroll_reply_mac(const uint8_t secret[RL_TOKEN_SECRET_BYTES], const uint8_t device_pk[RL_PK_BYTES],
                 rl_bytes signed_part, uint8_t mac[RL_HASH_BYTES])
{
	uint8_t key[RL_KEY_BYTES];
	rl_hash_state st;

	token_key(secret, enroll_label2, key);
	rl_hash_init(&st);
	rl_hash_update(&st, key, sizeof(key));
	rl_hash_update(&st, device_pk, RL_PK_BYTES);
	rl_hash_update(&st, signed_part.p, signed_part.len);
	rl_hash_final(&st, mac);
	rl_wipe(key, sizeof(key));
}

rl_err
rl_enroll_reply(const uint8_t secret[RL_TOKEN_SECRET_BYTES], const uint8_t device_pk[RL_PK_BYTES],
                const uint8_t server_pk[RL_PK_BYTES], const char *antenna, const char *role,
                rl_buf *out)
{
	uint8_t type = RL_FRAME_ENROLLED, mac[RL_HASH_BYTES];
	size_t start;
	rl_mpw w;
	rl_err e;

	if ((e = rl_buf_append(out, &type, 1)) != RL_OK)
		return e;
	rl_mpw_init(&w, out);
	rl_mpw_array(&w, 2);
	start = out->len;
	rl_mpw_array(&w, 3);
	rl_mpw_bin(&w, server_pk, RL_PK_BYTES);
	rl_mpw_cstr(&w, antenna);
	rl_mpw_cstr(&w, role);
	if ((e = rl_mpw_err(&w)) != RL_OK)
		return e;
	enroll_reply_mac(secret, device_pk, RL_BYTES(out->data + start, out->len - start), mac);
	rl_mpw_bin(&w, mac, sizeof(mac));
	return rl_mpw_err(&w);
}

rl_err
rl_enroll_finish(rl_bytes frame, const uint8_t secret[RL_TOKEN_SECRET_BYTES],
                 const uint8_t device_pk[RL_PK_BYTES], uint8_t server_pk[RL_PK_BYTES],
                 char antenna[33], char role[16])
{
	uint8_t mac[RL_HASH_BYTES], mine[RL_HASH_BYTES];
	rl_bytes a, ro, signed_part;
	size_t start;
	rl_mpr r;

	if (frame.len >= 1 && frame.p[0] == RL_FRAME_ERROR) {
		uint32_t code;
		rl_bytes text;

		if (rl_frame_parse_error(frame, &code, &text) != RL_OK)
			return RL_EPROTO;
		return rl_wire_err(code);
	}
	if (frame.len < 1 || frame.len > RL_HELLO_MAX || frame.p[0] != RL_FRAME_ENROLLED)
		return RL_EPROTO;
	rl_mpr_init(&r, frame.p + 1, frame.len - 1);
	rl_mpr_array_n(&r, 2);
	start = r.pos;
	rl_mpr_array_n(&r, 3);
	rl_mpr_bin_n(&r, RL_PK_BYTES, server_pk);
	rl_mpr_str(&r, 32, &a);
	rl_mpr_str(&r, 15, &ro);
	signed_part = RL_BYTES(frame.p + 1 + start, r.pos - start);
	rl_mpr_bin_n(&r, RL_HASH_BYTES, mac);
	if (rl_mpr_done(&r) != RL_OK)
		return RL_EPROTO;
	enroll_reply_mac(secret, device_pk, signed_part, mine);
	if (!rl_memeq(mine, mac, RL_HASH_BYTES))
		return RL_ECRYPTO;
	memcpy(antenna, a.p, a.len);
	antenna[a.len] = '\0';
	memcpy(role, ro.p, ro.len);
	role[ro.len] = '\0';
	return RL_OK;
}
