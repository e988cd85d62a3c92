/* conf: "option = value" files. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "diag.h"

static char *
trim(char *s, char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

static int
valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

static int
one_line(char *p, char *end, int lineno, conf_fn *fn, void *arg,
    const char **what)
{
	char *line = trim(p, end);
	char *eq, *name, *value = NULL;

	if (*line == '\0' || *line == '#')
		return 0;
	if ((size_t)(end - p) > CONF_MAX_LINE) {
		*what = "line too long";
		return -1;
	}
	eq = strchr(line, '=');
	if (eq) {
		value = trim(eq + 1, eq + 1 + strlen(eq + 1));
		*eq = '\0';
	}
	name = trim(line, line + strlen(line));
	if (!valid_name(name)) {
		*what = "not an option line (expected \"name = value\")";
		return -1;
	}
	return fn(arg, name, value, lineno);
}

int
conf_read(const char *path, conf_fn *fn, void *arg, char **why)
{
	char *buf, *p, *end;
	size_t len;
	int lineno = 0, r = 0;
	const char *what = NULL;

	*why = NULL;
	if (slurp_path_max(path, CONF_MAX_FILE, &buf, &len) < 0) {
		*why = diag_where(path, 0, strerror(errno));
		return -1;
	}
	if (len > CONF_MAX_FILE) {
		free(buf);
		*why = diag_where(path, 0, "file too large");
		return -1;
	}
	if (memchr(buf, '\0', len)) {
		free(buf);
		*why = diag_where(path, 0, "NUL byte in file");
		return -1;
	}
	for (p = buf; p < buf + len && r == 0; p = end + 1) {
		end = memchr(p, '\n', (size_t)(buf + len - p));
		if (!end)
			end = buf + len;
		lineno++;
		r = one_line(p, end, lineno, fn, arg, &what);
	}
	free(buf);
	if (r < 0 && what) {
		*why = diag_where(path, lineno, what);
		return -1;
	}
	return r;
}
