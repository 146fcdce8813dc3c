/* images: slugs (content-addressed, verified, read-only app trees), stacks (base root
 * filesystems), releases (slug + stack + config + process types) and the Procfile.
 *
 * Store layout under the images root (default DYNOHOST_STATEDIR, e.g. /var/lib/dynohost):
 *
 *   <root>/slugs/<sha256hex>/          the app root itself: the contents of the slug's ./app/.
 *                                      Pass this directory as `dyno exec --slug DIR`; it is what
 *                                      a dyno sees at /app. Owned by root, directories 0555,
 *                                      files with the archive's mode & 0755 (no setuid, setgid,
 *                                      sticky, group or other write bits).
 *   <root>/slugs/<sha256hex>.meta      key=value facts about the import (sizes, entry count).
 *   <root>/slugs/.staging-XXXXXX/      an import in progress; never used by anything else,
 *                                      renamed to <sha256hex> only after full validation.
 *   <root>/stacks/<name>/<digest>/     an imported root filesystem (mode & 0755, no setuid).
 *   <root>/stacks/<name>/current       symlink to the <digest> that `name` means now.
 *   stack "host"                       built in: the host's own userland, read-only; the
 *                                      launcher bind-mounts it (image_stack_path returns "host").
 *
 * The digest of a slug is the SHA-256 of its compressed bytes (Heroku's `SHA256:<hex>`); of a
 * stack tarball likewise; of a stack directory, the SHA-256 of its sorted entry hashes.
 *
 * Releases live in SQLite (tables images_release*, in the host's state.db); they are
 * immutable: a deploy or a rollback only ever adds version N+1.
 *
 * Every function returns >= 0 on success or -errno; where a person needs detail (a refused
 * slug entry, a Procfile line) it also fills a struct image_error. Nothing here logs. */
#ifndef DYNOHOST_IMAGES_IMAGES_H
#define DYNOHOST_IMAGES_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_DIGEST_HEX_LEN 64
#define IMAGE_STACK_HOST "host"

/* One human-readable line saying what was refused and why, e.g.
 * `entry "app/../etc/passwd": ".." path component`. line/column are 1-based (Procfile), 0
 * where they do not apply. */
struct image_error {
	char msg[1024];
	unsigned line;
	unsigned column;
};

/* ---- the store ---------------------------------------------------------------------- */

struct image_store;

/* Open (and with create, make) the images root. */
int image_store_open(const char *root, bool create, struct image_store **ret);
struct image_store *image_store_free(struct image_store *s);
const char *image_store_root(const struct image_store *s);

/* ---- slugs ------------------------------------------------------------------------- */

/* Limits checked while importing; 0 in any field means "no limit". */
struct image_limits {
	uint64_t max_compressed;   /* bytes read from the input; default 1 GiB (Heroku's limit) */
	uint64_t max_uncompressed; /* bytes of the decompressed tar stream; default 8 GiB */
	uint64_t max_entries;      /* archive entries; default 1,000,000 */
	uint32_t max_path;         /* bytes of an entry's name; default 4095 */
	uint32_t max_depth;        /* path components of an entry's name; default 128 */
	uint32_t max_ratio;        /* decompressed:compressed, past the first MiB; default 200 */
};
void image_limits_default(struct image_limits *ret);

enum image_layout {
	IMAGE_LAYOUT_HEROKU = 0, /* entries live under ./app/ (Heroku's slug format) */
	IMAGE_LAYOUT_ROOT,       /* the tar's root is the app root (a tar of the app directory) */
	IMAGE_LAYOUT_MAX,
};

struct image_import_opts {
	struct image_limits limits;
	enum image_layout layout;
	const char *checksum; /* "SHA256:<hex>" (or bare hex) the input must hash to; NULL: any */
	bool no_sync;         /* skip syncfs before publishing (tests, fuzzing) */
	/* Called after each chunk read: bytes read so far, and the input size when known (else 0).
	 */
	void (*progress)(uint64_t done, uint64_t total, void *userdata);
	void *userdata;
};
void image_import_opts_default(struct image_import_opts *ret);

struct image_slug_info {
	char digest[IMAGE_DIGEST_HEX_LEN + 1];
	uint64_t compressed_bytes;
	uint64_t uncompressed_bytes; /* sum of regular file sizes */
	uint64_t entries;
	uint64_t stripped; /* entries whose setuid/setgid/sticky bits were removed */
	int64_t imported;  /* unix time */
	bool existed;      /* the digest was already in the store: nothing was written */
};

/* Import a slug (gzipped or plain tar) read from fd. Verifies every entry, extracts into a
 * staging directory beside the store and publishes it as slugs/<digest> only when all of it
 * passed; on any failure the store is left exactly as it was and err says why. Importing a
 * digest that is already stored is a no-op (info->existed). */
int image_slug_import_fd(struct image_store *s, int fd, const struct image_import_opts *o,
                         struct image_slug_info *ret_info, struct image_error *err);

/* Validate and extract a slug from fd into the empty directory dirfd (no hashing of a store,
 * no publishing): the engine behind import, exposed for fuzzing. */
int image_slug_extract_fd(int dirfd, int fd, const struct image_import_opts *o,
                          struct image_slug_info *ret_info, struct image_error *err);

/* Parse "SHA256:<hex>", "sha256:<hex>" or "<hex>" into 64 lowercase hex digits + NUL. */
int image_digest_parse(const char *s, char ret[IMAGE_DIGEST_HEX_LEN + 1]);

/* The directory to hand the launcher for a stored slug (malloc'd). -ENOENT when absent. */
int image_slug_path(struct image_store *s, const char *digest, char **ret);
/* All stored slugs, sorted by digest; free with free(). */
int image_slug_list(struct image_store *s, struct image_slug_info **ret, size_t *ret_n);
/* Remove every stored slug whose digest is not in keep (NULL-terminated, may be NULL) and
 * that was published at least min_age seconds ago (so a slug imported for a deploy that has
 * not created its release yet survives), and staging directories left by crashed imports
 * older than an hour. The number of slugs removed goes to *ret_removed. */
int image_slug_gc(struct image_store *s, char *const *keep, unsigned min_age,
                  unsigned *ret_removed);

/* ---- stacks ------------------------------------------------------------------------ */

struct image_stack_info {
	char name[129];
	char digest[IMAGE_DIGEST_HEX_LEN + 1];
	uint64_t entries;
	uint64_t
	        skipped; /* device nodes, FIFOs and sockets left out (the launcher supplies /dev) */
	bool existed;
};

/* Stack names follow the Procfile type rule ([A-Za-z0-9_-]{1,128}) and may not be "host". */
bool image_stack_name_valid(const char *name);
/* Import a root filesystem tarball (gzip, xz, zstd, bzip2 or plain tar) or a directory
 * (copied without following symlinks or crossing mounts) as stack `name`, and point
 * stacks/<name>/current at it. Absolute symlinks are allowed inside a stack (they resolve
 * inside the dyno's root), other rules as for slugs. */
int image_stack_import_fd(struct image_store *s, const char *name, int fd,
                          const struct image_import_opts *o, struct image_stack_info *ret_info,
                          struct image_error *err);
int image_stack_import_dir(struct image_store *s, const char *name, const char *dir,
                           const struct image_import_opts *o, struct image_stack_info *ret_info,
                           struct image_error *err);
/* The directory to hand the launcher as --stack (malloc'd): "host" for the built-in stack. */
int image_stack_path(struct image_store *s, const char *name, char **ret);
/* Imported stacks (current digest each), sorted by name, plus "host" first. */
int image_stack_list(struct image_store *s, struct image_stack_info **ret, size_t *ret_n);

/* ---- Procfile ---------------------------------------------------------------------- */

struct image_process_type {
	char *name;    /* [A-Za-z0-9_-]{1,128} */
	char *command; /* run with /bin/sh -c in /app */
};

struct image_procfile {
	struct image_process_type *types; /* in file order */
	size_t n_types;
};

/* Parse `type: command` lines; blank lines and `#` comments are skipped, CRLF is accepted.
 * Refuses bad types, empty commands, duplicates and NUL bytes with line and column in err. */
int image_procfile_parse(const char *buf, size_t len, struct image_procfile **ret,
                         struct image_error *err);
struct image_procfile *image_procfile_free(struct image_procfile *p);
/* The command of type name, or NULL. */
const char *image_procfile_command(const struct image_procfile *p, const char *name);
bool image_process_type_valid(const char *name, size_t len);

/* ---- releases ---------------------------------------------------------------------- */

struct image_config_var {
	char *key;
	char *value;
};

struct image_release {
	char *app;
	unsigned version; /* 1, 2, ... */
	char slug[IMAGE_DIGEST_HEX_LEN + 1];
	char *stack;
	struct image_config_var *config; /* sorted by key */
	size_t n_config;
	struct image_process_type *types; /* sorted by name */
	size_t n_types;
	char *description; /* "Deploy abc123", "Rollback to v3" */
	int64_t created;   /* unix time */
};

struct image_releases;

/* Open (creating tables as needed) the release store in the SQLite file db_path. */
int image_releases_open(const char *db_path, struct image_releases **ret);
struct image_releases *image_releases_free(struct image_releases *r);
/* Add the next version of r->app with r's slug, stack, config, types and description
 * (r->version and r->created are ignored). Returns the new version in *ret_version. */
int image_release_create(struct image_releases *db, const struct image_release *r,
                         unsigned *ret_version);
/* Version `version` of app, or its latest when version is 0. -ENOENT when absent. */
int image_release_get(struct image_releases *db, const char *app, unsigned version,
                      struct image_release **ret);
/* All releases of app, oldest first. Free each with image_release_free and the array. */
int image_release_list(struct image_releases *db, const char *app, struct image_release ***ret,
                       size_t *ret_n);
/* A new release with the slug, stack, config and types of version `version`. */
int image_release_rollback(struct image_releases *db, const char *app, unsigned version,
                           unsigned *ret_version);
/* Every slug digest some release references (NULL-terminated strv). */
int image_releases_slugs(struct image_releases *db, char ***ret);
struct image_release *image_release_free(struct image_release *r);
bool image_app_name_valid(const char *name);

#endif
