/*
 * file.c - atomic, durable file writes (see file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

static void
afile_free(rl_afile *a)
{
	free(a->path);
	free(a->tmp);
	a->path = a->tmp = NULL;
	a->f = NULL;
}

rl_err
rl_afile_open(rl_afile *a, const char *path, mode_t mode)
{
	size_t n = strlen(path);
	mode_t mask;
	int fd;

	memset(a, 0, sizeof(*a));
	if ((a->path = strdup(path)) == NULL || (a->tmp = malloc(n + sizeof(".XXXXXX"))) == NULL) {
		afile_free(a);
		return RL_ENOMEM;
	}
	memcpy(a->tmp, path, n);
	memcpy(a->tmp + n, ".XXXXXX", sizeof(".XXXXXX"));
	if ((fd = mkstemp(a->tmp)) < 0) {
		a->err = errno;
		afile_free(a);
		return RL_EIO;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, mode & ~mask) != 0 || (a->f = fdopen(fd, "w")) == NULL) {
		a->err = errno;
		close(fd);
		unlink(a->tmp);
		afile_free(a);
		return RL_EIO;
	}
	return RL_OK;
}

/* fsync of the directory holding path: the rename is then durable. */
static void
afile_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? strdup(".") : strndup(path, slash == path ? 1 : (size_t)(slash - path));
	int fd;

	if (dir != NULL && (fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		(void)fsync(fd); /* some file systems refuse it on a directory */
		close(fd);
	}
	free(dir);
}

rl_err
rl_afile_commit(rl_afile *a)
{
	FILE *f = a->f;

	a->f = NULL;
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		a->err = errno ? errno : EIO;
		fclose(f);
		goto fail;
	}
	if (fclose(f) != 0 || rename(a->tmp, a->path) != 0) {
		a->err = errno;
		goto fail;
	}
	afile_sync_dir(a->path);
	afile_free(a);
	return RL_OK;
fail:
	unlink(a->tmp);
	afile_free(a);
	return a->err == ENOSPC || a->err == EDQUOT || a->err == EFBIG ? RL_EFULL : RL_EIO;
}

void
rl_afile_abort(rl_afile *a)
{
	if (a == NULL || a->tmp == NULL)
		return;
	if (a->f != NULL)
		fclose(a->f);
	unlink(a->tmp);
	afile_free(a);
}
