/* The dyno's environment and command line, as Heroku makes them: PATH, HOME=/app, PORT, DYNO,
 * the config vars, and the command line for `/bin/sh -c` (dyno-init sources .profile.d). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "runtime/launcher-internal.h"

static bool valid_name(const char *kv, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = kv[i];
		if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (i > 0 && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* Replace or append "name=..." in v (n entries). v has room for one more. */
static void put(char **v, size_t *n, char *kv)
{
	size_t len = strcspn(kv, "=");
	for (size_t i = 0; i < *n; i++)
		if (strncmp(v[i], kv, len + 1) == 0) {
			free(v[i]);
			v[i] = kv;
			return;
		}
	v[(*n)++] = kv;
}

int dyno_env_build(const struct dyno_params *p, char ***ret)
{
	size_t n_cfg = 0, n = 0;
	if (p->env)
		while (p->env[n_cfg])
			n_cfg++;
	_cleanup_strv_free_ char **v = calloc(n_cfg + 8, sizeof(char *));
	if (!v)
		return -ENOMEM;

	static const char *const defaults[] = {
		"PATH=/app/bin:/usr/local/bin:/usr/bin:/bin",
		"HOME=/app",
		"LANG=C.UTF-8",
	};
	for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
		char *s = strdup(defaults[i]);
		if (!s)
			return -ENOMEM;
		put(v, &n, s);
	}
	for (size_t i = 0; i < n_cfg; i++) {
		const char *eq = strchr(p->env[i], '=');
		if (!eq || !valid_name(p->env[i], (size_t)(eq - p->env[i])))
			return -EINVAL;
		if (strncmp(p->env[i], "PORT=", 5) == 0 || strncmp(p->env[i], "DYNO=", 5) == 0)
			continue; /* the platform's own */
		char *s = strdup(p->env[i]);
		if (!s)
			return -ENOMEM;
		put(v, &n, s);
	}
	char *s;
	if (p->port) {
		if (asprintf(&s, "PORT=%u", p->port) < 0)
			return -ENOMEM;
		put(v, &n, s);
	}
	if (p->dyno_name) {
		if (asprintf(&s, "DYNO=%s", p->dyno_name) < 0)
			return -ENOMEM;
		put(v, &n, s);
	}
	v[n] = NULL;
	*ret = TAKE_PTR(v);
	return 0;
}

int dyno_command_script(const char *const *argv, char **ret)
{
	size_t len = 1;
	if (!argv || !argv[0])
		return -EINVAL;
	for (size_t i = 0; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	char *s = malloc(len);
	if (!s)
		return -ENOMEM;
	char *p = s;
	*p = 0;
	for (size_t i = 0; argv[i]; i++) {
		if (i > 0)
			*p++ = ' ';
		p = stpcpy(p, argv[i]);
	}
	*ret = s;
	return 0;
}
