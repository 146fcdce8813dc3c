/* File and fd helpers: full I/O, one-line kernel files, atomic replace, mkdir -p, rm -rf. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"

DIR *opendir_fd(int fd)
{
	int fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd2 == -1)
		return NULL;
	DIR *d = fdopendir(fd2);
	if (!d) {
		safe_close(fd2);
		return NULL;
	}
	/* A dup shares the file offset: start from the beginning whatever was read before. */
	rewinddir(d);
	return d;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fd_read_all(int fd, void *buf, size_t len, size_t *ret_len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*ret_len = got;
	return 0;
}

int write_string_file_at(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return -errno;
	/* Kernel files take the whole value in one write(); a short write is an error. */
	size_t len = strlen(s);
	ssize_t n = write(fd, s, len);
	if (n == -1)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return -errno;
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = NULL;
	for (;;) {
		if (len + 1 >= cap || !buf) {
			if (buf)
				cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd == -1)
		return -errno;
	int r = fd_write_all(fd, data, len);
	if (r == 0 && fsync(fd) == -1)
		r = -errno;
	if (r == 0 && rename(tmp, path) == -1)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	/* Make the rename itself durable. */
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return -errno;
	if (fsync(dfd) == -1)
		return -errno;
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1) {
		if (errno != EEXIST)
			return -errno;
		struct stat st;
		if (stat(buf, &st) == -1)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return 0;
}

static int rm_tree(int dirfd, const char *name, bool top, dev_t parent_dev);

static int rm_children(int dfd, dev_t dev)
{
	_cleanup_closedir_ DIR *d = opendir_fd(dfd);
	if (!d)
		return -errno;
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = rm_tree(dfd, de->d_name, false, dev);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

static int rm_tree(int dirfd, const char *name, bool top, dev_t parent_dev)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) == -1 && errno != ENOENT ? -errno : 0;
	if (!top && st.st_dev != parent_dev)
		return -EBUSY; /* another filesystem is mounted here: never descend into it */
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	struct stat dst;
	if (fstat(fd, &dst) == -1)
		return -errno;
	if (dst.st_dev != st.st_dev || dst.st_ino != st.st_ino)
		return -EBUSY; /* replaced between the stat and the open */
	if ((dst.st_mode & 0700) != 0700)
		(void)fchmod(fd, (dst.st_mode & 07777) | 0700);
	int r = rm_children(fd, dst.st_dev);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int rm_rf_at(int dirfd, const char *name)
{
	return rm_tree(dirfd, name, true, 0);
}

int rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}
