/* See log.h. Each line is built in a stack buffer and written with one
 * write(2) so lines from several worker threads never interleave. */
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool log_debug_enabled;
static bool log_to_journal;
static enum log_level min_level = LOG_LEVEL_DEBUG;

void log_set_min_level(enum log_level level)
{
	min_level = level;
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* syslog priorities: debug 7, info 6, warning 4, err 3 */
static const char level_priority[] = {'7', '6', '4', '3'};

void log_init(bool debug)
{
	log_debug_enabled = debug;
	const char *stream = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long dev, ino;
	if (stream && sscanf(stream, "%lu:%lu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
		log_to_journal = st.st_dev == dev && st.st_ino == ino;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	int len;
	if (level < min_level)
		return;
	if (log_to_journal) {
		len = snprintf(line, sizeof(line), "<%c>level=%s ", level_priority[level],
			       level_names[level]);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		len = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
			       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			       tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
	}
	va_list ap;
	va_start(ap, fmt);
	int body = vsnprintf(line + len, sizeof(line) - (size_t)len - 1, fmt, ap);
	va_end(ap);
	if (body < 0)
		body = 0;
	len += body;
	if ((size_t)len > sizeof(line) - 2)
		len = sizeof(line) - 2; /* truncated: still one line */
	/* A newline inside a value would forge a second log line. */
	for (int i = 0; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	ssize_t unused = write(STDERR_FILENO, line, (size_t)len);
	(void)unused;
}
