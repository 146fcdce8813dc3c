/* Releases: immutable, numbered records of what an app runs (slug, stack, config vars,
 * process types), kept in SQLite tables images_release*. Triggers make the tables
 * append-only, so "immutable" holds for every writer of the database, not just this file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "images/image-internal.h"

struct image_releases {
	sqlite3 *db;
};

static const char schema[] =
        "CREATE TABLE IF NOT EXISTS images_releases ("
        " app TEXT NOT NULL, version INTEGER NOT NULL, slug TEXT NOT NULL,"
        " stack TEXT NOT NULL, description TEXT NOT NULL, created INTEGER NOT NULL,"
        " PRIMARY KEY (app, version));"
        "CREATE TABLE IF NOT EXISTS images_release_config ("
        " app TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (app, version, key));"
        "CREATE TABLE IF NOT EXISTS images_release_process ("
        " app TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL, command TEXT NOT NULL,"
        " PRIMARY KEY (app, version, type));"
        "CREATE TRIGGER IF NOT EXISTS images_releases_no_update BEFORE UPDATE ON images_releases"
        " BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;"
        "CREATE TRIGGER IF NOT EXISTS images_releases_no_delete BEFORE DELETE ON images_releases"
        " BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;"
        "CREATE TRIGGER IF NOT EXISTS images_release_config_no_update BEFORE UPDATE ON "
        "images_release_config BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;"
        "CREATE TRIGGER IF NOT EXISTS images_release_config_no_delete BEFORE DELETE ON "
        "images_release_config BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;"
        "CREATE TRIGGER IF NOT EXISTS images_release_process_no_update BEFORE UPDATE ON "
        "images_release_process BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;"
        "CREATE TRIGGER IF NOT EXISTS images_release_process_no_delete BEFORE DELETE ON "
        "images_release_process BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;";

static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_FULL:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize)

bool image_app_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > 63 || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

static bool config_key_valid(const char *k)
{
	if (!k || !*k || (k[0] >= '0' && k[0] <= '9'))
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

int image_releases_open(const char *db_path, struct image_releases **ret)
{
	struct image_releases *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int rc = sqlite3_open_v2(db_path, &r->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(r->db, 10000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL,
		                  NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(r->db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int e = sql_errno(rc);
		image_releases_free(r);
		return e ? e : -EIO;
	}
	*ret = r;
	return 0;
}

struct image_releases *image_releases_free(struct image_releases *r)
{
	if (!r)
		return NULL;
	sqlite3_close(r->db);
	free(r);
	return NULL;
}

struct image_release *image_release_free(struct image_release *r)
{
	if (!r)
		return NULL;
	free(r->app);
	free(r->stack);
	free(r->description);
	for (size_t i = 0; i < r->n_config; i++) {
		free(r->config[i].key);
		free(r->config[i].value);
	}
	free(r->config);
	for (size_t i = 0; i < r->n_types; i++) {
		free(r->types[i].name);
		free(r->types[i].command);
	}
	free(r->types);
	free(r);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_release *, image_release_free)

static int prepare(struct image_releases *db, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(db->db, sql, -1, ret, NULL);
	return rc == SQLITE_OK ? 0 : sql_errno(rc) ? sql_errno(rc) : -EIO;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : sql_errno(rc) ? sql_errno(rc) : -EIO;
}

static int insert_release(struct image_releases *db, const struct image_release *r,
                          unsigned *ret_version)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *q = NULL;
	int e = prepare(
	        db, "SELECT COALESCE(MAX(version), 0) + 1 FROM images_releases WHERE app = ?", &q);
	if (e < 0)
		return e;
	sqlite3_bind_text(q, 1, r->app, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW)
		return -EIO;
	sqlite3_int64 version = sqlite3_column_int64(q, 0);

	_cleanup_(sqlite3_finalizep) sqlite3_stmt *ins = NULL;
	e = prepare(db,
	            "INSERT INTO images_releases (app, version, slug, stack, description, created)"
	            " VALUES (?, ?, ?, ?, ?, ?)",
	            &ins);
	if (e < 0)
		return e;
	sqlite3_bind_text(ins, 1, r->app, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, version);
	sqlite3_bind_text(ins, 3, r->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 4, r->stack, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 5, r->description ? r->description : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 6, (sqlite3_int64)time(NULL));
	e = step_done(ins);
	if (e < 0)
		return e;

	_cleanup_(sqlite3_finalizep) sqlite3_stmt *cfg = NULL;
	e = prepare(db, "INSERT INTO images_release_config VALUES (?, ?, ?, ?)", &cfg);
	if (e < 0)
		return e;
	for (size_t i = 0; i < r->n_config; i++) {
		sqlite3_reset(cfg);
		sqlite3_bind_text(cfg, 1, r->app, -1, SQLITE_STATIC);
		sqlite3_bind_int64(cfg, 2, version);
		sqlite3_bind_text(cfg, 3, r->config[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(cfg, 4, r->config[i].value, -1, SQLITE_STATIC);
		e = step_done(cfg);
		if (e < 0)
			return e;
	}
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *proc = NULL;
	e = prepare(db, "INSERT INTO images_release_process VALUES (?, ?, ?, ?)", &proc);
	if (e < 0)
		return e;
	for (size_t i = 0; i < r->n_types; i++) {
		sqlite3_reset(proc);
		sqlite3_bind_text(proc, 1, r->app, -1, SQLITE_STATIC);
		sqlite3_bind_int64(proc, 2, version);
		sqlite3_bind_text(proc, 3, r->types[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(proc, 4, r->types[i].command, -1, SQLITE_STATIC);
		e = step_done(proc);
		if (e < 0)
			return e;
	}
	*ret_version = (unsigned)version;
	return 0;
}

int image_release_create(struct image_releases *db, const struct image_release *r,
                         unsigned *ret_version)
{
	char hex[IMAGE_DIGEST_HEX_LEN + 1];
	if (!image_app_name_valid(r->app) || image_digest_parse(r->slug, hex) < 0 || !r->stack ||
	    (strcmp(r->stack, IMAGE_STACK_HOST) != 0 && !image_stack_name_valid(r->stack)))
		return -EINVAL;
	for (size_t i = 0; i < r->n_config; i++) {
		if (!config_key_valid(r->config[i].key) || !r->config[i].value)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->config[i].key, r->config[j].key) == 0)
				return -EEXIST;
	}
	for (size_t i = 0; i < r->n_types; i++) {
		if (!r->types[i].name ||
		    !image_process_type_valid(r->types[i].name, strlen(r->types[i].name)) ||
		    !r->types[i].command || !*r->types[i].command)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->types[i].name, r->types[j].name) == 0)
				return -EEXIST;
	}
	struct image_release copy = *r;
	memcpy(copy.slug, hex, sizeof(hex));
	int rc = sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc) ? sql_errno(rc) : -EIO;
	unsigned v = 0;
	int e = insert_release(db, &copy, &v);
	if (e == 0) {
		rc = sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			e = sql_errno(rc) ? sql_errno(rc) : -EIO;
	}
	if (e < 0) {
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
		return e;
	}
	*ret_version = v;
	return 0;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return strdup(t ? (const char *)t : "");
}

static int load_children(struct image_releases *db, struct image_release *r)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *q = NULL;
	int e = prepare(db,
	                "SELECT key, value FROM images_release_config WHERE app = ? AND version = ?"
	                " ORDER BY key",
	                &q);
	if (e < 0)
		return e;
	sqlite3_bind_text(q, 1, r->app, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, r->version);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct image_config_var *n = realloc(r->config, (r->n_config + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->config = n;
		n[r->n_config] = (struct image_config_var){col_dup(q, 0), col_dup(q, 1)};
		r->n_config++;
		if (!n[r->n_config - 1].key || !n[r->n_config - 1].value)
			return -ENOMEM;
	}
	if (rc != SQLITE_DONE)
		return -EIO;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *p = NULL;
	e = prepare(db,
	            "SELECT type, command FROM images_release_process WHERE app = ? AND version = ?"
	            " ORDER BY type",
	            &p);
	if (e < 0)
		return e;
	sqlite3_bind_text(p, 1, r->app, -1, SQLITE_STATIC);
	sqlite3_bind_int64(p, 2, r->version);
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		struct image_process_type *n = realloc(r->types, (r->n_types + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->types = n;
		n[r->n_types] = (struct image_process_type){col_dup(p, 0), col_dup(p, 1)};
		r->n_types++;
		if (!n[r->n_types - 1].name || !n[r->n_types - 1].command)
			return -ENOMEM;
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int row_to_release(struct image_releases *db, sqlite3_stmt *q, struct image_release **ret)
{
	_cleanup_(image_release_freep) struct image_release *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->app = col_dup(q, 0);
	r->version = (unsigned)sqlite3_column_int64(q, 1);
	const unsigned char *slug = sqlite3_column_text(q, 2);
	snprintf(r->slug, sizeof(r->slug), "%s", slug ? (const char *)slug : "");
	r->stack = col_dup(q, 3);
	r->description = col_dup(q, 4);
	r->created = sqlite3_column_int64(q, 5);
	if (!r->app || !r->stack || !r->description)
		return -ENOMEM;
	int e = load_children(db, r);
	if (e < 0)
		return e;
	*ret = TAKE_PTR(r);
	return 0;
}

#define RELEASE_COLUMNS                                                                            \
	"SELECT app, version, slug, stack, description, created FROM images_releases"

int image_release_get(struct image_releases *db, const char *app, unsigned version,
                      struct image_release **ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *q = NULL;
	int e = prepare(db,
	                version ? RELEASE_COLUMNS " WHERE app = ?1 AND version = ?2"
	                        : RELEASE_COLUMNS " WHERE app = ?1 ORDER BY version DESC LIMIT 1",
	                &q);
	if (e < 0)
		return e;
	sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
	if (version)
		sqlite3_bind_int64(q, 2, version);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return sql_errno(rc) ? sql_errno(rc) : -EIO;
	return row_to_release(db, q, ret);
}

int image_release_list(struct image_releases *db, const char *app, struct image_release ***ret,
                       size_t *ret_n)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *q = NULL;
	int e = prepare(db, RELEASE_COLUMNS " WHERE app = ? ORDER BY version", &q);
	if (e < 0)
		return e;
	sqlite3_bind_text(q, 1, app, -1, SQLITE_STATIC);
	struct image_release **v = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct image_release **nv = realloc(v, (n + 1) * sizeof(*nv));
		if (!nv) {
			e = -ENOMEM;
			break;
		}
		v = nv;
		e = row_to_release(db, q, &v[n]);
		if (e < 0)
			break;
		n++;
	}
	if (e == 0 && rc != SQLITE_DONE)
		e = -EIO;
	if (e < 0) {
		for (size_t i = 0; i < n; i++)
			image_release_free(v[i]);
		free(v);
		return e;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int image_release_rollback(struct image_releases *db, const char *app, unsigned version,
                           unsigned *ret_version)
{
	if (version == 0)
		return -EINVAL;
	_cleanup_(image_release_freep) struct image_release *old = NULL;
	int e = image_release_get(db, app, version, &old);
	if (e < 0)
		return e;
	char desc[64];
	snprintf(desc, sizeof(desc), "Rollback to v%u", version);
	free(old->description);
	old->description = strdup(desc);
	if (!old->description)
		return -ENOMEM;
	return image_release_create(db, old, ret_version);
}

int image_releases_slugs(struct image_releases *db, char ***ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *q = NULL;
	int e = prepare(db, "SELECT DISTINCT slug FROM images_releases ORDER BY slug", &q);
	if (e < 0)
		return e;
	char **v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char **nv = realloc(v, (n + 2) * sizeof(*nv));
		if (!nv) {
			strv_free(v);
			return -ENOMEM;
		}
		v = nv;
		v[n] = col_dup(q, 0);
		v[n + 1] = NULL;
		if (!v[n]) {
			strv_free(v);
			return -ENOMEM;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		strv_free(v);
		return -EIO;
	}
	*ret = v;
	return 0;
}
