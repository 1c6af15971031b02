/* Structured logging: one line per event, `key=value` pairs, to stderr.
 * Under systemd (JOURNAL_STREAM names our stderr) each line carries the
 * syslog priority prefix journald understands; otherwise a UTC timestamp.
 * Debug lines cost one branch when [Log] debug is off. Never pass secrets. */
#ifndef TEGU_LOG_H
#define TEGU_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

extern bool log_debug_enabled;

void log_init(bool debug);
/* Drops lines below level (tools that print their own results). */
void log_set_min_level(enum log_level level);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_debug_enabled)                                                             \
			log_write(LOG_LEVEL_DEBUG, __VA_ARGS__);                                   \
	} while (0)
#define log_info(...)  log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
