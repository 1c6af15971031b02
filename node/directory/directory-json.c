/* The directory as a JSON document (the manual's "JSON File User DB"):
 * export of the whole directory and the checked, all-or-nothing import.
 * The format is described in README.md beside this file. */
#include "directory/directory-admin.h"
#include "directory/directory-admin-internal.h"

#include "lib/utf8.h"
#include "lib/arena.h"
#include "lib/db.h"
#include "lib/fiber.h"
#include "lib/offload.h"

#include <crypt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ export */

static json_t *string_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *string_array(const char *const *items, unsigned count)
{
	json_t *array = json_array();
	for (unsigned i = 0; i < count; i++)
		json_array_append_new(array, json_string(items[i]));
	return array;
}

int directory_admin_export(char **json_r, int64_t deadline, const char **error_r)
{
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	struct arena *arena = arena_create(16384);
	struct directory_domain_info *domains = NULL;
	struct directory_user_info *users = NULL;
	struct directory_group_info *groups = NULL;
	struct directory_alias_info *aliases = NULL;
	unsigned domain_count = 0, user_count = 0, group_count = 0, alias_count = 0;
	/* One snapshot: the four reads see the same directory. */
	int ret = db_conn_exec_script(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
				      deadline, error_r);
	if (ret == 0)
		ret = directory_admin_load_domains(conn, arena, &domains, &domain_count, deadline,
						   error_r);
	if (ret == 0)
		ret = directory_admin_load_users(conn, NULL, arena, &users, &user_count, deadline,
						 error_r);
	if (ret == 0)
		ret = directory_admin_load_groups(conn, arena, &groups, &group_count, deadline,
						  error_r);
	if (ret == 0)
		ret = directory_admin_load_aliases(conn, arena, &aliases, &alias_count, deadline,
						   error_r);
	if (ret == 0)
		ret = db_conn_exec_script(conn, "COMMIT", deadline, error_r);
	db_release(&conn);
	if (ret < 0) {
		arena_destroy(&arena);
		return -1;
	}

	json_t *doc = json_object();
	json_object_set_new(doc, "format", json_string("tegu-directory"));
	json_object_set_new(doc, "version", json_integer(1));
	json_t *list = json_array();
	for (unsigned i = 0; i < domain_count; i++) {
		json_t *d = json_object();
		json_object_set_new(d, "name", json_string(domains[i].name));
		json_object_set_new(d, "default_quota_mb",
				    json_integer(domains[i].default_quota_mb));
		json_object_set_new(d, "trash_quota_mb", json_integer(domains[i].trash_quota_mb));
		json_array_append_new(list, d);
	}
	json_object_set_new(doc, "domains", list);
	list = json_array();
	for (unsigned i = 0; i < user_count; i++) {
		const struct directory_user_info *user = &users[i];
		json_t *u = json_object();
		json_object_set_new(u, "address", json_string(user->address));
		json_object_set_new(u, "display_name", json_string(user->display_name));
		json_object_set_new(u, "password_hash", string_or_null(user->password_hash));
		json_object_set_new(u, "quota_mb",
				    user->quota_mb == DIRECTORY_QUOTA_DEFAULT
					? json_null()
					: json_integer(user->quota_mb));
		json_object_set_new(u, "enabled", json_boolean(user->enabled));
		json_object_set_new(u, "addresses",
				    string_array(user->addresses, user->address_count));
		json_array_append_new(list, u);
	}
	json_object_set_new(doc, "users", list);
	list = json_array();
	for (unsigned i = 0; i < group_count; i++) {
		const struct directory_group_info *group = &groups[i];
		json_t *g = json_object();
		json_object_set_new(g, "name", json_string(group->name));
		json_object_set_new(g, "address", string_or_null(group->address));
		json_object_set_new(g, "parent", string_or_null(group->parent));
		json_object_set_new(g, "master", json_boolean(group->master));
		json_object_set_new(g, "members",
				    string_array(group->members, group->member_count));
		json_object_set_new(g, "subgroups",
				    string_array(group->subgroups, group->subgroup_count));
		json_array_append_new(list, g);
	}
	json_object_set_new(doc, "groups", list);
	list = json_array();
	for (unsigned i = 0; i < alias_count; i++) {
		json_t *a = json_object();
		json_object_set_new(a, "address", json_string(aliases[i].address));
		json_object_set_new(a, "targets",
				    string_array(aliases[i].targets, aliases[i].target_count));
		json_array_append_new(list, a);
	}
	json_object_set_new(doc, "aliases", list);
	arena_destroy(&arena);

	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		abort();
	size_t len = strlen(text);
	*json_r = realloc(text, len + 2);
	if (*json_r == NULL)
		abort();
	memcpy(*json_r + len, "\n", 2);
	return 0;
}

/* ------------------------------------------------------------ import */

struct directory_import {
	json_t *doc; /* the canonical document: every key present, addresses lower-cased */
	struct directory_import_counts counts;
};

/* The state of one parse: the canonical document being built, the
 * addresses taken so far (address -> where), and the names seen. */
struct parse {
	json_t *taken;
	json_t *domains;	 /* name -> true */
	json_t *users;		 /* address, primary or alternative -> primary address */
	json_t *groups;		 /* name -> parent name or null */
	json_t *group_addresses; /* address -> name */
	const char **error_r;
};

static int fail(struct parse *p, const char *where, const char *what)
{
	char copy[200];
	snprintf(copy, sizeof(copy), "%s", what);
	*p->error_r = fiber_error_set("%s: %s", where, copy);
	return -1;
}

static int check_keys(struct parse *p, json_t *obj, const char *where, const char *const *allowed)
{
	if (!json_is_object(obj))
		return fail(p, where, "not an object");
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value)
	{
		bool known = false;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(key, *a) == 0;
		if (!known) {
			char what[160];
			snprintf(what, sizeof(what), "unknown key \"%.100s\"", key);
			return fail(p, where, what);
		}
	}
	return 0;
}

/* obj[key] as a string: required (absent fails), or optional (absent or
 * null: *value_r NULL). */
static int get_string(struct parse *p, json_t *obj, const char *key, bool required,
		      const char *where, const char **value_r)
{
	json_t *value = json_object_get(obj, key);
	*value_r = NULL;
	if (value == NULL || (json_is_null(value) && !required)) {
		if (required) {
			char what[80];
			snprintf(what, sizeof(what), "\"%s\" is missing", key);
			return fail(p, where, what);
		}
		return 0;
	}
	if (!json_is_string(value)) {
		char what[80];
		snprintf(what, sizeof(what), "\"%s\" is not a string", key);
		return fail(p, where, what);
	}
	*value_r = json_string_value(value);
	return 0;
}

/* obj[key] as an array of strings (absent: empty). */
static int get_strings(struct parse *p, json_t *obj, const char *key, const char *where,
		       json_t **array_r)
{
	json_t *value = json_object_get(obj, key);
	*array_r = value;
	if (value == NULL)
		return 0;
	char what[80];
	snprintf(what, sizeof(what), "\"%s\" is not an array of strings", key);
	if (!json_is_array(value))
		return fail(p, where, what);
	size_t i;
	json_t *item;
	json_array_foreach(value, i, item)
	{
		if (!json_is_string(item))
			return fail(p, where, what);
	}
	return 0;
}

static int get_quota(struct parse *p, json_t *obj, const char *key, bool nullable,
		     const char *where, json_t **value_r)
{
	json_t *value = json_object_get(obj, key);
	if (value == NULL || json_is_null(value)) {
		*value_r = nullable ? json_null() : json_integer(0);
		return 0;
	}
	if (!json_is_integer(value) || !directory_quota_valid(json_integer_value(value), false)) {
		char what[80];
		snprintf(what, sizeof(what), "\"%s\" is not a quota in MB", key);
		return fail(p, where, what);
	}
	*value_r = json_integer(json_integer_value(value));
	return 0;
}

static int get_bool(struct parse *p, json_t *obj, const char *key, bool fallback, const char *where,
		    json_t **value_r)
{
	json_t *value = json_object_get(obj, key);
	if (value == NULL) {
		*value_r = json_boolean(fallback);
		return 0;
	}
	if (!json_is_boolean(value)) {
		char what[80];
		snprintf(what, sizeof(what), "\"%s\" is not true or false", key);
		return fail(p, where, what);
	}
	*value_r = json_boolean(json_is_true(value));
	return 0;
}

/* Normalizes an address of the document and claims it for kind: it must
 * be free and its domain one of the document's. */
static int claim_address(struct parse *p, const char *input, const char *where, const char *kind,
			 char out[DIRECTORY_MAX_ADDRESS])
{
	const char *error;
	if (directory_address_normalize(input, out, &error) < 0) {
		char what[200];
		snprintf(what, sizeof(what), "%.100s: %s", input, error);
		return fail(p, where, what);
	}
	if (json_object_get(p->domains, directory_address_domain(out)) == NULL) {
		char what[200];
		snprintf(what, sizeof(what), "%s: no domain %s in the document", out,
			 directory_address_domain(out));
		return fail(p, where, what);
	}
	json_t *holder = json_object_get(p->taken, out);
	if (holder != NULL) {
		char what[200];
		snprintf(what, sizeof(what), "address %s is already used by %s", out,
			 json_string_value(holder));
		return fail(p, where, what);
	}
	json_object_set_new(p->taken, out, json_string(kind));
	return 0;
}

static int parse_domains(struct parse *p, json_t *input, json_t *out)
{
	static const char *const keys[] = {"name", "default_quota_mb", "trash_quota_mb", NULL};
	size_t i;
	json_t *item;
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "domains[%zu]", i);
		const char *name, *error;
		json_t *quota, *trash;
		char normalized[DIRECTORY_MAX_DOMAIN];
		if (check_keys(p, item, where, keys) < 0 ||
		    get_string(p, item, "name", true, where, &name) < 0)
			return -1;
		if (directory_domain_normalize(name, normalized, &error) < 0)
			return fail(p, where, error);
		if (json_object_get(p->domains, normalized) != NULL)
			return fail(p, where, "domain listed twice");
		if (get_quota(p, item, "default_quota_mb", false, where, &quota) < 0)
			return -1;
		if (get_quota(p, item, "trash_quota_mb", false, where, &trash) < 0) {
			json_decref(quota);
			return -1;
		}
		json_object_set_new(p->domains, normalized, json_true());
		json_t *d = json_object();
		json_object_set_new(d, "name", json_string(normalized));
		json_object_set_new(d, "default_quota_mb", quota);
		json_object_set_new(d, "trash_quota_mb", trash);
		json_array_append_new(out, d);
	}
	return 0;
}

/* A list of addresses normalized into a new array, duplicates dropped;
 * each claimed for kind when claim. */
static int parse_address_list(struct parse *p, json_t *input, const char *where, const char *kind,
			      bool claim, json_t **out_r)
{
	json_t *out = json_array(), *seen = json_object();
	size_t i;
	json_t *item;
	json_array_foreach(input, i, item)
	{
		char address[DIRECTORY_MAX_ADDRESS];
		const char *error;
		if (claim) {
			if (claim_address(p, json_string_value(item), where, kind, address) < 0)
				goto failed;
		} else if (directory_address_normalize(json_string_value(item), address, &error) <
			   0) {
			char what[200];
			snprintf(what, sizeof(what), "%.100s: %s", json_string_value(item), error);
			fail(p, where, what);
			goto failed;
		}
		directory_json_append_once(out, seen, address);
	}
	json_decref(seen);
	*out_r = out;
	return 0;
failed:
	json_decref(seen);
	json_decref(out);
	return -1;
}

static int parse_users(struct parse *p, json_t *input, json_t *out)
{
	static const char *const keys[] = {
	    "address", "display_name", "password_hash", "quota_mb", "enabled", "addresses", NULL};
	size_t i;
	json_t *item;
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "users[%zu]", i);
		const char *address, *display_name, *hash, *error;
		json_t *alternatives;
		char key[DIRECTORY_MAX_ADDRESS];
		if (check_keys(p, item, where, keys) < 0 ||
		    get_string(p, item, "address", true, where, &address) < 0 ||
		    claim_address(p, address, where, "a user", key) < 0 ||
		    get_string(p, item, "display_name", false, where, &display_name) < 0 ||
		    get_string(p, item, "password_hash", false, where, &hash) < 0 ||
		    get_strings(p, item, "addresses", where, &alternatives) < 0)
			return -1;
		json_object_set_new(p->users, key, json_string(key));
		if (display_name == NULL)
			display_name = "";
		if (directory_display_name_check(display_name, &error) < 0)
			return fail(p, where, error);
		/* A crypt(3) string: printable ASCII without spaces or ':', in
		 * a format libxcrypt knows. */
		if (hash != NULL) {
			bool printable = *hash != '\0' && strlen(hash) < CRYPT_OUTPUT_SIZE;
			for (const char *c = hash; *c; c++)
				printable &= *c > ' ' && *c < 0x7f && *c != ':';
			if (!printable || crypt_checksalt(hash) == CRYPT_SALT_INVALID)
				return fail(p, where, "\"password_hash\" is not a crypt(3) hash");
		}
		json_t *u = json_object(), *value;
		json_object_set_new(u, "address", json_string(key));
		json_object_set_new(u, "display_name", json_string(display_name));
		json_object_set_new(u, "password_hash", string_or_null(hash));
		json_array_append_new(out, u);
		if (get_quota(p, item, "quota_mb", true, where, &value) < 0)
			return -1;
		json_object_set_new(u, "quota_mb", value);
		if (get_bool(p, item, "enabled", true, where, &value) < 0)
			return -1;
		json_object_set_new(u, "enabled", value);
		if (alternatives == NULL)
			value = json_array();
		else if (parse_address_list(p, alternatives, where, "an alternative address", true,
					    &value) < 0)
			return -1;
		json_object_set_new(u, "addresses", value);
		size_t k;
		json_t *alternative;
		json_array_foreach(value, k, alternative)
		{
			json_object_set_new(p->users, json_string_value(alternative),
					    json_string(key));
		}
	}
	return 0;
}

/* A group reference of the document: a name, or an address (lower-cased). */
static int group_ref(struct parse *p, const char *input, const char *where,
		     char out[DIRECTORY_MAX_ADDRESS])
{
	const char *error;
	if (directory_group_key(input, out, &error) < 0) {
		char what[200];
		snprintf(what, sizeof(what), "%.100s: %s", input, error);
		return fail(p, where, what);
	}
	return 0;
}

/* The name of the document's group that input (a name or an address)
 * refers to; what: "parent", "subgroup", for the message. */
static int resolve_group(struct parse *p, const char *input, const char *where, const char *what,
			 const char **name_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (group_ref(p, input, where, key) < 0)
		return -1;
	/* The name as stored as a key of p->groups: it lives as long as p. */
	json_t *by_address = json_object_get(p->group_addresses, key);
	if (json_object_get(p->groups, key) != NULL)
		*name_r = json_object_iter_key(json_object_iter_at(p->groups, key));
	else
		*name_r = by_address != NULL ? json_string_value(by_address) : NULL;
	if (*name_r == NULL) {
		char text[200];
		snprintf(text, sizeof(text), "%s %.100s is not a group of the document", what, key);
		return fail(p, where, text);
	}
	return 0;
}

static int parse_groups(struct parse *p, json_t *input, json_t *out)
{
	static const char *const keys[] = {"name",    "address",   "parent", "master",
					   "members", "subgroups", NULL};
	size_t i;
	json_t *item;
	/* First pass: names and addresses, so members and parents may refer
	 * to any group of the document. */
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "groups[%zu]", i);
		const char *name, *address;
		char key[DIRECTORY_MAX_ADDRESS], address_key[DIRECTORY_MAX_ADDRESS];
		char claimed[DIRECTORY_MAX_ADDRESS];
		json_t *value;
		if (check_keys(p, item, where, keys) < 0 ||
		    get_string(p, item, "name", true, where, &name) < 0 ||
		    get_string(p, item, "address", false, where, &address) < 0 ||
		    group_ref(p, name, where, key) < 0)
			return -1;
		if (json_object_get(p->groups, key) != NULL)
			return fail(p, where, "group listed twice");
		bool named_by_address = strchr(key, '@') != NULL;
		if (address != NULL) {
			const char *error;
			if (directory_address_normalize(address, address_key, &error) < 0)
				return fail(p, where, error);
			if (named_by_address && strcmp(address_key, key) != 0)
				return fail(p, where,
					    "a group named by an address has that address");
		} else if (named_by_address) {
			memcpy(address_key, key, strlen(key) + 1);
		}
		if ((address != NULL || named_by_address) &&
		    claim_address(p, address_key, where, "a group", claimed) < 0)
			return -1;
		json_object_set_new(p->groups, key, json_null());
		if (address != NULL || named_by_address)
			json_object_set_new(p->group_addresses, address_key, json_string(key));
		json_t *g = json_object();
		json_object_set_new(g, "name", json_string(key));
		json_object_set_new(g, "address",
				    address != NULL || named_by_address ? json_string(address_key)
									: json_null());
		json_object_set_new(g, "parent", json_null());
		json_array_append_new(out, g);
		if (get_bool(p, item, "master", false, where, &value) < 0)
			return -1;
		json_object_set_new(g, "master", value);
	}
	/* Second pass: parents, members and subgroups. */
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "groups[%zu]", i);
		json_t *g = json_array_get(out, i), *members, *subgroups, *list, *seen;
		const char *name = json_string_value(json_object_get(g, "name")), *parent, *ref;
		if (get_string(p, item, "parent", false, where, &parent) < 0 ||
		    get_strings(p, item, "members", where, &members) < 0 ||
		    get_strings(p, item, "subgroups", where, &subgroups) < 0)
			return -1;
		if (parent != NULL) {
			if (resolve_group(p, parent, where, "parent", &ref) < 0)
				return -1;
			json_object_set_new(g, "parent", json_string(ref));
			json_object_set_new(p->groups, name, json_string(ref));
		}
		/* Members by any of their addresses, stored by the primary one. */
		json_t *normalized = NULL;
		if (members != NULL &&
		    parse_address_list(p, members, where, NULL, false, &normalized) < 0)
			return -1;
		list = json_array();
		seen = json_object();
		json_object_set_new(g, "members", list);
		size_t k;
		json_t *member;
		json_array_foreach(normalized, k, member)
		{
			json_t *primary = json_object_get(p->users, json_string_value(member));
			if (primary == NULL) {
				char what[200];
				snprintf(what, sizeof(what),
					 "member %.100s is not a user of the document",
					 json_string_value(member));
				json_decref(normalized);
				json_decref(seen);
				return fail(p, where, what);
			}
			directory_json_append_once(list, seen, json_string_value(primary));
		}
		json_decref(normalized);
		json_decref(seen);
		list = json_array();
		seen = json_object();
		json_object_set_new(g, "subgroups", list);
		json_t *sub;
		json_array_foreach(subgroups, k, sub)
		{
			if (resolve_group(p, json_string_value(sub), where, "subgroup", &ref) < 0) {
				json_decref(seen);
				return -1;
			}
			if (strcmp(ref, name) == 0) {
				json_decref(seen);
				return fail(p, where, "a group cannot be a member of itself");
			}
			directory_json_append_once(list, seen, ref);
		}
		json_decref(seen);
	}
	/* The hierarchy must be a forest: following parents from any group
	 * ends at the top within as many steps as there are groups. */
	size_t total = json_array_size(out);
	json_array_foreach(out, i, item)
	{
		json_t *parent = json_object_get(item, "parent");
		for (size_t steps = 0; json_is_string(parent); steps++) {
			if (steps >= total) {
				char where[40];
				snprintf(where, sizeof(where), "groups[%zu]", i);
				return fail(p, where, "the parents form a cycle");
			}
			parent = json_object_get(p->groups, json_string_value(parent));
		}
	}
	return 0;
}

static int parse_aliases(struct parse *p, json_t *input, json_t *out)
{
	static const char *const keys[] = {"address", "targets", NULL};
	size_t i;
	json_t *item;
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "aliases[%zu]", i);
		const char *address;
		json_t *targets, *normalized;
		char key[DIRECTORY_MAX_ADDRESS];
		if (check_keys(p, item, where, keys) < 0 ||
		    get_string(p, item, "address", true, where, &address) < 0 ||
		    claim_address(p, address, where, "an alias", key) < 0 ||
		    get_strings(p, item, "targets", where, &targets) < 0)
			return -1;
		if (targets == NULL || json_array_size(targets) == 0 ||
		    json_array_size(targets) > DIRECTORY_MAX_TARGETS)
			return fail(p, where, "an alias has 1 to 1000 targets");
		if (parse_address_list(p, targets, where, NULL, false, &normalized) < 0)
			return -1;
		size_t k;
		json_t *target;
		json_array_foreach(normalized, k, target)
		{
			if (strcmp(json_string_value(target), key) == 0) {
				json_decref(normalized);
				return fail(p, where, "an alias cannot be its own target");
			}
		}
		json_t *a = json_object();
		json_object_set_new(a, "address", json_string(key));
		json_object_set_new(a, "targets", normalized);
		json_array_append_new(out, a);
	}
	return 0;
}

/* input[key]: an array (absent: empty). */
static int get_section(struct parse *p, json_t *input, const char *key, json_t **section_r)
{
	json_t *section = json_object_get(input, key);
	if (section != NULL && !json_is_array(section))
		return fail(p, key, "not an array");
	*section_r = section != NULL ? section : json_array();
	if (section != NULL)
		json_incref(section);
	return 0;
}

int directory_import_parse(const char *text, size_t len, struct directory_import **import_r,
			   const char **error_r)
{
	*import_r = NULL;
	json_error_t jerror;
	json_t *input = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerror);
	if (input == NULL) {
		*error_r = fiber_error_set("not JSON: line %d column %d: %s", jerror.line,
					   jerror.column, jerror.text);
		return -1;
	}
	struct parse p = {
	    .taken = json_object(),
	    .domains = json_object(),
	    .users = json_object(),
	    .groups = json_object(),
	    .group_addresses = json_object(),
	    .error_r = error_r,
	};
	static const char *const keys[] = {"format", "version", "domains", "users",
					   "groups", "aliases", NULL};
	json_t *doc = json_object(), *sections[4] = {NULL, NULL, NULL, NULL};
	static const char *const names[] = {"domains", "users", "groups", "aliases"};
	int (*const parsers[])(struct parse *, json_t *, json_t *) = {parse_domains, parse_users,
								      parse_groups, parse_aliases};
	json_t *format = json_object_get(input, "format");
	json_t *version = json_object_get(input, "version");
	int ret = check_keys(&p, input, "document", keys);
	if (ret == 0 && format != NULL &&
	    (!json_is_string(format) || strcmp(json_string_value(format), "tegu-directory") != 0))
		ret = fail(&p, "format", "not \"tegu-directory\"");
	if (ret == 0 && (!json_is_integer(version) || json_integer_value(version) != 1))
		ret = fail(&p, "version", "missing or not 1 (the only version this Tegu reads)");
	for (unsigned s = 0; ret == 0 && s < 4; s++) {
		ret = get_section(&p, input, names[s], &sections[s]);
		if (ret == 0) {
			json_t *out = json_array();
			json_object_set_new(doc, names[s], out);
			ret = parsers[s](&p, sections[s], out);
		}
	}
	for (unsigned s = 0; s < 4; s++)
		json_decref(sections[s]);
	json_decref(input);
	json_decref(p.taken);
	json_decref(p.domains);
	json_decref(p.users);
	json_decref(p.groups);
	json_decref(p.group_addresses);
	if (ret < 0) {
		json_decref(doc);
		return -1;
	}
	struct directory_import *import = calloc(1, sizeof(*import));
	if (import == NULL)
		abort();
	import->doc = doc;
	import->counts.domains = (unsigned)json_array_size(json_object_get(doc, "domains"));
	import->counts.users = (unsigned)json_array_size(json_object_get(doc, "users"));
	import->counts.groups = (unsigned)json_array_size(json_object_get(doc, "groups"));
	import->counts.aliases = (unsigned)json_array_size(json_object_get(doc, "aliases"));
	*import_r = import;
	return 0;
}

void directory_import_counts(const struct directory_import *import,
			     struct directory_import_counts *counts_r)
{
	*counts_r = import->counts;
}

void directory_import_free(struct directory_import **import)
{
	if (*import == NULL)
		return;
	json_decref((*import)->doc);
	free(*import);
	*import = NULL;
}

/* The import, $1 being the canonical document. First everything that
 * goes or changes hands is removed (aliases and users not in the
 * document, every alternative address and membership, groups not in the
 * document, group addresses that change), so no address is held twice
 * on the way; then domains, users, alternative addresses, groups,
 * parents, memberships and aliases are upserted. Upserts by natural key
 * (address, name) keep existing rows and their ids, and skip rows that
 * would not change. */
static const struct tx_stmt import_stmts[] = {
    {"LOCK TABLE domains, users, user_addresses, groups, group_members, aliases,"
     " directory_addresses IN SHARE ROW EXCLUSIVE MODE",
     0},
    {"DELETE FROM aliases WHERE address NOT IN"
     " (SELECT e->>'address' FROM jsonb_array_elements($1::jsonb->'aliases') AS e)",
     1},
    {"DELETE FROM user_addresses", 0},
    {"DELETE FROM group_members", 0},
    {"DELETE FROM groups WHERE name NOT IN"
     " (SELECT e->>'name' FROM jsonb_array_elements($1::jsonb->'groups') AS e)",
     1},
    {"UPDATE groups g SET address = NULL"
     " FROM jsonb_to_recordset($1::jsonb->'groups') AS d (name text, address text)"
     " WHERE g.name = d.name AND g.address IS NOT NULL AND g.address IS DISTINCT FROM d.address",
     1},
    {"DELETE FROM users WHERE address NOT IN"
     " (SELECT e->>'address' FROM jsonb_array_elements($1::jsonb->'users') AS e)",
     1},
    {"DELETE FROM domains WHERE name NOT IN"
     " (SELECT e->>'name' FROM jsonb_array_elements($1::jsonb->'domains') AS e)",
     1},
    {"INSERT INTO domains (name, default_quota_mb, trash_quota_mb)"
     " SELECT name, default_quota_mb, trash_quota_mb FROM jsonb_to_recordset($1::jsonb->'domains')"
     "  AS d (name text, default_quota_mb bigint, trash_quota_mb bigint)"
     " ON CONFLICT (name) DO UPDATE SET default_quota_mb = EXCLUDED.default_quota_mb,"
     "  trash_quota_mb = EXCLUDED.trash_quota_mb"
     " WHERE (domains.default_quota_mb, domains.trash_quota_mb)"
     "  IS DISTINCT FROM (EXCLUDED.default_quota_mb, EXCLUDED.trash_quota_mb)",
     1},
    {"INSERT INTO users (local_part, domain, password_hash, display_name, quota_mb, enabled)"
     " SELECT split_part(address, '@', 1), split_part(address, '@', 2), password_hash,"
     "  display_name, quota_mb, enabled FROM jsonb_to_recordset($1::jsonb->'users')"
     "  AS d (address text, password_hash text, display_name text, quota_mb bigint,"
     "   enabled boolean)"
     " ON CONFLICT (address) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
     "  display_name = EXCLUDED.display_name, quota_mb = EXCLUDED.quota_mb,"
     "  enabled = EXCLUDED.enabled"
     " WHERE (users.password_hash, users.display_name, users.quota_mb, users.enabled)"
     "  IS DISTINCT FROM (EXCLUDED.password_hash, EXCLUDED.display_name, EXCLUDED.quota_mb,"
     "   EXCLUDED.enabled)",
     1},
    {"INSERT INTO user_addresses (address, user_id)"
     " SELECT a.address, u.id FROM jsonb_to_recordset($1::jsonb->'users')"
     "  AS d (address text, addresses jsonb)"
     " JOIN users u ON u.address = d.address"
     " CROSS JOIN LATERAL jsonb_array_elements_text(d.addresses) AS a (address)",
     1},
    {"INSERT INTO groups (name, address, master)"
     " SELECT name, address, master FROM jsonb_to_recordset($1::jsonb->'groups')"
     "  AS d (name text, address text, master boolean)"
     " ON CONFLICT (name) DO UPDATE SET address = EXCLUDED.address, master = EXCLUDED.master"
     " WHERE (groups.address, groups.master) IS DISTINCT FROM (EXCLUDED.address, EXCLUDED.master)",
     1},
    {"UPDATE groups g SET parent_id = p.id"
     " FROM jsonb_to_recordset($1::jsonb->'groups') AS d (name text, parent text)"
     " LEFT JOIN groups p ON p.name = d.parent"
     " WHERE g.name = d.name AND g.parent_id IS DISTINCT FROM p.id",
     1},
    {"INSERT INTO group_members (group_id, user_id)"
     " SELECT g.id, u.id FROM jsonb_to_recordset($1::jsonb->'groups')"
     "  AS d (name text, members jsonb)"
     " JOIN groups g ON g.name = d.name"
     " CROSS JOIN LATERAL jsonb_array_elements_text(d.members) AS m (address)"
     " JOIN users u ON u.address = m.address",
     1},
    {"INSERT INTO group_members (group_id, member_group_id)"
     " SELECT g.id, s.id FROM jsonb_to_recordset($1::jsonb->'groups')"
     "  AS d (name text, subgroups jsonb)"
     " JOIN groups g ON g.name = d.name"
     " CROSS JOIN LATERAL jsonb_array_elements_text(d.subgroups) AS m (name)"
     " JOIN groups s ON s.name = m.name",
     1},
    {"INSERT INTO aliases (address, targets)"
     " SELECT d.address, ARRAY(SELECT t FROM jsonb_array_elements_text(d.targets)"
     "  WITH ORDINALITY AS e (t, n) ORDER BY n)"
     " FROM jsonb_to_recordset($1::jsonb->'aliases') AS d (address text, targets jsonb)"
     " ON CONFLICT (address) DO UPDATE SET targets = EXCLUDED.targets"
     " WHERE aliases.targets IS DISTINCT FROM EXCLUDED.targets",
     1},
};

int directory_admin_import(const struct directory_import *import, int64_t deadline,
			   const char **error_r)
{
	char *text = json_dumps(import->doc, JSON_COMPACT);
	if (text == NULL)
		abort();
	const char *params[] = {text};
	char sqlstate[6];
	int ret = directory_admin_transaction(import_stmts,
					      sizeof(import_stmts) / sizeof(import_stmts[0]),
					      params, sqlstate, deadline, error_r);
	/* The document holds password hashes. */
	explicit_bzero(text, strlen(text));
	free(text);
	return ret;
}
