/* Stacks: base root filesystems, imported from a tarball or a directory through the same
 * validating extractor as slugs, stored as <root>/stacks/<name>/<digest>/ with a `current`
 * symlink per name; "host" is built in. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "images/image-internal.h"

int image_store_stacks_fd(struct image_store *s);

bool image_stack_name_valid(const char *name)
{
	return name && image_process_type_valid(name, strlen(name)) &&
	       strcmp(name, IMAGE_STACK_HOST) != 0 && name[0] != '-';
}

/* Point <name>/current at digest, atomically; tmp is unique to this import (concurrent
 * imports of one name each rename their own link; the last one wins). */
static int set_current(int namefd, const char *tmp, const char *digest)
{
	if (symlinkat(digest, namefd, tmp) == -1)
		return -errno;
	if (renameat(namefd, tmp, namefd, "current") == -1) {
		int r = -errno;
		(void)unlinkat(namefd, tmp, 0);
		return r;
	}
	return fsync(namefd) == -1 ? -errno : 0;
}

static bool present(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Shared tail of both imports: the staging tree in namefd/staging is complete and valid. */
static int publish(int namefd, const char *staging, int sfd, const char *digest, bool no_sync,
                   bool *ret_existed)
{
	*ret_existed = false;
	char tmp[80];
	snprintf(tmp, sizeof(tmp), "%s.current", staging);
	if (present(namefd, digest)) {
		*ret_existed = true;
		(void)rm_rf_at(namefd, staging);
		return set_current(namefd, tmp, digest);
	}
	if (!no_sync && syncfs(sfd) == -1)
		return -errno;
	if (renameat2(namefd, staging, namefd, digest, RENAME_NOREPLACE) == -1) {
		if (errno != EEXIST && errno != ENOTEMPTY)
			return -errno;
		*ret_existed = true;
		(void)rm_rf_at(namefd, staging);
	}
	return set_current(namefd, tmp, digest);
}

static int stack_prepare(struct image_store *s, const char *name, struct image_error *err,
                         int *ret_namefd, char *staging, size_t n, int *ret_sfd)
{
	if (err)
		*err = (struct image_error){0};
	if (!image_stack_name_valid(name)) {
		image_errorf(err, "invalid stack name \"%s\" ([A-Za-z0-9_-]{1,128}, not \"host\")",
		             name ? name : "");
		return -EINVAL;
	}
	int stacks_fd = image_store_stacks_fd(s);
	if (stacks_fd < 0)
		return -ENOENT;
	if (mkdirat(stacks_fd, name, 0755) == -1 && errno != EEXIST)
		return -errno;
	_cleanup_close_ int namefd =
	        openat(stacks_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (namefd == -1)
		return -errno;
	int r = image_mkdtemp_at(namefd, ".staging-", staging, n);
	if (r < 0)
		return r;
	int sfd = openat(namefd, staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd == -1) {
		r = -errno;
		(void)rm_rf_at(namefd, staging);
		return r;
	}
	*ret_namefd = TAKE_FD(namefd);
	*ret_sfd = sfd;
	return 0;
}

/* The end of both imports: on success (r == 0) publish the staging tree under its digest;
 * on any failure remove the staging tree. Returns r, or publish's error. */
static int finish_import(int r, const char *name, const char *digest, struct extractor *x,
                         int namefd, const char *staging, int sfd,
                         const struct image_import_opts *o, struct image_stack_info *ret_info,
                         struct image_error *err)
{
	struct image_stack_info info = {0};
	if (r == 0) {
		snprintf(info.name, sizeof(info.name), "%s", name);
		snprintf(info.digest, sizeof(info.digest), "%s", digest);
		info.entries = extractor_entries(x);
		info.skipped = extractor_skipped(x);
		r = publish(namefd, staging, sfd, info.digest, o->no_sync, &info.existed);
	}
	if (r < 0) {
		(void)rm_rf_at(namefd, staging);
		if (err && !err->msg[0])
			image_errorf(err, "import stack \"%s\": %s", name, strerror(-r));
		return r;
	}
	if (ret_info)
		*ret_info = info;
	return 0;
}

int image_stack_import_fd(struct image_store *s, const char *name, int fd,
                          const struct image_import_opts *o, struct image_stack_info *ret_info,
                          struct image_error *err)
{
	_cleanup_close_ int namefd = -1, sfd = -1;
	char staging[64];
	int r = stack_prepare(s, name, err, &namefd, staging, sizeof(staging), &sfd);
	if (r < 0)
		return r;
	struct extract_policy pol = {.stack = true, .limits = o->limits};
	/* Root filesystems compress far better than apps (sparse images, zeroed files). */
	pol.limits.max_ratio = 0;
	_cleanup_(input_freep) struct input *in = NULL;
	_cleanup_(extractor_freep) struct extractor *x = NULL;
	_cleanup_(archive_read_freep) struct archive *a = NULL;
	r = input_new(fd, INPUT_RAW, o, err, &in);
	if (r == 0)
		r = extractor_new(sfd, &pol, err, &x);
	if (r == 0) {
		a = archive_read_new();
		if (!a)
			r = -ENOMEM;
	}
	if (r == 0) {
		archive_read_support_format_tar(a);
		archive_read_support_filter_gzip(a);
		archive_read_support_filter_xz(a);
		archive_read_support_filter_zstd(a);
		archive_read_support_filter_bzip2(a);
		r = image_extract_archive(a, in, x, err);
	}
	char digest[IMAGE_DIGEST_HEX_LEN + 1] = "";
	if (r == 0)
		input_digest(in, digest);
	return finish_import(r, name, digest, x, namefd, staging, sfd, o, ret_info, err);
}

int image_stack_import_dir(struct image_store *s, const char *name, const char *dir,
                           const struct image_import_opts *o, struct image_stack_info *ret_info,
                           struct image_error *err)
{
	char src[PATH_MAX];
	if (!dir || snprintf(src, sizeof(src), "%s", dir) >= (int)sizeof(src))
		return -ENAMETOOLONG;
	size_t sl = strlen(src);
	while (sl > 1 && src[sl - 1] == '/')
		src[--sl] = '\0';
	struct stat st;
	if (stat(src, &st) == -1 || !S_ISDIR(st.st_mode)) {
		image_errorf(err, "\"%s\" is not a directory", dir);
		return -ENOTDIR;
	}
	_cleanup_close_ int namefd = -1, sfd = -1;
	char staging[64];
	int r = stack_prepare(s, name, err, &namefd, staging, sizeof(staging), &sfd);
	if (r < 0)
		return r;
	struct extract_policy pol = {
	        .stack = true, .limits = o->limits, .strip = src, .tree_digest = true};
	_cleanup_(extractor_freep) struct extractor *x = NULL;
	locale_t old;
	locale_t loc = image_utf8_locale_push(&old);
	_cleanup_(archive_read_freep) struct archive *a = archive_read_disk_new();
	r = a ? extractor_new(sfd, &pol, err, &x) : -ENOMEM;
	if (r == 0) {
		archive_read_disk_set_symlink_physical(a);
		archive_read_disk_set_behavior(
		        a, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_XATTR |
		                   ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS);
		if (archive_read_disk_open(a, src) != ARCHIVE_OK) {
			image_errorf(err, "read \"%s\": %s", src, archive_error_string(a));
			r = -EIO;
		}
	}
	while (r == 0) {
		_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
		if (!e) {
			r = -ENOMEM;
			break;
		}
		int ar = archive_read_next_header2(a, e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK) {
			image_errorf(err, "read \"%s\": %s", src, archive_error_string(a));
			r = -EIO;
			break;
		}
		r = extractor_entry(x, a, e);
		if (r == 0 && archive_entry_filetype(e) == AE_IFDIR)
			archive_read_disk_descend(a);
	}
	image_utf8_locale_pop(loc, old);
	char digest[IMAGE_DIGEST_HEX_LEN + 1] = "";
	if (r == 0)
		r = extractor_finish(x);
	if (r == 0)
		r = extractor_tree_digest(x, digest);
	return finish_import(r, name, digest, x, namefd, staging, sfd, o, ret_info, err);
}

static int stack_current(int stacks_fd, const char *name, char digest[IMAGE_DIGEST_HEX_LEN + 1])
{
	char link[PATH_MAX];
	snprintf(link, sizeof(link), "%s/current", name);
	char buf[IMAGE_DIGEST_HEX_LEN + 2];
	ssize_t n = readlinkat(stacks_fd, link, buf, sizeof(buf));
	if (n == -1)
		return -errno;
	if (n != IMAGE_DIGEST_HEX_LEN)
		return -EBADMSG;
	buf[n] = '\0';
	return image_digest_parse(buf, digest);
}

int image_stack_path(struct image_store *s, const char *name, char **ret)
{
	if (name && strcmp(name, IMAGE_STACK_HOST) == 0) {
		*ret = strdup(IMAGE_STACK_HOST);
		return *ret ? 0 : -ENOMEM;
	}
	if (!image_stack_name_valid(name))
		return -EINVAL;
	int stacks_fd = image_store_stacks_fd(s);
	if (stacks_fd < 0)
		return -ENOENT;
	char digest[IMAGE_DIGEST_HEX_LEN + 1];
	int r = stack_current(stacks_fd, name, digest);
	if (r < 0)
		return r == -EBADMSG ? r : -ENOENT;
	if (asprintf(ret, "%s/stacks/%s/%s", image_store_root(s), name, digest) < 0)
		return -ENOMEM;
	return 0;
}

static int cmp_stack(const void *a, const void *b)
{
	return strcmp(((const struct image_stack_info *)a)->name,
	              ((const struct image_stack_info *)b)->name);
}

int image_stack_list(struct image_store *s, struct image_stack_info **ret, size_t *ret_n)
{
	struct image_stack_info *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	snprintf(v[0].name, sizeof(v[0].name), "%s", IMAGE_STACK_HOST);
	size_t n = 1;
	int stacks_fd = image_store_stacks_fd(s);
	if (stacks_fd >= 0) {
		_cleanup_closedir_ DIR *d = opendir_fd(stacks_fd);
		if (!d) {
			int r = -errno;
			free(v);
			return r;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			char digest[IMAGE_DIGEST_HEX_LEN + 1];
			if (!image_stack_name_valid(de->d_name) ||
			    stack_current(stacks_fd, de->d_name, digest) < 0)
				continue;
			struct image_stack_info *nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			v[n] = (struct image_stack_info){0};
			size_t nl = strlen(de->d_name); /* <= 128: a valid stack name */
			memcpy(v[n].name, de->d_name, nl + 1);
			memcpy(v[n].digest, digest, sizeof(digest));
			n++;
		}
	}
	qsort(v + 1, n - 1, sizeof(*v), cmp_stack);
	*ret = v;
	*ret_n = n;
	return 0;
}
