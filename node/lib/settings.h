/* Cluster-wide settings: one table in settings.c lists each setting once
 * (name, type, default, limits, the manual's label, help in Russian and
 * English, whether a restart is needed). Values live in the database table
 * `settings` (name, value); tegu.conf [settings] may override any of them
 * for one node. Everything that shows, validates or edits a setting is
 * driven from the table.
 */
#ifndef TEGU_SETTINGS_H
#define TEGU_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

enum setting_type {
	SETTING_BOOL,	/* "true"/"false" (also accepts on/off, yes/no, 1/0 on input) */
	SETTING_INT,	/* decimal integer within [min, max] */
	SETTING_STRING, /* one line */
	SETTING_LIST,	/* one entry per line; stored with '\n' separators */
};

struct setting_def {
	const char *name; /* key used by teguctl, the API and tegu.conf, e.g. "smtpPort" */
	enum setting_type type;
	const char *default_value;
	int64_t min, max;   /* for SETTING_INT */
	const char *label;  /* the manual's label, e.g. "Port SMTP server listen on" */
	const char *manual; /* the manual's section, e.g. "6.2.1.5" */
	const char *help_ru;
	const char *help_en;
	bool restart; /* takes effect only after a node restart */
};

extern const struct setting_def settings_table[];
extern const unsigned settings_count;

/* Looks a setting up by name (exact). NULL when unknown. */
const struct setting_def *settings_find(const char *name);

/* Checks and normalises a value for a setting: booleans become
 * "true"/"false", integers are range-checked, strings must be one line,
 * lists get one entry per line with blank lines and surrounding spaces
 * removed. Returns 0 with a malloc'd *normalized_r, or -1 with *error_r
 * (a static or thread-local message). */
int settings_normalize(const struct setting_def *def, const char *value, char **normalized_r,
		       const char **error_r);

/* The current values a node runs with: defaults, replaced by database rows,
 * replaced by tegu.conf overrides. Thread-safe; readers never block writers
 * for long. */
struct settings_values;
struct settings_values *settings_values_create(void);
void settings_values_destroy(struct settings_values **values);
/* Sets one value from a source (already normalised or not: it is
 * normalised here; invalid values are ignored with -1). */
int settings_values_set(struct settings_values *values, const char *name, const char *value,
			const char **error_r);
/* Resets every value that is not overridden to its default. */
void settings_values_reset(struct settings_values *values);
/* Marks a name as overridden by tegu.conf: later database values for it
 * are ignored. */
int settings_values_override(struct settings_values *values, const char *name, const char *value,
			     const char **error_r);
bool settings_values_is_overridden(struct settings_values *values, const char *name);
/* Typed reads. For unknown names these abort (a programming error). */
bool settings_get_bool(struct settings_values *values, const char *name);
int64_t settings_get_int(struct settings_values *values, const char *name);
/* Copies the value into buf (truncated to size, always terminated) and
 * returns buf. */
char *settings_get_string(struct settings_values *values, const char *name, char *buf,
			  unsigned size);

#endif
