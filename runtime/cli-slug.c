/* `dyno slug`: import a slug into the images store, list, locate and garbage-collect them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/images.h"
#include "runtime/cli.h"
#include "common/parse.h"
#include "runtime/cli-images.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_store *, image_store_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_releases *, image_releases_free)

/* Options shared by the import commands; returns 1 when handled, 0 when not ours, <0 bad. */
int cli_images_limit_opt(int c, const char *arg, struct image_import_opts *o)
{
	uint64_t v;
	if (c < CLI_OPT_MAX_COMPRESSED || c > CLI_OPT_MAX_RATIO)
		return 0;
	if (parse_size(arg, &v) < 0)
		return log_error_errno(EINVAL, "bad limit \"%s\"", arg);
	switch (c) {
	case CLI_OPT_MAX_COMPRESSED:
		o->limits.max_compressed = v;
		break;
	case CLI_OPT_MAX_UNCOMPRESSED:
		o->limits.max_uncompressed = v;
		break;
	case CLI_OPT_MAX_ENTRIES:
		o->limits.max_entries = v;
		break;
	case CLI_OPT_MAX_PATH:
		o->limits.max_path = (uint32_t)(v > UINT32_MAX ? UINT32_MAX : v);
		break;
	case CLI_OPT_MAX_DEPTH:
		o->limits.max_depth = (uint32_t)(v > UINT32_MAX ? UINT32_MAX : v);
		break;
	case CLI_OPT_MAX_RATIO:
		o->limits.max_ratio = (uint32_t)(v > UINT32_MAX ? UINT32_MAX : v);
		break;
	}
	return 1;
}

struct progress {
	int last;
};

static void progress_cb(uint64_t done, uint64_t total, void *userdata)
{
	struct progress *p = userdata;
	int pct = total ? (int)(done * 100 / total) : -1;
	if (total && pct == p->last)
		return;
	if (!total && (done >> 22) == (uint64_t)p->last)
		return;
	p->last = total ? pct : (int)(done >> 22);
	if (total)
		fprintf(stderr, "\rimporting %3d%%  %.1f / %.1f MB", pct, done / 1e6, total / 1e6);
	else
		fprintf(stderr, "\rimporting  %.1f MB", done / 1e6);
}

int cli_images_open_store(const char *root, bool create, struct image_store **ret)
{
	int r = image_store_open(root, create, ret);
	if (r < 0)
		return log_error_errno(r, "open images root \"%s\": %m", root);
	return 0;
}

static void slug_usage(FILE *f)
{
	fprintf(f,
	        "usage: dyno slug import FILE|- [--checksum SHA256:HEX] [--layout heroku|root]\n"
	        "                          [--max-compressed N] [--max-uncompressed N] "
	        "[--max-entries N]\n"
	        "                          [--max-path N] [--max-depth N] [--max-ratio N] "
	        "[--no-sync]\n"
	        "       dyno slug ls\n"
	        "       dyno slug path DIGEST\n"
	        "       dyno slug gc [--state DIR] [--min-age SECONDS]   (default 3600)\n"
	        "common: --root DIR   the images root (default %s)\n"
	        "A slug is a gzipped tar with the app under ./app/ (Heroku's format); --layout "
	        "root takes a\n"
	        "tar of the app directory itself. Import prints the digest; `path` the directory "
	        "to pass\n"
	        "as `dyno exec --slug`.\n",
	        DYNOHOST_STATEDIR);
}

static int slug_import(const char *root, const char *file, struct image_import_opts *o)
{
	_cleanup_(image_store_freep) struct image_store *s = NULL;
	int r = cli_images_open_store(root, true, &s);
	if (r < 0)
		return 1;
	_cleanup_close_ int fd = -1;
	if (strcmp(file, "-") == 0)
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		log_error_errno(errno, "open \"%s\": %m", file);
		return 1;
	}
	struct progress pr = {.last = -1};
	if (isatty(STDERR_FILENO)) {
		o->progress = progress_cb;
		o->userdata = &pr;
	}
	struct image_slug_info info;
	struct image_error err = {0};
	r = image_slug_import_fd(s, fd, o, &info, &err);
	if (o->progress)
		fputc('\n', stderr);
	if (r < 0) {
		if (err.msg[0])
			log_error("slug \"%s\" refused: %s", file, err.msg);
		else
			log_error_errno(r, "import slug \"%s\": %m", file);
		return 1;
	}
	if (info.existed)
		log_info("slug SHA256:%s is already stored", info.digest);
	else
		log_info("imported SHA256:%s: %" PRIu64 " entries, %" PRIu64 " bytes%s",
		         info.digest, info.entries, info.uncompressed_bytes,
		         info.stripped ? " (setuid/setgid/sticky bits stripped)" : "");
	printf("%s\n", info.digest);
	return 0;
}

static int slug_ls(const char *root)
{
	_cleanup_(image_store_freep) struct image_store *s = NULL;
	if (cli_images_open_store(root, false, &s) < 0)
		return 1;
	struct image_slug_info *v = NULL;
	size_t n = 0;
	int r = image_slug_list(s, &v, &n);
	if (r < 0) {
		log_error_errno(r, "list slugs: %m");
		return 1;
	}
	printf("%-64s %12s %12s %8s  %s\n", "DIGEST", "COMPRESSED", "SIZE", "ENTRIES", "IMPORTED");
	for (size_t i = 0; i < n; i++) {
		char when[32] = "-";
		if (v[i].imported) {
			time_t t = (time_t)v[i].imported;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		printf("%-64s %12" PRIu64 " %12" PRIu64 " %8" PRIu64 "  %s\n", v[i].digest,
		       v[i].compressed_bytes, v[i].uncompressed_bytes, v[i].entries, when);
	}
	free(v);
	return 0;
}

static int slug_path(const char *root, const char *digest)
{
	_cleanup_(image_store_freep) struct image_store *s = NULL;
	if (cli_images_open_store(root, false, &s) < 0)
		return 1;
	_cleanup_free_ char *p = NULL;
	int r = image_slug_path(s, digest, &p);
	if (r == -EINVAL) {
		log_error("\"%s\" is not a slug digest (SHA256:<64 hex digits>)", digest);
		return 1;
	}
	if (r < 0) {
		log_error_errno(r, "slug \"%s\": %m", digest);
		return 1;
	}
	printf("%s\n", p);
	return 0;
}

static int slug_gc(const char *root, const char *state, unsigned min_age)
{
	char db[PATH_MAX];
	snprintf(db, sizeof(db), "%s/state.db", state);
	if (access(db, F_OK) == -1) {
		/* Without the release database every slug would look unreferenced. */
		log_error_errno(errno, "release database \"%s\": %m (use --state DIR)", db);
		return 1;
	}
	_cleanup_(image_releases_freep) struct image_releases *rel = NULL;
	int r = image_releases_open(db, &rel);
	if (r < 0) {
		log_error_errno(r, "open \"%s\": %m", db);
		return 1;
	}
	_cleanup_strv_free_ char **keep = NULL;
	r = image_releases_slugs(rel, &keep);
	if (r < 0) {
		log_error_errno(r, "read releases: %m");
		return 1;
	}
	_cleanup_(image_store_freep) struct image_store *s = NULL;
	if (cli_images_open_store(root, false, &s) < 0)
		return 1;
	unsigned removed = 0;
	r = image_slug_gc(s, keep, min_age, &removed);
	if (r < 0) {
		log_error_errno(r, "garbage-collect slugs: %m");
		return 1;
	}
	log_info("removed %u unreferenced slug%s", removed, removed == 1 ? "" : "s");
	return 0;
}

int cli_slug(int argc, char **argv)
{
	if (argc < 2) {
		slug_usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	const char *root = DYNOHOST_STATEDIR, *state = NULL;
	uint64_t min_age = 3600;
	struct image_import_opts o;
	image_import_opts_default(&o);
	static const struct option longopts[] = {
	        {"root", required_argument, NULL, 'r'},
	        {"state", required_argument, NULL, 's'},
	        {"checksum", required_argument, NULL, 'c'},
	        {"layout", required_argument, NULL, 'l'},
	        {"no-sync", no_argument, NULL, 'n'},
	        {"min-age", required_argument, NULL, 'm'},
	        {"help", no_argument, NULL, 'h'},
	        CLI_IMAGES_LIMIT_OPTIONS,
	        {0},
	};
	optind = 0;
	int c;
	while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		int r = cli_images_limit_opt(c, optarg, &o);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'c':
			o.checksum = optarg;
			break;
		case 'n':
			o.no_sync = true;
			break;
		case 'm':
			if (parse_size(optarg, &min_age) < 0 || min_age > UINT32_MAX) {
				log_error("--min-age wants seconds, not \"%s\"", optarg);
				return 2;
			}
			break;
		case 'l':
			if (strcmp(optarg, "heroku") == 0)
				o.layout = IMAGE_LAYOUT_HEROKU;
			else if (strcmp(optarg, "root") == 0)
				o.layout = IMAGE_LAYOUT_ROOT;
			else {
				log_error("--layout is heroku or root, not \"%s\"", optarg);
				return 2;
			}
			break;
		case 'h':
			slug_usage(stdout);
			return 0;
		default:
			slug_usage(stderr);
			return 2;
		}
	}
	char **args = argv + 1 + optind;
	int nargs = argc - 1 - optind;
	if (strcmp(cmd, "import") == 0 && nargs == 1)
		return slug_import(root, args[0], &o);
	if (strcmp(cmd, "ls") == 0 && nargs == 0)
		return slug_ls(root);
	if (strcmp(cmd, "path") == 0 && nargs == 1)
		return slug_path(root, args[0]);
	if (strcmp(cmd, "gc") == 0 && nargs == 0)
		return slug_gc(root, state ? state : DYNOHOST_STATEDIR, (unsigned)min_age);
	if (strcmp(cmd, "help") == 0) {
		slug_usage(stdout);
		return 0;
	}
	slug_usage(stderr);
	return 2;
}
