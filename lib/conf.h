/* conf: configuration files of "option = value" lines, for programs whose
 * options are too many for a command line (smtpfront --config).
 *
 * The format, all of it: one option per line; "name = value" or, for an
 * option without a value, "name" alone; the names are the program's long
 * option names without the "--"; the value is everything after the "="
 * with the white space around it removed, taken literally (no quoting, no
 * escapes, no variables, no shell); a line whose first non-blank
 * character is "#" is a comment, and blank lines are ignored.  An option
 * that may be repeated on the command line may be repeated here.  Lines
 * are at most CONF_MAX_LINE octets; the file at most CONF_MAX_FILE.
 */
#ifndef MXKIT_CONF_H
#define MXKIT_CONF_H

#define CONF_MAX_LINE	4096
#define CONF_MAX_FILE	(1024 * 1024)

/* Called for each option line: name, value (NULL when there was no "="),
 * and the line number.  Return 0 to go on, or non-zero to stop: conf_read
 * then returns that value. */
typedef int conf_fn(void *arg, const char *name, const char *value, int line);

/* Read path.  0 when every line was handed to fn, fn's non-zero return,
 * or -1 with *why (a malloc'd "path:line: what" or "path: why" message
 * the caller frees) for a file that cannot be read or a line that is not
 * an option. */
int conf_read(const char *path, conf_fn *fn, void *arg, char **why);

#endif
