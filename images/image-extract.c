/* The validating extractor: turns archive entries into files under a private staging
 * directory, refusing anything that could reach outside it. All creation is relative to
 * directory fds opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), and an index of
 * everything created so far decides rules (through-symlink, duplicates, hardlink targets)
 * before the kernel is asked. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/array.h"
#include "common/cleanup.h"
#include "images/image-internal.h"

enum node_type {
	NODE_DIR = 0,
	NODE_FILE,
	NODE_SYMLINK,
	NODE_TYPE_MAX,
};

struct node {
	char *path; /* normalised, relative to the root; NULL = empty slot */
	uint32_t hash;
	enum node_type type;
	char *target; /* symlinks */
};

struct dir_fixup {
	char *path; /* "" for the root */
	mode_t mode;
	struct timespec mtime;
	bool have_mtime;
};

struct extractor {
	int root_fd;
	struct extract_policy policy;
	struct image_error *err;

	struct node *nodes;
	size_t n_nodes, cap_nodes;

	struct dir_fixup *fixups;
	size_t n_fixups, cap_fixups;

	char *cache_path; /* the parent directory whose fd is cached */
	int cache_fd;

	char current[PATH_MAX + 64]; /* the raw name of the entry being processed */
	uint64_t entries, file_bytes, stripped, skipped;

	unsigned char (*leaf_digests)[32];
	size_t n_leaf, cap_leaf;
	EVP_MD_CTX *leaf_md;
};

/* ---- small helpers shared by images/ -------------------------------------------------- */

void image_errorf(struct image_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

const char *image_quote(const char *s, char *buf, size_t n)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < n; p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", *p);
		else if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else
			buf[o++] = (char)*p;
	}
	buf[o] = '\0';
	return buf;
}

void image_hex(const unsigned char *md, size_t len, char *ret)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		ret[2 * i] = hex[md[i] >> 4];
		ret[2 * i + 1] = hex[md[i] & 15];
	}
	ret[2 * len] = '\0';
}

static int openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
	        .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
	        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
	                   RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	return fd == -1 ? -errno : (int)fd;
}

int image_open_dir_at(int dirfd, const char *path)
{
	return openat2_beneath(dirfd, path, O_RDONLY | O_DIRECTORY);
}

int image_mkdtemp_at(int dirfd, const char *prefix, char *ret, size_t n)
{
	static const char chars[] =
	        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned char rnd[6];
		if (getentropy(rnd, sizeof(rnd)) == -1)
			return -errno;
		char suffix[7];
		for (size_t i = 0; i < 6; i++)
			suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
		suffix[6] = '\0';
		if ((size_t)snprintf(ret, n, "%s%s", prefix, suffix) >= n)
			return -ENAMETOOLONG;
		if (mkdirat(dirfd, ret, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* ---- the index --------------------------------------------------------------------- */

static uint32_t path_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static struct node *index_find(struct extractor *x, const char *path, size_t len)
{
	if (x->cap_nodes == 0)
		return NULL;
	uint32_t h = path_hash(path, len);
	for (size_t i = h & (x->cap_nodes - 1);; i = (i + 1) & (x->cap_nodes - 1)) {
		struct node *n = &x->nodes[i];
		if (!n->path)
			return NULL;
		if (n->hash == h && strncmp(n->path, path, len) == 0 && n->path[len] == '\0')
			return n;
	}
}

static int index_grow(struct extractor *x)
{
	size_t cap = x->cap_nodes ? x->cap_nodes * 2 : 1024;
	struct node *nn = calloc(cap, sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	for (size_t i = 0; i < x->cap_nodes; i++) {
		struct node *o = &x->nodes[i];
		if (!o->path)
			continue;
		size_t j = o->hash & (cap - 1);
		while (nn[j].path)
			j = (j + 1) & (cap - 1);
		nn[j] = *o;
	}
	free(x->nodes);
	x->nodes = nn;
	x->cap_nodes = cap;
	return 0;
}

static int index_add(struct extractor *x, const char *path, size_t len, enum node_type type,
                     const char *target)
{
	if ((x->n_nodes + 1) * 2 > x->cap_nodes) {
		int r = index_grow(x);
		if (r < 0)
			return r;
	}
	uint32_t h = path_hash(path, len);
	size_t i = h & (x->cap_nodes - 1);
	while (x->nodes[i].path)
		i = (i + 1) & (x->cap_nodes - 1);
	char *p = strndup(path, len);
	char *t = target ? strdup(target) : NULL;
	if (!p || (target && !t)) {
		free(p);
		free(t);
		return -ENOMEM;
	}
	x->nodes[i] = (struct node){.path = p, .hash = h, .type = type, .target = t};
	x->n_nodes++;
	return 0;
}

static int fixup_add(struct extractor *x, const char *path, mode_t mode, const struct timespec *mt)
{
	if (ARRAY_GROW(x->fixups, x->cap_fixups, x->n_fixups, 256) < 0)
		return -ENOMEM;
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	x->fixups[x->n_fixups++] = (struct dir_fixup){
	        .path = p,
	        .mode = mode,
	        .mtime = mt ? *mt : (struct timespec){0},
	        .have_mtime = mt != NULL,
	};
	return 0;
}

/* ---- lifecycle --------------------------------------------------------------------- */

int extractor_new(int root_fd, const struct extract_policy *p, struct image_error *err,
                  struct extractor **ret)
{
	struct extractor *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->root_fd = root_fd;
	x->policy = *p;
	x->err = err;
	x->cache_fd = -1;
	if (p->tree_digest) {
		x->leaf_md = EVP_MD_CTX_new();
		if (!x->leaf_md) {
			free(x);
			return -ENOMEM;
		}
	}
	/* The root is always a directory; its final mode is set in extractor_finish. */
	int r = index_add(x, "", 0, NODE_DIR, NULL);
	if (r < 0) {
		extractor_free(x);
		return r;
	}
	*ret = x;
	return 0;
}

struct extractor *extractor_free(struct extractor *x)
{
	if (!x)
		return NULL;
	for (size_t i = 0; i < x->cap_nodes; i++) {
		free(x->nodes[i].path);
		free(x->nodes[i].target);
	}
	free(x->nodes);
	for (size_t i = 0; i < x->n_fixups; i++)
		free(x->fixups[i].path);
	free(x->fixups);
	free(x->cache_path);
	safe_close(x->cache_fd);
	free(x->leaf_digests);
	EVP_MD_CTX_free(x->leaf_md);
	free(x);
	return NULL;
}

const char *extractor_current(const struct extractor *x)
{
	return x->current;
}
uint64_t extractor_entries(const struct extractor *x)
{
	return x->entries;
}
uint64_t extractor_file_bytes(const struct extractor *x)
{
	return x->file_bytes;
}
uint64_t extractor_stripped(const struct extractor *x)
{
	return x->stripped;
}
uint64_t extractor_skipped(const struct extractor *x)
{
	return x->skipped;
}

/* ---- refusals ---------------------------------------------------------------------- */

static int refuse(struct extractor *x, int error, const char *fmt, ...) _printf_(3, 4);
static int refuse(struct extractor *x, int error, const char *fmt, ...)
{
	if (x->err && !x->err->msg[0]) {
		char q[512], why[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		image_errorf(x->err, "entry \"%s\": %s", image_quote(x->current, q, sizeof(q)),
		             why);
	}
	return -error;
}

/* ---- names ------------------------------------------------------------------------- */

/* Normalise an archive name into out: no leading "./", no "." components, no empty
 * components; "" is the root. Applies the absolute, "..", depth, length, layout rules. */
static int normalise(struct extractor *x, const char *name, bool is_link_target, char *out,
                     size_t outsz)
{
	const char *what = is_link_target ? "hardlink target" : "path";
	size_t len = strlen(name);
	if (len == 0)
		return refuse(x, EINVAL, "empty %s", what);
	if (x->policy.limits.max_path && len > x->policy.limits.max_path)
		return refuse(x, ENAMETOOLONG, "%s is %zu bytes long (limit %u)", what, len,
		              x->policy.limits.max_path);
	if (len >= outsz)
		return refuse(x, ENAMETOOLONG, "%s is %zu bytes long (limit %zu)", what, len,
		              outsz - 1);
	const char *p = name;
	if (x->policy.strip) {
		size_t sl = strlen(x->policy.strip);
		if (strncmp(p, x->policy.strip, sl) != 0 || (p[sl] != '\0' && p[sl] != '/'))
			return refuse(x, EINVAL, "%s outside the source directory", what);
		p += sl;
	} else if (name[0] == '/')
		return refuse(x, EINVAL, "absolute %s", what);

	size_t o = 0, depth = 0;
	bool first = true, under_app = x->policy.layout != IMAGE_LAYOUT_HEROKU || x->policy.stack;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t cl = (size_t)(end - p);
		if (cl == 1 && p[0] == '.') {
			p = end;
			continue;
		}
		if (cl == 2 && p[0] == '.' && p[1] == '.')
			return refuse(x, EINVAL, "\"..\" component in %s", what);
		if (cl > NAME_MAX)
			return refuse(x, ENAMETOOLONG, "%s component of %zu bytes (limit %d)", what,
			              cl, NAME_MAX);
		if (!under_app && first) {
			if (cl != 3 || memcmp(p, "app", 3) != 0)
				return refuse(x, EINVAL, "%s outside ./app/", what);
			under_app = true;
			first = false;
			p = end;
			continue;
		}
		first = false;
		depth++;
		if (x->policy.limits.max_depth && depth > x->policy.limits.max_depth)
			return refuse(x, ENAMETOOLONG, "%s is more than %u directories deep", what,
			              x->policy.limits.max_depth);
		if (o)
			out[o++] = '/';
		memcpy(out + o, p, cl);
		o += cl;
		p = end;
	}
	out[o] = '\0';
	/* A bare "." (the top of a Heroku slug, above ./app) has nothing to say. */
	if (!under_app && o == 0)
		return 1;
	return 0;
}

/* ---- directories ------------------------------------------------------------------- */

static mode_t dir_mode(struct extractor *x, mode_t m)
{
	return x->policy.stack ? (m & 0755) : 0555;
}

/* An fd of the directory `parent` (normalised, "" = root), creating missing components and
 * refusing paths through symlinks or files. Borrowed: valid until the next call. */
static int parent_fd(struct extractor *x, const char *parent, size_t len)
{
	if (len == 0)
		return x->root_fd;
	if (x->cache_path && strlen(x->cache_path) == len &&
	    memcmp(x->cache_path, parent, len) == 0)
		return x->cache_fd;

	/* Check every prefix against the index, creating what is missing. */
	_cleanup_close_ int cur = -1;
	int curfd = x->root_fd;
	size_t start = 0;
	bool walked = false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && parent[i] != '/')
			continue;
		struct node *n = index_find(x, parent, i);
		if (n && n->type == NODE_SYMLINK)
			return refuse(x, ELOOP,
			              "path passes through symlink \"%.*s\" placed earlier", (int)i,
			              parent);
		if (n && n->type != NODE_DIR)
			return refuse(x, ENOTDIR, "parent \"%.*s\" is not a directory", (int)i,
			              parent);
		if (n && !walked) {
			start = i + 1; /* known directory: opened in one go later */
			continue;
		}
		if (!walked) {
			/* The first implicit directory: open the existing part in one go. */
			if (start > 0) {
				char *pre = strndup(parent, start - 1);
				if (!pre)
					return -ENOMEM;
				cur = openat2_beneath(x->root_fd, pre, O_PATH | O_DIRECTORY);
				free(pre);
				if (cur < 0)
					return refuse(x, -cur, "open parent directory: %s",
					              strerror(-cur));
				curfd = cur;
			}
			walked = true;
		}
		char comp[NAME_MAX + 1];
		size_t cl = i - start;
		memcpy(comp, parent + start, cl);
		comp[cl] = '\0';
		if (!n) {
			/* Implicit directory: create it from its parent's fd. */
			if (mkdirat(curfd, comp, 0700) == -1)
				return refuse(x, errno, "create directory \"%.*s\": %m", (int)i,
				              parent);
			int r = index_add(x, parent, i, NODE_DIR, NULL);
			if (r < 0)
				return r;
			char *pp = strndup(parent, i);
			if (!pp)
				return -ENOMEM;
			r = fixup_add(x, pp, dir_mode(x, 0755), NULL);
			free(pp);
			if (r < 0)
				return r;
		}
		int nfd = openat2_beneath(curfd, comp, O_PATH | O_DIRECTORY);
		if (nfd < 0)
			return refuse(x, -nfd, "open directory \"%.*s\": %s", (int)i, parent,
			              strerror(-nfd));
		safe_close(cur);
		cur = curfd = nfd;
		start = i + 1;
	}
	if (!walked) {
		char *pp = strndup(parent, len);
		if (!pp)
			return -ENOMEM;
		cur = openat2_beneath(x->root_fd, pp, O_PATH | O_DIRECTORY);
		free(pp);
		if (cur < 0)
			return refuse(x, -cur, "open parent directory: %s", strerror(-cur));
	}
	char *cp = strndup(parent, len);
	if (!cp)
		return -ENOMEM;
	free(x->cache_path);
	safe_close(x->cache_fd);
	x->cache_path = cp;
	x->cache_fd = TAKE_FD(cur);
	return x->cache_fd;
}

/* ---- symlink escapes --------------------------------------------------------------- */

/* Whether target, read as a symlink sitting in directory dir, resolves (following the
 * archive's own symlinks, like the kernel would) to somewhere above the root. */
static bool symlink_escapes(struct extractor *x, const char *dir, const char *target)
{
	char cur[PATH_MAX * 2], rest[PATH_MAX * 2];
	if (strlen(dir) >= sizeof(cur) || strlen(target) >= sizeof(rest))
		return true;
	strcpy(cur, dir);
	strcpy(rest, target);
	unsigned hops = 0;
	char *p = rest;
	if (*p == '/') {
		if (!x->policy.stack)
			return true;
		cur[0] = '\0';
	}
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = strchrnul(p, '/');
		size_t cl = (size_t)(end - p);
		if (cl == 1 && p[0] == '.') {
			p = end;
			continue;
		}
		if (cl == 2 && p[0] == '.' && p[1] == '.') {
			if (cur[0] == '\0')
				return true;
			char *slash = strrchr(cur, '/');
			if (slash)
				*slash = '\0';
			else
				cur[0] = '\0';
			p = end;
			continue;
		}
		size_t cl0 = strlen(cur);
		if (cl0 + 1 + cl >= sizeof(cur))
			return true;
		if (cl0)
			cur[cl0++] = '/';
		memcpy(cur + cl0, p, cl);
		cur[cl0 + cl] = '\0';
		p = end;
		struct node *n = index_find(x, cur, cl0 + cl);
		if (!n)
			continue; /* does not exist: the rest is lexical */
		if (n->type == NODE_FILE)
			return false; /* resolution ends here (or fails with ENOTDIR) */
		if (n->type == NODE_DIR)
			continue;
		/* A symlink: splice its target in front of what is left. */
		if (++hops > 40)
			return false; /* a loop: ELOOP for anyone who tries, never an escape */
		cur[cl0 ? cl0 - 1 : 0] = '\0';
		char tmp[PATH_MAX * 2];
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", n->target, p) >= sizeof(tmp))
			return true;
		if (n->target[0] == '/') {
			if (!x->policy.stack)
				return true;
			cur[0] = '\0';
		}
		strcpy(rest, tmp);
		p = rest;
	}
	return false;
}

/* ---- entries ----------------------------------------------------------------------- */

static int add_leaf(struct extractor *x, const char *path, char kind, mode_t mode,
                    const char *target, const unsigned char *content_md)
{
	if (!x->policy.tree_digest)
		return 0;
	if (ARRAY_GROW(x->leaf_digests, x->cap_leaf, x->n_leaf, 1024) < 0)
		return -ENOMEM;
	char hdr[64];
	int hl = snprintf(hdr, sizeof(hdr), "%c %o", kind, (unsigned)mode);
	unsigned int mdlen = 0;
	if (EVP_DigestInit_ex(x->leaf_md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(x->leaf_md, path, strlen(path) + 1) != 1 ||
	    EVP_DigestUpdate(x->leaf_md, hdr, (size_t)hl + 1) != 1 ||
	    (target && EVP_DigestUpdate(x->leaf_md, target, strlen(target) + 1) != 1) ||
	    (content_md && EVP_DigestUpdate(x->leaf_md, content_md, 32) != 1) ||
	    EVP_DigestFinal_ex(x->leaf_md, x->leaf_digests[x->n_leaf], &mdlen) != 1)
		return -EIO;
	x->n_leaf++;
	return 0;
}

static int write_data(struct extractor *x, struct archive *a, int fd, int64_t size, EVP_MD_CTX *md)
{
	int64_t pos = 0;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return refuse(x, EBADMSG, "corrupt data: %s", archive_error_string(a));
		if (off < pos || off > size || (int64_t)len > size - off)
			return refuse(x, EBADMSG, "data block outside the entry's size");
		if (off != pos && md)
			return refuse(x, EBADMSG, "sparse data where content is hashed");
		const char *b = buf;
		size_t left = len;
		while (left > 0) {
			ssize_t n = pwrite(fd, b, left, off);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				return refuse(x, errno, "write: %m");
			}
			b += n;
			off += n;
			left -= (size_t)n;
		}
		if (md && EVP_DigestUpdate(md, buf, len) != 1)
			return -EIO;
		pos = off;
	}
	if (pos != size && ftruncate(fd, size) == -1)
		return refuse(x, errno, "truncate: %m");
	return 0;
}

int extractor_entry(struct extractor *x, struct archive *a, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	if (!name)
		name = "";
	snprintf(x->current, sizeof(x->current), "%s", name);
	x->entries++;
	if (x->policy.limits.max_entries && x->entries > x->policy.limits.max_entries)
		return refuse(x, EFBIG, "more than %" PRIu64 " entries",
		              x->policy.limits.max_entries);

	char path[PATH_MAX];
	int r = normalise(x, name, false, path, sizeof(path));
	if (r < 0)
		return r;
	bool above_app = r == 1;
	size_t plen = strlen(path);

	mode_t type = archive_entry_filetype(e);
	const char *hardlink = archive_entry_hardlink(e);
	mode_t perm = archive_entry_perm(e);
	if (perm & (S_ISUID | S_ISGID | S_ISVTX))
		x->stripped++;

	if (above_app || plen == 0) {
		/* ".", "./app" itself, or a directory source's top. */
		if (hardlink || type != AE_IFDIR)
			return refuse(x, EINVAL, "the %s root must be a directory",
			              x->policy.stack ? "stack" : "slug");
		if (!above_app && x->policy.stack) {
			struct timespec mt = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
			return fixup_add(x, "", dir_mode(x, perm), &mt);
		}
		return 0;
	}

	if (x->policy.limits.max_uncompressed && archive_entry_size_is_set(e) &&
	    (uint64_t)archive_entry_size(e) > x->policy.limits.max_uncompressed)
		return refuse(x, EFBIG,
		              "size %" PRId64 " exceeds the uncompressed limit of %" PRIu64
		              " bytes",
		              (int64_t)archive_entry_size(e), x->policy.limits.max_uncompressed);

	struct node *existing = index_find(x, path, plen);
	if (existing) {
		if (!(type == AE_IFDIR && !hardlink && existing->type == NODE_DIR))
			return refuse(x, EEXIST, "duplicate entry (already extracted as a %s)",
			              existing->type == NODE_DIR       ? "directory"
			              : existing->type == NODE_SYMLINK ? "symlink"
			                                               : "file");
	}

	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	const char *base = slash ? slash + 1 : path;

	if (!hardlink &&
	    (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK)) {
		const char *what = type == AE_IFCHR   ? "character device"
		                   : type == AE_IFBLK ? "block device"
		                   : type == AE_IFIFO ? "FIFO"
		                                      : "socket";
		if (x->policy.stack) {
			x->skipped++;
			return 0;
		}
		return refuse(x, EPERM, "%s not allowed in a slug", what);
	}
	if (!hardlink && type != AE_IFDIR && type != AE_IFREG && type != AE_IFLNK)
		return refuse(x, EPERM, "unsupported entry type 0%o", (unsigned)type);

	int dfd = parent_fd(x, path, dlen);
	if (dfd < 0)
		return dfd;
	struct timespec mt = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};

	if (hardlink) {
		char tpath[PATH_MAX];
		r = normalise(x, hardlink, true, tpath, sizeof(tpath));
		if (r < 0)
			return r;
		if (r == 1 || tpath[0] == '\0')
			return refuse(x, EINVAL, "hardlink to the slug root");
		struct node *t = index_find(x, tpath, strlen(tpath));
		if (!t)
			return refuse(x, ENOENT,
			              "hardlink target \"%s\" is not a file extracted earlier",
			              tpath);
		if (t->type != NODE_FILE)
			return refuse(x, EPERM, "hardlink target \"%s\" is not a regular file",
			              tpath);
		if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
			(void)archive_read_data_skip(a);
		const char *ts = strrchr(tpath, '/');
		_cleanup_close_ int tfd = -1;
		if (ts) {
			tpath[ts - tpath] = '\0';
			tfd = openat2_beneath(x->root_fd, tpath, O_PATH | O_DIRECTORY);
			if (tfd < 0)
				return refuse(x, -tfd, "open hardlink target directory: %s",
				              strerror(-tfd));
		}
		/* parent_fd's cache may be replaced by nothing here; dfd stays valid. */
		if (linkat(ts ? tfd : x->root_fd, ts ? ts + 1 : tpath, dfd, base, 0) == -1)
			return refuse(x, errno, "hardlink: %m");
		r = index_add(x, path, plen, NODE_FILE, NULL);
		if (r < 0)
			return r;
		return add_leaf(x, path, 'h', 0, ts ? ts + 1 : tpath, NULL);
	}

	switch (type) {
	case AE_IFDIR:
		if (!existing) {
			if (mkdirat(dfd, base, 0700) == -1)
				return refuse(x, errno, "create directory: %m");
			r = index_add(x, path, plen, NODE_DIR, NULL);
			if (r < 0)
				return r;
		}
		r = fixup_add(x, path, dir_mode(x, perm), &mt);
		if (r < 0)
			return r;
		return add_leaf(x, path, 'd', dir_mode(x, perm), NULL, NULL);

	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);
		if (!target || !*target)
			return refuse(x, EINVAL, "symlink with an empty target");
		if (strlen(target) >= PATH_MAX)
			return refuse(x, ENAMETOOLONG, "symlink target too long");
		if (target[0] == '/' && !x->policy.stack)
			return refuse(x, EPERM,
			              "symlink target \"%s\" is absolute (escapes the slug root)",
			              target);
		char dir[PATH_MAX];
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
		if (symlink_escapes(x, dir, target))
			return refuse(x, EPERM, "symlink target \"%s\" escapes the %s root", target,
			              x->policy.stack ? "stack" : "slug");
		if (symlinkat(target, dfd, base) == -1)
			return refuse(x, errno, "create symlink: %m");
		r = index_add(x, path, plen, NODE_SYMLINK, target);
		if (r < 0)
			return r;
		return add_leaf(x, path, 'l', 0, target, NULL);
	}

	case AE_IFREG: {
		int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
		if (size < 0)
			return refuse(x, EBADMSG, "negative size");
		mode_t fmode = perm & 0755;
		_cleanup_close_ int fd = openat(
		        dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1)
			return refuse(x, errno, "create file: %m");
		r = index_add(x, path, plen, NODE_FILE, NULL);
		if (r < 0)
			return r;
		_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
		if (x->policy.tree_digest) {
			md = EVP_MD_CTX_new();
			if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
				return -ENOMEM;
		}
		r = write_data(x, a, fd, size, md);
		if (r < 0)
			return r;
		x->file_bytes += (uint64_t)size;
		if (fchmod(fd, fmode) == -1)
			return refuse(x, errno, "chmod: %m");
		struct timespec ts[2] = {mt, mt};
		if (futimens(fd, ts) == -1)
			return refuse(x, errno, "set times: %m");
		if (md) {
			unsigned char cmd[32];
			unsigned int l = 0;
			if (EVP_DigestFinal_ex(md, cmd, &l) != 1)
				return -EIO;
			return add_leaf(x, path, 'f', fmode, NULL, cmd);
		}
		return 0;
	}
	}
	return refuse(x, EPERM, "unsupported entry type");
}

static int cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

int extractor_tree_digest(struct extractor *x, char ret[IMAGE_DIGEST_HEX_LEN + 1])
{
	if (!x->policy.tree_digest)
		return -EINVAL;
	qsort(x->leaf_digests, x->n_leaf, sizeof(*x->leaf_digests), cmp_digest);
	unsigned char md[32];
	unsigned int l = 0;
	if (EVP_DigestInit_ex(x->leaf_md, EVP_sha256(), NULL) != 1 ||
	    (x->n_leaf && EVP_DigestUpdate(x->leaf_md, x->leaf_digests,
	                                   x->n_leaf * sizeof(*x->leaf_digests)) != 1) ||
	    EVP_DigestFinal_ex(x->leaf_md, md, &l) != 1)
		return -EIO;
	image_hex(md, 32, ret);
	return 0;
}

int extractor_finish(struct extractor *x)
{
	snprintf(x->current, sizeof(x->current), "(end of archive)");
	/* Symlinks were checked as they came; a later symlink can change how an earlier one
	 * resolves, so check all of them again against the complete tree. */
	for (size_t i = 0; i < x->cap_nodes; i++) {
		struct node *n = &x->nodes[i];
		if (!n->path || n->type != NODE_SYMLINK)
			continue;
		char dir[PATH_MAX];
		const char *slash = strrchr(n->path, '/');
		size_t dlen = slash ? (size_t)(slash - n->path) : 0;
		memcpy(dir, n->path, dlen);
		dir[dlen] = '\0';
		if (symlink_escapes(x, dir, n->target)) {
			snprintf(x->current, sizeof(x->current), "%s", n->path);
			return refuse(x, EPERM,
			              "symlink target \"%s\" escapes the %s root through symlinks "
			              "in the archive",
			              n->target, x->policy.stack ? "stack" : "slug");
		}
	}
	free(x->cache_path);
	x->cache_path = NULL;
	x->cache_fd = safe_close(x->cache_fd);
	/* Final directory modes and times, in archive order so a later entry wins. */
	for (size_t i = 0; i < x->n_fixups; i++) {
		struct dir_fixup *f = &x->fixups[i];
		_cleanup_close_ int fd = f->path[0] ? image_open_dir_at(x->root_fd, f->path)
		                                    : fcntl(x->root_fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return -EIO;
		if (fchmod(fd, f->mode) == -1)
			return -errno;
		if (f->have_mtime) {
			struct timespec ts[2] = {f->mtime, f->mtime};
			if (futimens(fd, ts) == -1)
				return -errno;
		}
	}
	if (!x->policy.stack && fchmod(x->root_fd, 0555) == -1)
		return -errno;
	if (x->policy.stack) {
		/* A root without an explicit entry gets 0755. */
		bool have_root = false;
		for (size_t i = 0; i < x->n_fixups; i++)
			if (x->fixups[i].path[0] == '\0')
				have_root = true;
		if (!have_root && fchmod(x->root_fd, 0755) == -1)
			return -errno;
	}
	return 0;
}
