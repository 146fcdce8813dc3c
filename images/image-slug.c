/* The slug store: import (verify, extract into staging, publish by digest), paths, listing
 * and garbage collection under <root>/slugs/. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "images/image-internal.h"

struct image_store {
	char *root;
	int root_fd;
	int slugs_fd;
	int stacks_fd;
};

/* Accessors for image-stack.c. */
int image_store_stacks_fd(struct image_store *s);
int image_store_stacks_fd(struct image_store *s)
{
	return s->stacks_fd;
}

void image_limits_default(struct image_limits *ret)
{
	*ret = (struct image_limits){
	        .max_compressed = UINT64_C(1) << 30,
	        .max_uncompressed = UINT64_C(8) << 30,
	        .max_entries = 1000000,
	        .max_path = 4095,
	        .max_depth = 128,
	        .max_ratio = 200,
	};
}

void image_import_opts_default(struct image_import_opts *ret)
{
	*ret = (struct image_import_opts){.layout = IMAGE_LAYOUT_HEROKU};
	image_limits_default(&ret->limits);
}

static int open_or_make_dir(int dirfd, const char *name, bool create)
{
	if (create && mkdirat(dirfd, name, 0755) == -1 && errno != EEXIST)
		return -errno;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? -1 : -errno;
	return fd;
}

int image_store_open(const char *root, bool create, struct image_store **ret)
{
	if (!root || !*root)
		return -EINVAL;
	if (create) {
		int r = mkdir_p(root, 0755);
		if (r < 0)
			return r;
	}
	struct image_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->slugs_fd = s->stacks_fd = -1;
	s->root = strdup(root);
	s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!s->root || s->root_fd == -1) {
		int r = s->root ? -errno : -ENOMEM;
		image_store_free(s);
		return r;
	}
	s->slugs_fd = open_or_make_dir(s->root_fd, "slugs", create);
	s->stacks_fd = open_or_make_dir(s->root_fd, "stacks", create);
	if (s->slugs_fd < -1 || s->stacks_fd < -1) {
		int r = s->slugs_fd < -1 ? s->slugs_fd : s->stacks_fd;
		image_store_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct image_store *image_store_free(struct image_store *s)
{
	if (!s)
		return NULL;
	free(s->root);
	safe_close(s->root_fd);
	safe_close(s->slugs_fd);
	safe_close(s->stacks_fd);
	free(s);
	return NULL;
}

const char *image_store_root(const struct image_store *s)
{
	return s->root;
}

int image_digest_parse(const char *s, char ret[IMAGE_DIGEST_HEX_LEN + 1])
{
	if (!s)
		return -EINVAL;
	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	if (strlen(s) != IMAGE_DIGEST_HEX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < IMAGE_DIGEST_HEX_LEN; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
		ret[i] = c;
	}
	ret[IMAGE_DIGEST_HEX_LEN] = '\0';
	return 0;
}

static bool is_digest_name(const char *name)
{
	if (strlen(name) != IMAGE_DIGEST_HEX_LEN)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static bool slug_present(struct image_store *s, const char *hex)
{
	struct stat st;
	return fstatat(s->slugs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int image_slug_extract_fd(int dirfd, int fd, const struct image_import_opts *o,
                          struct image_slug_info *ret_info, struct image_error *err)
{
	struct extract_policy pol = {.layout = o->layout, .limits = o->limits};
	if (o->layout < 0 || o->layout >= IMAGE_LAYOUT_MAX)
		return -EINVAL;
	_cleanup_(input_freep) struct input *in = NULL;
	int r = input_new(fd, INPUT_AUTO, o, err, &in);
	if (r < 0)
		return r;
	_cleanup_(extractor_freep) struct extractor *x = NULL;
	r = extractor_new(dirfd, &pol, err, &x);
	if (r < 0)
		return r;
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();
	if (!a)
		return -ENOMEM;
	if (archive_read_support_format_tar(a) != ARCHIVE_OK)
		return -EIO;
	r = image_extract_archive(a, in, x, err);
	if (r < 0)
		return r;
	struct image_slug_info info = {
	        .compressed_bytes = input_bytes(in),
	        .uncompressed_bytes = extractor_file_bytes(x),
	        .entries = extractor_entries(x),
	        .stripped = extractor_stripped(x),
	        .imported = (int64_t)time(NULL),
	};
	input_digest(in, info.digest);
	if (ret_info)
		*ret_info = info;
	return 0;
}

/* Written under a name unique to this import, then renamed: two imports of the same slug may
 * race to publish, and each must still find its own file to rename. */
static int write_meta(struct image_store *s, const char *staging,
                      const struct image_slug_info *info)
{
	char tmp[96], name[IMAGE_DIGEST_HEX_LEN + 8], buf[512];
	snprintf(tmp, sizeof(tmp), "%s.meta", staging);
	snprintf(name, sizeof(name), "%s.meta", info->digest);
	int n = snprintf(buf, sizeof(buf),
	                 "digest=%s\ncompressed_bytes=%" PRIu64 "\nuncompressed_bytes=%" PRIu64
	                 "\nentries=%" PRIu64 "\nstripped=%" PRIu64 "\nimported=%" PRId64 "\n",
	                 info->digest, info->compressed_bytes, info->uncompressed_bytes,
	                 info->entries, info->stripped, info->imported);
	_cleanup_close_ int fd = openat(s->slugs_fd, tmp,
	                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd == -1)
		return -errno;
	int r = fd_write_all(fd, buf, (size_t)n);
	if (r == 0 && fsync(fd) == -1)
		r = -errno;
	if (r == 0 && renameat(s->slugs_fd, tmp, s->slugs_fd, name) == -1)
		r = -errno;
	if (r < 0)
		(void)unlinkat(s->slugs_fd, tmp, 0);
	return r;
}

static void read_meta(struct image_store *s, struct image_slug_info *info)
{
	char name[IMAGE_DIGEST_HEX_LEN + 8];
	snprintf(name, sizeof(name), "%s.meta", info->digest);
	_cleanup_free_ char *buf = NULL;
	if (read_file_at(s->slugs_fd, name, 4096, &buf, NULL) < 0)
		return;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *v = eq + 1;
		if (strcmp(line, "compressed_bytes") == 0)
			info->compressed_bytes = strtoull(v, NULL, 10);
		else if (strcmp(line, "uncompressed_bytes") == 0)
			info->uncompressed_bytes = strtoull(v, NULL, 10);
		else if (strcmp(line, "entries") == 0)
			info->entries = strtoull(v, NULL, 10);
		else if (strcmp(line, "stripped") == 0)
			info->stripped = strtoull(v, NULL, 10);
		else if (strcmp(line, "imported") == 0)
			info->imported = strtoll(v, NULL, 10);
	}
}

/* The digest is already stored: just hash the input to confirm it is that slug. */
static int verify_only(int fd, const struct image_import_opts *o, const char *want,
                       struct image_slug_info *ret_info, struct image_error *err)
{
	_cleanup_(input_freep) struct input *in = NULL;
	int r = input_new(fd, INPUT_RAW, o, err, &in);
	if (r < 0)
		return r;
	r = input_drain(in);
	if (r < 0)
		return r;
	struct image_slug_info info = {.compressed_bytes = input_bytes(in), .existed = true};
	input_digest(in, info.digest);
	if (strcmp(info.digest, want) != 0) {
		image_errorf(err, "checksum mismatch: expected SHA256:%s, input is SHA256:%s", want,
		             info.digest);
		return -EBADMSG;
	}
	if (ret_info)
		*ret_info = info;
	return 0;
}

int image_slug_import_fd(struct image_store *s, int fd, const struct image_import_opts *o,
                         struct image_slug_info *ret_info, struct image_error *err)
{
	if (err)
		*err = (struct image_error){0};
	if (s->slugs_fd < 0)
		return -ENOENT;
	char want[IMAGE_DIGEST_HEX_LEN + 1] = "";
	if (o->checksum && image_digest_parse(o->checksum, want) < 0) {
		image_errorf(err, "checksum \"%s\" is not SHA256:<64 hex digits>", o->checksum);
		return -EINVAL;
	}
	if (want[0] && slug_present(s, want)) {
		int r = verify_only(fd, o, want, ret_info, err);
		if (r < 0 || !ret_info)
			return r;
		read_meta(s, ret_info);
		return 0;
	}

	char staging[64];
	int r = image_mkdtemp_at(s->slugs_fd, ".staging-", staging, sizeof(staging));
	if (r < 0) {
		image_errorf(err, "create staging directory: %s", strerror(-r));
		return r;
	}
	_cleanup_close_ int sfd =
	        openat(s->slugs_fd, staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd == -1) {
		r = -errno;
		(void)rm_rf_at(s->slugs_fd, staging);
		return r;
	}

	struct image_slug_info info;
	r = image_slug_extract_fd(sfd, fd, o, &info, err);
	if (r == 0 && want[0] && strcmp(want, info.digest) != 0) {
		image_errorf(err, "checksum mismatch: expected SHA256:%s, input is SHA256:%s", want,
		             info.digest);
		r = -EBADMSG;
	}
	if (r == 0 && slug_present(s, info.digest)) {
		info.existed = true;
		read_meta(s, &info);
		(void)rm_rf_at(s->slugs_fd, staging);
		if (ret_info)
			*ret_info = info;
		return 0;
	}
	if (r == 0 && !o->no_sync && syncfs(sfd) == -1)
		r = -errno;
	if (r == 0)
		r = write_meta(s, staging, &info);
	if (r == 0 &&
	    renameat2(s->slugs_fd, staging, s->slugs_fd, info.digest, RENAME_NOREPLACE) == -1) {
		if (errno == EEXIST || errno == ENOTEMPTY) {
			/* A concurrent import of the same slug won. */
			info.existed = true;
			(void)rm_rf_at(s->slugs_fd, staging);
			if (ret_info)
				*ret_info = info;
			return 0;
		}
		r = -errno;
		char meta[IMAGE_DIGEST_HEX_LEN + 8];
		snprintf(meta, sizeof(meta), "%s.meta", info.digest);
		(void)unlinkat(s->slugs_fd, meta, 0);
	}
	if (r < 0) {
		if (err && !err->msg[0])
			image_errorf(err, "import failed: %s", strerror(-r));
		(void)rm_rf_at(s->slugs_fd, staging);
		return r;
	}
	if (!o->no_sync)
		(void)fsync(s->slugs_fd);
	if (ret_info)
		*ret_info = info;
	return 0;
}

int image_slug_path(struct image_store *s, const char *digest, char **ret)
{
	char hex[IMAGE_DIGEST_HEX_LEN + 1];
	int r = image_digest_parse(digest, hex);
	if (r < 0)
		return r;
	if (s->slugs_fd < 0 || !slug_present(s, hex))
		return -ENOENT;
	if (asprintf(ret, "%s/slugs/%s", s->root, hex) < 0)
		return -ENOMEM;
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct image_slug_info *)a)->digest,
	              ((const struct image_slug_info *)b)->digest);
}

int image_slug_list(struct image_store *s, struct image_slug_info **ret, size_t *ret_n)
{
	struct image_slug_info *v = NULL;
	size_t n = 0;
	if (s->slugs_fd >= 0) {
		_cleanup_closedir_ DIR *d = opendir_fd(s->slugs_fd);
		if (!d)
			return -errno;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!is_digest_name(de->d_name) || !slug_present(s, de->d_name))
				continue;
			struct image_slug_info *nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			v[n] = (struct image_slug_info){0};
			memcpy(v[n].digest, de->d_name, IMAGE_DIGEST_HEX_LEN + 1);
			read_meta(s, &v[n]);
			n++;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_info);
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool in_strv(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

int image_slug_gc(struct image_store *s, char *const *keep, unsigned min_age, unsigned *ret_removed)
{
	unsigned removed = 0;
	if (s->slugs_fd < 0) {
		if (ret_removed)
			*ret_removed = 0;
		return 0;
	}
	_cleanup_closedir_ DIR *d = opendir_fd(s->slugs_fd);
	if (!d)
		return -errno;
	int ret = 0;
	/* The precise clock, not time(): file timestamps may be fine-grained (multigrain ctime) and
	 * then run ahead of the coarse clock behind time(), so a slug just published would look as
	 * if it came from the future and never be old enough. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_t now = ts.tv_sec;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		struct stat st;
		if (fstatat(s->slugs_fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		int r = 0;
		if (is_digest_name(name) && S_ISDIR(st.st_mode)) {
			/* Publishing is a rename, which sets the directory's ctime. */
			if (in_strv(keep, name) || now - st.st_ctime < (time_t)min_age)
				continue;
			/* Take it out of sight first, so nobody finds a half-removed slug. */
			char gone[NAME_MAX + 8];
			snprintf(gone, sizeof(gone), ".gc-%s", name);
			if (renameat(s->slugs_fd, name, s->slugs_fd, gone) == -1) {
				r = -errno;
			} else {
				char meta[NAME_MAX + 8];
				snprintf(meta, sizeof(meta), "%s.meta", name);
				(void)unlinkat(s->slugs_fd, meta, 0);
				r = rm_rf_at(s->slugs_fd, gone);
				removed++;
			}
		} else if (strncmp(name, ".gc-", 4) == 0) {
			r = rm_rf_at(s->slugs_fd, name);
		} else if (strncmp(name, ".staging-", 9) == 0 && now - st.st_mtime > 3600) {
			r = rm_rf_at(s->slugs_fd, name);
		} else if (strlen(name) == IMAGE_DIGEST_HEX_LEN + 5 &&
		           strcmp(name + IMAGE_DIGEST_HEX_LEN, ".meta") == 0) {
			char hex[IMAGE_DIGEST_HEX_LEN + 1];
			memcpy(hex, name, IMAGE_DIGEST_HEX_LEN);
			hex[IMAGE_DIGEST_HEX_LEN] = '\0';
			if (is_digest_name(hex) && !slug_present(s, hex))
				r = unlinkat(s->slugs_fd, name, 0) == -1 ? -errno : 0;
		}
		if (r < 0 && ret == 0)
			ret = r;
	}
	if (ret_removed)
		*ret_removed = removed;
	return ret;
}
