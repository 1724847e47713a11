/*
 * file.h - the one way relais writes a file that must never be seen half
 * written: a temporary file beside the target, which replaces it only once
 * complete and synced, the directory synced after the rename so that the
 * new name survives a crash too (export-changes files, reports).
 */
#ifndef RL_FILE_H
#define RL_FILE_H

#include <stdio.h>
#include <sys/types.h>

#include "err.h"

typedef struct rl_afile {
	char *path;  /* owned copies */
	char *tmp;
	FILE *f;     /* where to write, between open and commit/abort */
	int err;     /* errno of the first failure, for messages */
} rl_afile;

/* Creates the temporary file for path with mode (the umask applies) and
 * sets a->f. RL_ENOMEM, RL_EIO (a->err tells why). On error nothing is
 * left behind and a needs no abort. */
rl_err rl_afile_open(rl_afile *a, const char *path, mode_t mode);

/* Flushes, syncs and closes the file, renames it over path and syncs the
 * directory. RL_EFULL (no space), RL_EIO (a->err tells why); on error the
 * temporary file is removed and path is untouched. Frees a's copies either
 * way. */
rl_err rl_afile_commit(rl_afile *a);

/* Gives up: the temporary file is removed, path untouched. NULL-safe. */
void rl_afile_abort(rl_afile *a);

#endif
