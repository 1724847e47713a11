/*
 * err.c - texts for rl_err, in English (logs) and French (users).
 */
#include "err.h"

static const char *const err_en[RL_ERR__COUNT] = {
	[RL_OK] = "success",
	[RL_ENOMEM] = "out of memory",
	[RL_EINVAL] = "invalid argument",
	[RL_ETOOBIG] = "size bound exceeded",
	[RL_EPROTO] = "malformed data",
	[RL_ENOTFOUND] = "not found",
	[RL_EEXIST] = "already exists",
	[RL_EIO] = "input/output error",
	[RL_ECRYPTO] = "authentication failed",
	[RL_EKEY] = "wrong passphrase or key",
	[RL_ECORRUPT] = "store damaged",
	[RL_EFULL] = "disk or store full",
	[RL_EBUSY] = "busy",
	[RL_ETIMEDOUT] = "timed out",
	[RL_ECLOSED] = "closed",
	[RL_EPERM] = "not permitted",
	[RL_EREVOKED] = "device revoked",
	[RL_ECLOCK] = "clock skew too large",
	[RL_EVERSION] = "incompatible version",
	[RL_EUNREACH] = "server unreachable",
	[RL_EERASED] = "situation erased",
	[RL_ENOSTORE] = "no store here",
};

static const char *const err_fr[RL_ERR__COUNT] = {
	[RL_OK] = "succès",
	[RL_ENOMEM] = "mémoire insuffisante",
	[RL_EINVAL] = "valeur invalide",
	[RL_ETOOBIG] = "taille maximale dépassée",
	[RL_EPROTO] = "données mal formées",
	[RL_ENOTFOUND] = "introuvable",
	[RL_EEXIST] = "existe déjà",
	[RL_EIO] = "erreur d'entrée/sortie",
	[RL_ECRYPTO] = "authentification refusée",
	[RL_EKEY] = "phrase secrète ou clé incorrecte",
	[RL_ECORRUPT] = "magasin de données endommagé",
	[RL_EFULL] = "disque ou magasin plein",
	[RL_EBUSY] = "ressource occupée",
	[RL_ETIMEDOUT] = "délai dépassé",
	[RL_ECLOSED] = "connexion fermée",
	[RL_EPERM] = "opération non autorisée",
	[RL_EREVOKED] = "cet appareil a été révoqué",
	[RL_ECLOCK] = "l'horloge de cet appareil est fausse",
	[RL_EVERSION] = "version incompatible",
	[RL_EUNREACH] = "serveur injoignable",
	[RL_EERASED] = "situation effacée",
	[RL_ENOSTORE] = "aucun magasin de données à cet emplacement",
};

const char *
rl_strerror(rl_err e)
{
	if ((unsigned)e >= RL_ERR__COUNT || err_en[e] == 0)
		return "unknown error";
	return err_en[e];
}

const char *
rl_strerror_fr(rl_err e)
{
	if ((unsigned)e >= RL_ERR__COUNT || err_fr[e] == 0)
		return "erreur inconnue";
	return err_fr[e];
}
