/* Small file and fd helpers shared by the parts: full reads and writes, sysfs-style
 * one-line files, and atomic replacement of state files. */
#ifndef DYNOHOST_COMMON_FILEIO_H
#define DYNOHOST_COMMON_FILEIO_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

/* A DIR stream over a directory fd the caller keeps: reads from the start on its own dup of
 * fd, so fd stays open and usable after closedir(). NULL with errno set on failure. */
DIR *opendir_fd(int fd);

/* Write all of buf to fd, retrying on EINTR and short writes. 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t len);
/* Read until EOF or len bytes; *ret_len gets the count. 0 or -errno. */
int fd_read_all(int fd, void *buf, size_t len, size_t *ret_len);

/* Write string s to path (opened O_WRONLY, no create, no truncate: for cgroupfs/sysfs/procfs),
 * relative to dirfd (AT_FDCWD for none). 0 or -errno. */
int write_string_file_at(int dirfd, const char *path, const char *s);
/* Read a whole small file (at most max bytes) into a NUL-terminated malloc'd string.
 * 0 or -errno (-EFBIG when larger than max). */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);

/* Replace path atomically with data (path.new, fsync, rename, fsync the directory). */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* mkdir -p with mode for each created component. 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);

/* Remove name (relative to dirfd) and everything below it, without following symlinks and
 * without descending into another filesystem (a mount point inside is left, -EBUSY). A
 * directory replaced while it is being opened is not descended into either (-EBUSY).
 * Directories without owner rwx (read-only stores) are made writable first, so removal also
 * works without CAP_DAC_OVERRIDE. Missing name is success. 0 or the first -errno. */
int rm_rf_at(int dirfd, const char *name);
/* rm_rf_at(AT_FDCWD, path). */
int rm_rf(const char *path);

#endif
