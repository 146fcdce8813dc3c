/* Procfile parser: accepted forms (comments, blank lines, CRLF, colons in commands) and every
 * refusal with its line and column. */
#include <string.h>

#include "images/images.h"
#include "tests/lib/tap.h"

static struct image_procfile *parse_ok(const char *text, const char *name)
{
	struct image_procfile *p = NULL;
	struct image_error err;
	int r = image_procfile_parse(text, strlen(text), &p, &err);
	if (!ok(r == 0, "%s parses", name))
		tap_diag("error: %s", err.msg);
	return r == 0 ? p : NULL;
}

static void parse_bad(const char *text, size_t len, unsigned line, unsigned col, const char *what,
                      const char *name)
{
	struct image_procfile *p = NULL;
	struct image_error err;
	int r = image_procfile_parse(text, len, &p, &err);
	bool good = r == -EINVAL && !p && err.line == line && err.column == col &&
	            strstr(err.msg, what) != NULL;
	if (!ok(good, "%s is refused at %u:%u", name, line, col))
		tap_diag("r=%d line=%u col=%u msg=%s", r, err.line, err.column, err.msg);
	image_procfile_free(p);
}

int main(void)
{
	struct image_procfile *p;

	p = parse_ok("web: bundle exec thin start -p $PORT\nworker: bundle exec sidekiq\n",
	             "two types");
	if (p) {
		is_int(p->n_types, 2, "two types found");
		is_str(p->types[0].name, "web", "first type is web, in file order");
		is_str(image_procfile_command(p, "worker"), "bundle exec sidekiq",
		       "worker's command");
		ok(image_procfile_command(p, "clock") == NULL, "an absent type has no command");
	}
	image_procfile_free(p);

	p = parse_ok("# comment\r\n\r\n   \t\nweb:   ruby app.rb  \r\n  # indented "
	             "comment\nrelease: rake db:migrate",
	             "comments, blank lines, CRLF, no final newline");
	if (p) {
		is_int(p->n_types, 2, "comments and blanks are skipped");
		is_str(image_procfile_command(p, "web"), "ruby app.rb", "spaces and CR trimmed");
		is_str(image_procfile_command(p, "release"), "rake db:migrate",
		       "last line without newline");
	}
	image_procfile_free(p);

	p = parse_ok("a-b_C9: echo x:y: z\n", "colons inside the command");
	if (p)
		is_str(image_procfile_command(p, "a-b_C9"), "echo x:y: z",
		       "only the first colon splits");
	image_procfile_free(p);

	p = parse_ok("", "an empty Procfile");
	if (p)
		is_int(p->n_types, 0, "has no types");
	image_procfile_free(p);

	char longtype[200];
	memset(longtype, 't', 128);
	strcpy(longtype + 128, ": x\n");
	p = parse_ok(longtype, "a 128-character type");
	image_procfile_free(p);
	memset(longtype, 't', 129);
	strcpy(longtype + 129, ": x\n");
	parse_bad(longtype, strlen(longtype), 1, 129, "longer than 128", "a 129-character type");

	const char *dup = "web: a\nworker: b\nweb: c\n";
	parse_bad(dup, strlen(dup), 3, 1,
	          "duplicate process type \"web\" (first defined on line 1)", "a duplicate type");
	const char *bad = "web: a\nwe b: c\n";
	parse_bad(bad, strlen(bad), 2, 3, "invalid character", "a space in the type");
	const char *dot = "\n\nweb.1: a\n";
	parse_bad(dot, strlen(dot), 3, 4, "invalid character", "a dot in the type");
	parse_bad("web:\n", 5, 1, 5, "empty command", "an empty command");
	parse_bad("web:   \t \r\n", 11, 1, 5, "empty command", "a blank command");
	parse_bad(": x\n", 4, 1, 1, "empty process type", "an empty type");
	parse_bad("no colon here\n", 14, 1, 14, "no colon", "a line without a colon");
	parse_bad("web: a\n  worker: b\n", 19, 2, 1, "indented", "an indented entry");
	parse_bad("web: a\0b\n", 9, 1, 7, "NUL byte", "a NUL byte");

	ok(image_process_type_valid("web", 3) && image_process_type_valid("A_z-9", 5) &&
	           !image_process_type_valid("", 0) && !image_process_type_valid("a/b", 3),
	   "process type rule [A-Za-z0-9_-]{1,128}");
	return tap_done();
}
