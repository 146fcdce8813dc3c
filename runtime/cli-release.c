/* `dyno release`: the immutable release history of an app (create, ls, show, rollback). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/log.h"
#include "images/images.h"
#include "runtime/cli.h"
#include "common/parse.h"
#include "runtime/cli-images.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_releases *, image_releases_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_procfile *, image_procfile_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_release *, image_release_free)

static void release_usage(FILE *f)
{
	fprintf(f,
	        "usage: dyno release create APP --slug DIGEST [--stack NAME] [--procfile FILE]\n"
	        "                           [--env KEY=VALUE]... [--description TEXT]\n"
	        "       (the slug and stack must be in the images store; process types come from\n"
	        "       the slug's own Procfile unless --procfile names another)\n"
	        "       dyno release ls APP\n"
	        "       dyno release show APP [vN]\n"
	        "       dyno release rollback APP vN\n"
	        "common: --state DIR   where state.db lives (default %s)\n"
	        "        --root DIR    the images root (default %s)\n",
	        DYNOHOST_STATEDIR, DYNOHOST_STATEDIR);
}

static int open_db(const char *state, struct image_releases **ret)
{
	int r = mkdir_p(state, 0755);
	if (r < 0)
		return log_error_errno(r, "create \"%s\": %m", state);
	char db[PATH_MAX];
	snprintf(db, sizeof(db), "%s/state.db", state);
	r = image_releases_open(db, ret);
	if (r < 0)
		return log_error_errno(r, "open \"%s\": %m", db);
	return 0;
}

static int parse_version(const char *s, unsigned *ret)
{
	if (s[0] == 'v' || s[0] == 'V')
		s++;
	uint64_t v;
	int r = parse_uint64(s, 1, UINT_MAX, &v);
	if (r < 0)
		return r;
	*ret = (unsigned)v;
	return 0;
}

static void print_release(const struct image_release *r, bool full)
{
	char when[32];
	time_t t = (time_t)r->created;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("v%-5u %s  slug %.12s  stack %s  %s\n", r->version, when, r->slug, r->stack,
	       r->description);
	if (!full)
		return;
	printf("slug: SHA256:%s\n", r->slug);
	for (size_t i = 0; i < r->n_types; i++)
		printf("process %s: %s\n", r->types[i].name, r->types[i].command);
	for (size_t i = 0; i < r->n_config; i++)
		printf("config %s=%s\n", r->config[i].key, r->config[i].value);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_store *, image_store_free)

struct create_args {
	const char *root, *slug, *stack, *procfile, *description;
	char **env;
	size_t n_env;
};

static int release_create(const char *state, const char *app, struct create_args *a)
{
	if (!a->slug) {
		log_error("--slug DIGEST is required");
		return 2;
	}
	struct image_release rel = {
	        .app = (char *)app,
	        .stack = (char *)(a->stack ? a->stack : IMAGE_STACK_HOST),
	        .description = (char *)(a->description ? a->description : "Deploy"),
	};
	if (image_digest_parse(a->slug, rel.slug) < 0) {
		log_error("\"%s\" is not a slug digest", a->slug);
		return 2;
	}
	/* Release only what the store holds, so a dyno can always start from a release. */
	_cleanup_(image_store_freep) struct image_store *s = NULL;
	if (cli_images_open_store(a->root, false, &s) < 0)
		return 1;
	_cleanup_free_ char *slug_dir = NULL, *stack_dir = NULL;
	int r = image_slug_path(s, rel.slug, &slug_dir);
	if (r < 0) {
		log_error_errno(r, "slug SHA256:%s is not in the store at \"%s\": %m", rel.slug,
		                a->root);
		return 1;
	}
	r = image_stack_path(s, rel.stack, &stack_dir);
	if (r < 0) {
		log_error_errno(r, "stack \"%s\" is not in the store at \"%s\": %m", rel.stack,
		                a->root);
		return 1;
	}
	_cleanup_free_ char *slug_procfile = NULL;
	const char *procfile = a->procfile;
	if (!procfile) {
		if (asprintf(&slug_procfile, "%s/Procfile", slug_dir) < 0)
			return 1;
		if (access(slug_procfile, F_OK) == 0)
			procfile = slug_procfile;
	}
	_cleanup_(image_procfile_freep) struct image_procfile *pf = NULL;
	if (procfile) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		r = read_file_at(AT_FDCWD, procfile, 1 << 20, &buf, &len);
		if (r < 0) {
			log_error_errno(r, "read \"%s\": %m", procfile);
			return 1;
		}
		struct image_error err;
		r = image_procfile_parse(buf, len, &pf, &err);
		if (r < 0) {
			log_error("%s: %s", procfile, err.msg[0] ? err.msg : strerror(-r));
			return 1;
		}
		rel.types = pf->types;
		rel.n_types = pf->n_types;
	}
	_cleanup_free_ struct image_config_var *cfg = calloc(a->n_env + 1, sizeof(*cfg));
	if (!cfg)
		return log_error_errno(ENOMEM, "out of memory"), 1;
	for (size_t i = 0; i < a->n_env; i++) {
		char *eq = strchr(a->env[i], '=');
		if (!eq) {
			log_error("--env wants KEY=VALUE, not \"%s\"", a->env[i]);
			return 2;
		}
		*eq = '\0';
		cfg[i] = (struct image_config_var){a->env[i], eq + 1};
	}
	rel.config = cfg;
	rel.n_config = a->n_env;
	_cleanup_(image_releases_freep) struct image_releases *db = NULL;
	if (open_db(state, &db) < 0)
		return 1;
	unsigned v;
	r = image_release_create(db, &rel, &v);
	if (r < 0) {
		log_error_errno(r, "create release of \"%s\": %m", app);
		return 1;
	}
	printf("v%u\n", v);
	return 0;
}

int cli_release(int argc, char **argv)
{
	if (argc < 2) {
		release_usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	const char *state = DYNOHOST_STATEDIR;
	struct create_args ca = {.root = DYNOHOST_STATEDIR};
	_cleanup_free_ char **env = calloc((size_t)argc + 1, sizeof(char *));
	if (!env)
		return 1;
	ca.env = env;
	static const struct option longopts[] = {
	        {"state", required_argument, NULL, 's'},
	        {"root", required_argument, NULL, 'r'},
	        {"slug", required_argument, NULL, 'S'},
	        {"stack", required_argument, NULL, 'k'},
	        {"procfile", required_argument, NULL, 'p'},
	        {"env", required_argument, NULL, 'e'},
	        {"description", required_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	optind = 0;
	int c;
	while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			state = optarg;
			break;
		case 'r':
			ca.root = optarg;
			break;
		case 'S':
			ca.slug = optarg;
			break;
		case 'k':
			ca.stack = optarg;
			break;
		case 'p':
			ca.procfile = optarg;
			break;
		case 'e':
			env[ca.n_env++] = optarg;
			break;
		case 'd':
			ca.description = optarg;
			break;
		case 'h':
			release_usage(stdout);
			return 0;
		default:
			release_usage(stderr);
			return 2;
		}
	}
	char **args = argv + 1 + optind;
	int nargs = argc - 1 - optind;
	if (strcmp(cmd, "create") == 0 && nargs == 1)
		return release_create(state, args[0], &ca);
	_cleanup_(image_releases_freep) struct image_releases *db = NULL;
	if ((strcmp(cmd, "ls") == 0 && nargs == 1) ||
	    (strcmp(cmd, "show") == 0 && nargs >= 1 && nargs <= 2) ||
	    (strcmp(cmd, "rollback") == 0 && nargs == 2)) {
		if (open_db(state, &db) < 0)
			return 1;
	} else {
		release_usage(stderr);
		return 2;
	}
	unsigned v = 0;
	if (nargs == 2 && parse_version(args[1], &v) < 0) {
		log_error("\"%s\" is not a release version (vN)", args[1]);
		return 2;
	}
	if (strcmp(cmd, "ls") == 0) {
		struct image_release **list = NULL;
		size_t n = 0;
		int r = image_release_list(db, args[0], &list, &n);
		if (r < 0) {
			log_error_errno(r, "list releases of \"%s\": %m", args[0]);
			return 1;
		}
		for (size_t i = n; i-- > 0;) {
			print_release(list[i], false);
			image_release_free(list[i]);
		}
		free(list);
		return 0;
	}
	if (strcmp(cmd, "show") == 0) {
		_cleanup_(image_release_freep) struct image_release *r = NULL;
		int e = image_release_get(db, args[0], v, &r);
		if (e < 0) {
			log_error_errno(e, "release %s of \"%s\": %m",
			                nargs == 2 ? args[1] : "latest", args[0]);
			return 1;
		}
		print_release(r, true);
		return 0;
	}
	unsigned nv;
	int r = image_release_rollback(db, args[0], v, &nv);
	if (r < 0) {
		log_error_errno(r, "roll \"%s\" back to v%u: %m", args[0], v);
		return 1;
	}
	printf("v%u\n", nv);
	return 0;
}
