/* The Procfile: `type: command` per line, `#` comments, blank lines, LF or CRLF. Strict about
 * the type name and duplicates, so a typo fails the deploy with a line and column instead of
 * silently starting nothing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/image-internal.h"

#define PROCFILE_MAX_BYTES (1u << 20)
#define PROCFILE_MAX_COMMAND 65536

bool image_process_type_valid(const char *name, size_t len)
{
	if (len == 0 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

struct image_procfile *image_procfile_free(struct image_procfile *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_types; i++) {
		free(p->types[i].name);
		free(p->types[i].command);
	}
	free(p->types);
	free(p);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_procfile *, image_procfile_free)

const char *image_procfile_command(const struct image_procfile *p, const char *name)
{
	for (size_t i = 0; p && i < p->n_types; i++)
		if (strcmp(p->types[i].name, name) == 0)
			return p->types[i].command;
	return NULL;
}

static int perr(struct image_error *err, unsigned line, unsigned col, const char *fmt, ...)
        _printf_(4, 5);
static int perr(struct image_error *err, unsigned line, unsigned col, const char *fmt, ...)
{
	if (!err)
		return -EINVAL;
	char why[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	err->line = line;
	err->column = col;
	image_errorf(err, "Procfile line %u, column %u: %s", line, col, why);
	return -EINVAL;
}

int image_procfile_parse(const char *buf, size_t len, struct image_procfile **ret,
                         struct image_error *err)
{
	if (err)
		*err = (struct image_error){0};
	if (len > PROCFILE_MAX_BYTES)
		return perr(err, 1, 1, "Procfile is %zu bytes (limit %u)", len, PROCFILE_MAX_BYTES);
	_cleanup_(image_procfile_freep) struct image_procfile *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	unsigned *first_line = NULL;
	size_t pos = 0;
	unsigned lineno = 0;
	int r = 0;
	while (pos < len) {
		lineno++;
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl ? 1 : 0);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		const char *nul = memchr(line, '\0', ll);
		if (nul) {
			r = perr(err, lineno, (unsigned)(nul - line) + 1, "NUL byte");
			goto out;
		}
		size_t i = 0;
		while (i < ll && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == ll || line[i] == '#')
			continue; /* blank or comment */
		if (i > 0) {
			r = perr(err, lineno, 1, "indented line (a process type starts the line)");
			goto out;
		}
		const char *colon = memchr(line, ':', ll);
		if (!colon) {
			r = perr(err, lineno, (unsigned)ll + 1,
			         "expected \"type: command\" (no colon on this line)");
			goto out;
		}
		size_t tl = (size_t)(colon - line);
		if (tl == 0) {
			r = perr(err, lineno, 1, "empty process type before \":\"");
			goto out;
		}
		if (tl > 128) {
			r = perr(err, lineno, 129, "process type longer than 128 characters");
			goto out;
		}
		for (size_t k = 0; k < tl; k++)
			if (!image_process_type_valid(line + k, 1)) {
				r = perr(err, lineno, (unsigned)k + 1,
				         "invalid character in process type (allowed: A-Z a-z 0-9 "
				         "_ -)");
				goto out;
			}
		size_t c = tl + 1;
		while (c < ll && (line[c] == ' ' || line[c] == '\t'))
			c++;
		size_t ce = ll;
		while (ce > c && (line[ce - 1] == ' ' || line[ce - 1] == '\t'))
			ce--;
		if (ce == c) {
			r = perr(err, lineno, (unsigned)tl + 2,
			         "empty command for process type \"%.*s\"", (int)tl, line);
			goto out;
		}
		if (ce - c > PROCFILE_MAX_COMMAND) {
			r = perr(err, lineno, (unsigned)c + 1, "command longer than %u bytes",
			         PROCFILE_MAX_COMMAND);
			goto out;
		}
		for (size_t k = 0; k < p->n_types; k++)
			if (strlen(p->types[k].name) == tl &&
			    memcmp(p->types[k].name, line, tl) == 0) {
				r = perr(err, lineno, 1,
				         "duplicate process type \"%.*s\" (first defined on line "
				         "%u)",
				         (int)tl, line, first_line[k]);
				goto out;
			}
		struct image_process_type *nt = realloc(p->types, (p->n_types + 1) * sizeof(*nt));
		if (!nt) {
			r = -ENOMEM;
			goto out;
		}
		p->types = nt;
		unsigned *nf = realloc(first_line, (p->n_types + 1) * sizeof(*nf));
		if (!nf) {
			r = -ENOMEM;
			goto out;
		}
		first_line = nf;
		char *name = strndup(line, tl);
		char *cmd = strndup(line + c, ce - c);
		if (!name || !cmd) {
			free(name);
			free(cmd);
			r = -ENOMEM;
			goto out;
		}
		first_line[p->n_types] = lineno;
		p->types[p->n_types++] = (struct image_process_type){.name = name, .command = cmd};
	}
	*ret = TAKE_PTR(p);
out:
	free(first_line);
	return r;
}
