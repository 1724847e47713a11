/*
 * err.h - the single error enum of relais.
 *
 * Every function that can fail returns rl_err; 0 is success. Library codes
 * (errno, MDB_*, NNG_*, msgpack) are translated at the wrapper that calls the
 * library and never travel upward. rl_strerror() gives an English text for
 * logs; rl_strerror_fr() a French one for the coordinator's terminal.
 */
#ifndef RL_ERR_H
#define RL_ERR_H

typedef enum rl_err {
	RL_OK = 0,
	RL_ENOMEM,    /* allocation failed */
	RL_EINVAL,    /* invalid argument or value */
	RL_ETOOBIG,   /* a size bound was exceeded */
	RL_EPROTO,    /* malformed bytes (wire, file or store) */
	RL_ENOTFOUND, /* no such record, key or entry */
	RL_EEXIST,    /* already exists */
	RL_EIO,       /* I/O error from the OS or LMDB */
	RL_ECRYPTO,   /* authentication failed (bad MAC); no detail given */
	RL_EKEY,      /* wrong passphrase or key file */
	RL_ECORRUPT,  /* a store file is damaged */
	RL_EFULL,     /* disk or map full */
	RL_EBUSY,     /* resource busy (store locked, server overloaded) */
	RL_ETIMEDOUT, /* operation timed out */
	RL_ECLOSED,   /* connection or object closed */
	RL_EPERM,     /* not allowed (scope, role, unenrolled device) */
	RL_EREVOKED,  /* the device was revoked */
	RL_ECLOCK,    /* clock skew beyond the allowed bound */
	RL_EVERSION,  /* incompatible protocol or store version */
	RL_EUNREACH,  /* server unreachable */
	RL_EERASED,   /* the situation was erased */
	RL_ENOSTORE,  /* no store at this location */
	RL_ERR__COUNT
} rl_err;

/* English description of e, for logs. Never NULL. */
const char *rl_strerror(rl_err e);

/* French description of e, for messages shown to a coordinator. Never NULL. */
const char *rl_strerror_fr(rl_err e);

#endif
