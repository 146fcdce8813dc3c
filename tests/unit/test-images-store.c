/* The slug store through its C API, with archives written by libarchive in memory: digest
 * parsing, import, idempotence, path, list, gc with a keep list, and refusals that leave no
 * staging directory behind. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/fileio.h"
#include "images/images.h"
#include "tests/lib/tap.h"

struct ent {
	const char *name;
	mode_t type;
	const char *data_or_target;
	const char *hardlink;
};

/* A gzipped tar of ents in a memfd, positioned at 0. */
static int make_slug(const struct ent *ents, size_t n)
{
	int fd = memfd_create("slug", MFD_CLOEXEC);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	if (fd < 0 || archive_write_open_fd(a, fd) != ARCHIVE_OK)
		tap_bail("archive_write_open_fd");
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].name);
		archive_entry_set_mtime(e, 1700000000, 0);
		if (ents[i].hardlink) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, ents[i].hardlink);
			archive_write_header(a, e);
		} else if (ents[i].type == AE_IFLNK) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, ents[i].data_or_target);
			archive_write_header(a, e);
		} else if (ents[i].type == AE_IFDIR) {
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
			archive_write_header(a, e);
		} else {
			const char *d = ents[i].data_or_target ? ents[i].data_or_target : "";
			archive_entry_set_filetype(e, ents[i].type ? ents[i].type : AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, (la_int64_t)strlen(d));
			archive_write_header(a, e);
			archive_write_data(a, d, strlen(d));
		}
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int count_staging(const char *root)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/slugs", root);
	DIR *d = opendir(p);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, ".staging-", 9) == 0 || strncmp(de->d_name, ".gc-", 4) == 0)
			n++;
	if (d)
		closedir(d);
	return n;
}

static int import(struct image_store *s, const struct ent *e, size_t n,
                  struct image_slug_info *info, struct image_error *err)
{
	int fd = make_slug(e, n);
	struct image_import_opts o;
	image_import_opts_default(&o);
	o.no_sync = true;
	int r = image_slug_import_fd(s, fd, &o, info, err);
	close(fd);
	return r;
}

int main(void)
{
	char hex[IMAGE_DIGEST_HEX_LEN + 1];
	is_int(image_digest_parse(
	               "SHA256:"
	               "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	               hex),
	       0, "SHA256: with mixed case parses");
	is_str(hex, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	       "to lower-case hex");
	is_int(image_digest_parse("sha256:0123", hex), -EINVAL, "a short digest is refused");
	is_int(image_digest_parse(
	               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", hex),
	       -EINVAL, "a non-hex digit is refused");
	struct image_limits l;
	image_limits_default(&l);
	ok(l.max_compressed == (1ull << 30) && l.max_ratio == 200,
	   "default limits: 1 GiB compressed (Heroku's)");

	char root[] = "/tmp/dyno-test-store.XXXXXX";
	if (!mkdtemp(root))
		tap_bail("mkdtemp");
	struct image_store *s = NULL;
	is_int(image_store_open(root, true, &s), 0, "create a store");
	if (!s)
		tap_bail("no store");

	const struct ent app[] = {
	        {"./app/", AE_IFDIR, NULL, NULL},
	        {"./app/Procfile", AE_IFREG, "web: ruby app.rb\n", NULL},
	        {"./app/lib/", AE_IFDIR, NULL, NULL},
	        {"./app/lib/a.rb", AE_IFREG, "puts 1\n", NULL},
	        {"./app/lib/b.rb", 0, NULL, "./app/lib/a.rb"},
	        {"./app/current", AE_IFLNK, "lib/a.rb", NULL},
	};
	struct image_slug_info info;
	struct image_error err;
	is_int(import(s, app, ELEMENTSOF(app), &info, &err), 0, "import a slug");
	ok(!info.existed && info.entries == 6, "six entries, newly stored");
	char *path = NULL;
	is_int(image_slug_path(s, info.digest, &path), 0, "its path");
	char want[600];
	snprintf(want, sizeof(want), "%s/slugs/%s", root, info.digest);
	is_str(path, want, "is <root>/slugs/<hex>");
	struct stat a, b;
	char pa[700], pb[700];
	snprintf(pa, sizeof(pa), "%s/lib/a.rb", path);
	snprintf(pb, sizeof(pb), "%s/lib/b.rb", path);
	ok(stat(pa, &a) == 0 && stat(pb, &b) == 0 && a.st_ino == b.st_ino,
	   "the hardlink is a hardlink");
	free(path);
	char first[IMAGE_DIGEST_HEX_LEN + 1];
	memcpy(first, info.digest, sizeof(first));

	is_int(import(s, app, ELEMENTSOF(app), &info, &err), 0, "import it again");
	ok(info.existed && strcmp(info.digest, first) == 0, "a no-op: already stored");

	const struct ent other[] = {{"./app/x.rb", AE_IFREG, "x\n", NULL}};
	is_int(import(s, other, 1, &info, &err), 0, "import a second slug");

	const struct ent evil[] = {
	        {"./app/ok.rb", AE_IFREG, "ok\n", NULL},
	        {"./app/l", AE_IFLNK, "../../../etc", NULL},
	};
	is_int(import(s, evil, ELEMENTSOF(evil), &info, &err), -EPERM,
	       "an escaping symlink is refused");
	ok(strstr(err.msg, "entry \"./app/l\"") && strstr(err.msg, "escapes the slug root"),
	   "the message names the entry and the rule: %s", err.msg);
	const struct ent fifo[] = {{"./app/p", AE_IFIFO, "", NULL}};
	is_int(import(s, fifo, 1, &info, &err), -EPERM, "a FIFO is refused");
	is_int(count_staging(root), 0, "no staging directory is left behind");

	struct image_slug_info *list = NULL;
	size_t n = 0;
	is_int(image_slug_list(s, &list, &n), 0, "list slugs");
	is_int(n, 2, "two stored");
	free(list);

	char *keep[] = {first, NULL};
	unsigned removed = 0;
	is_int(image_slug_gc(s, keep, 3600, &removed), 0, "gc with a grace period of an hour");
	is_int(removed, 0, "removes nothing just imported");
	is_int(image_slug_gc(s, keep, 0, &removed), 0, "gc keeping the first");
	is_int(removed, 1, "removed one");
	is_int(image_slug_list(s, &list, &n), 0, "list again");
	ok(n == 1 && strcmp(list[0].digest, first) == 0, "the kept one remains");
	free(list);
	is_int(count_staging(root), 0, "gc left nothing behind");
	is_int(image_slug_path(s,
	                       "SHA256:"
	                       "1111111111111111111111111111111111111111111111111111111111111111",
	                       &path),
	       -ENOENT, "an unknown digest has no path");

	image_store_free(s);
	rm_rf(root);
	return tap_done();
}
