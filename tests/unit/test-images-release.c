/* Releases in SQLite: numbering, contents, rollback, immutability (enforced by the
 * database), referenced slugs, and refusal of invalid records. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/fileio.h"
#include "images/images.h"
#include "tests/lib/tap.h"

#define SLUG_A "SHA256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SLUG_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

int main(void)
{
	char dir[] = "/tmp/dyno-test-release.XXXXXX";
	if (!mkdtemp(dir))
		tap_bail("mkdtemp: %m");
	char db_path[256];
	snprintf(db_path, sizeof(db_path), "%s/state.db", dir);

	struct image_releases *db = NULL;
	is_int(image_releases_open(db_path, &db), 0, "open a new release store");
	if (!db)
		tap_bail("cannot continue");

	struct image_config_var cfg[] = {{"RACK_ENV", "production"}, {"A_KEY", "x=y z"}};
	struct image_process_type types[] = {{"web", "ruby app.rb"}, {"worker", "rake jobs"}};
	struct image_release r = {
	        .app = "demo",
	        .stack = "host",
	        .config = cfg,
	        .n_config = 2,
	        .types = types,
	        .n_types = 2,
	        .description = "Deploy 1",
	};
	unsigned v = 0;
	/* Records hold the bare hex digest. */
	snprintf(r.slug, sizeof(r.slug), "%.64s", SLUG_A + 7);
	is_int(image_release_create(db, &r, &v), 0, "create the first release");
	is_int(v, 1, "it is v1");
	snprintf(r.slug, sizeof(r.slug), "%s", SLUG_B);
	r.n_config = 1;
	r.description = "Deploy 2";
	is_int(image_release_create(db, &r, &v), 0, "create the second");
	is_int(v, 2, "it is v2");

	struct image_release *got = NULL;
	is_int(image_release_get(db, "demo", 0, &got), 0, "get the latest");
	if (got) {
		is_int(got->version, 2, "latest is v2");
		is_str(got->slug, SLUG_B, "with v2's slug");
		is_int(got->n_config, 1, "and v2's config");
	}
	got = image_release_free(got);
	is_int(image_release_get(db, "demo", 1, &got), 0, "get v1");
	if (got) {
		is_int(got->n_config, 2, "v1 has two config vars");
		is_str(got->config[0].key, "A_KEY", "sorted by key");
		is_str(got->config[0].value, "x=y z", "values kept verbatim");
		is_int(got->n_types, 2, "two process types");
		is_str(got->types[1].command, "rake jobs", "commands kept");
	}
	got = image_release_free(got);

	is_int(image_release_rollback(db, "demo", 1, &v), 0, "roll back to v1");
	is_int(v, 3, "the rollback is a new release, v3");
	is_int(image_release_get(db, "demo", 3, &got), 0, "get v3");
	if (got) {
		is_str(got->slug,
		       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		       "v3 has v1's slug");
		is_int(got->n_config, 2, "and v1's config");
		is_str(got->description, "Rollback to v1", "described as a rollback");
	}
	got = image_release_free(got);
	is_int(image_release_rollback(db, "demo", 9, &v), -ENOENT, "rollback to a missing version");
	is_int(image_release_get(db, "other", 0, &got), -ENOENT, "an app without releases");

	struct image_release **list = NULL;
	size_t n = 0;
	is_int(image_release_list(db, "demo", &list, &n), 0, "list releases");
	is_int(n, 3, "three of them");
	ok(n == 3 && list[0]->version == 1 && list[2]->version == 3, "oldest first");
	for (size_t i = 0; i < n; i++)
		image_release_free(list[i]);
	free(list);

	char **slugs = NULL;
	is_int(image_releases_slugs(db, &slugs), 0, "referenced slugs");
	ok(slugs && slugs[0] && slugs[1] && !slugs[2] && slugs[0][0] == 'a' && slugs[1][0] == 'b',
	   "each referenced slug once");
	strv_free(slugs);

	/* Invalid records. */
	struct image_release bad = r;
	bad.app = "Bad App";
	is_int(image_release_create(db, &bad, &v), -EINVAL, "an invalid app name is refused");
	bad = r;
	snprintf(bad.slug, sizeof(bad.slug), "nothex");
	is_int(image_release_create(db, &bad, &v), -EINVAL, "an invalid slug digest is refused");
	bad = r;
	bad.stack = "../etc";
	is_int(image_release_create(db, &bad, &v), -EINVAL, "an invalid stack name is refused");
	struct image_config_var badcfg[] = {{"1X", "y"}};
	bad = r;
	bad.config = badcfg;
	bad.n_config = 1;
	is_int(image_release_create(db, &bad, &v), -EINVAL, "an invalid config key is refused");
	struct image_process_type duptypes[] = {{"web", "a"}, {"web", "b"}};
	bad = r;
	bad.types = duptypes;
	bad.n_types = 2;
	is_int(image_release_create(db, &bad, &v), -EEXIST, "duplicate process types are refused");
	db = image_releases_free(db);

	/* Immutable for every writer of the database, and persistent across opens. */
	sqlite3 *raw = NULL;
	ok(sqlite3_open(db_path, &raw) == SQLITE_OK, "open the database directly");
	ok(sqlite3_exec(raw, "UPDATE images_releases SET slug = 'x'", NULL, NULL, NULL) !=
	           SQLITE_OK,
	   "an UPDATE of a release is refused by the database");
	ok(sqlite3_exec(raw, "DELETE FROM images_release_config", NULL, NULL, NULL) != SQLITE_OK,
	   "a DELETE of release config is refused by the database");
	sqlite3_close(raw);
	is_int(image_releases_open(db_path, &db), 0, "reopen");
	is_int(image_release_get(db, "demo", 0, &got), 0, "the history survived");
	if (got)
		is_int(got->version, 3, "latest is still v3");
	image_release_free(got);
	image_releases_free(db);
	rm_rf(dir);
	return tap_done();
}
