/* See imap-fetch.h. Sections (RFC 9051 6.4.5): numbers walk the MIME tree
 * ("1" of a single-part message is its body; a message/rfc822 part is
 * entered to reach its own parts), then HEADER, TEXT, MIME or
 * HEADER.FIELDS[.NOT] name a piece of the part found. */
#include "imap/imap-fetch.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-parser.h"
#include "lib/arena.h"
#include "lib/strbuf.h"
#include "mail/mail-header.h"
#include "mail/mail-mime.h"

#define MAX_ITEMS 64

static bool starts_with(const char *s, const char *prefix, const char **rest_r)
{
	size_t n = strlen(prefix);
	if (strncasecmp(s, prefix, n) != 0)
		return false;
	*rest_r = s + n;
	return true;
}

/* "(From "To" X-Y)" at s: the names. Returns the text after ")" or NULL. */
static const char *parse_field_list(struct arena *arena, const char *s,
				    struct imap_fetch_item *item)
{
	if (*s != '(')
		return NULL;
	s++;
	const char *names[256];
	unsigned n = 0;
	while (*s != ')') {
		if (*s == '\0' || n == sizeof(names) / sizeof(names[0]))
			return NULL;
		if (*s == ' ' && n > 0) {
			s++;
			continue;
		}
		const char *start = s;
		size_t len;
		if (*s == '"') {
			start = ++s;
			while (*s != '"' && *s != '\0')
				s++;
			if (*s != '"')
				return NULL;
			len = (size_t)(s - start);
			s++;
		} else {
			/* RFC 5322 field names: printable, no colon. */
			while (*s > ' ' && *s < 0x7f && *s != ':' && *s != ')' && *s != '(')
				s++;
			len = (size_t)(s - start);
		}
		if (len == 0)
			return NULL;
		names[n++] = arena_strndup(arena, start, len);
	}
	if (n == 0)
		return NULL;
	item->fields = arena_alloc(arena, n * sizeof(*item->fields));
	memcpy(item->fields, names, n * sizeof(*names));
	item->field_count = n;
	return s + 1;
}

/* The section text between the brackets. */
static bool parse_section(struct arena *arena, const char *s, struct imap_fetch_item *item)
{
	while (isdigit((unsigned char)*s)) {
		char *end;
		unsigned long n = strtoul(s, &end, 10);
		if (n == 0 || n > 100000 || item->part_depth == IMAP_SECTION_MAX_DEPTH)
			return false;
		item->part[item->part_depth++] = (unsigned)n;
		s = end;
		if (*s == '\0')
			return true;
		if (*s != '.')
			return false;
		s++;
	}
	const char *rest;
	if (*s == '\0') {
		/* "" is the whole message; "1." is not a section. */
		return item->part_depth == 0;
	}
	if (starts_with(s, "HEADER.FIELDS.NOT ", &rest)) {
		item->text = IMAP_SECTION_HEADER_FIELDS_NOT;
		rest = parse_field_list(arena, rest, item);
		return rest != NULL && *rest == '\0';
	}
	if (starts_with(s, "HEADER.FIELDS ", &rest)) {
		item->text = IMAP_SECTION_HEADER_FIELDS;
		rest = parse_field_list(arena, rest, item);
		return rest != NULL && *rest == '\0';
	}
	if (strcasecmp(s, "HEADER") == 0) {
		item->text = IMAP_SECTION_HEADER;
		return true;
	}
	if (strcasecmp(s, "TEXT") == 0) {
		item->text = IMAP_SECTION_TEXT;
		return true;
	}
	if (strcasecmp(s, "MIME") == 0 && item->part_depth > 0) {
		item->text = IMAP_SECTION_MIME;
		return true;
	}
	return false;
}

/* BODY[...]<o.n>, BODY.PEEK[...], BINARY[...], BINARY.PEEK[...],
 * BINARY.SIZE[...]. */
static bool parse_body_item(struct arena *arena, const char *atom, struct imap_fetch_item *item)
{
	const char *rest, *name;
	if (starts_with(atom, "BODY.PEEK[", &rest)) {
		item->kind = IMAP_FETCH_SECTION;
		item->peek = true;
		name = "BODY";
	} else if (starts_with(atom, "BODY[", &rest)) {
		item->kind = IMAP_FETCH_SECTION;
		name = "BODY";
	} else if (starts_with(atom, "BINARY.PEEK[", &rest)) {
		item->kind = IMAP_FETCH_BINARY;
		item->peek = true;
		name = "BINARY";
	} else if (starts_with(atom, "BINARY.SIZE[", &rest)) {
		item->kind = IMAP_FETCH_BINARY_SIZE;
		item->peek = true;
		name = "BINARY.SIZE";
	} else if (starts_with(atom, "BINARY[", &rest)) {
		item->kind = IMAP_FETCH_BINARY;
		name = "BINARY";
	} else {
		return false;
	}
	const char *close = strchr(rest, ']');
	if (close == NULL)
		return false;
	char *section = arena_strndup(arena, rest, (size_t)(close - rest));
	if (!parse_section(arena, section, item))
		return false;
	/* BINARY takes only part numbers (RFC 3516 4.2). */
	if (item->kind != IMAP_FETCH_SECTION && item->text != IMAP_SECTION_ALL)
		return false;
	const char *after = close + 1;
	if (*after == '<' && item->kind != IMAP_FETCH_BINARY_SIZE) {
		char *end;
		if (!isdigit((unsigned char)after[1]))
			return false;
		item->offset = strtoull(after + 1, &end, 10);
		if (*end != '.' || !isdigit((unsigned char)end[1]))
			return false;
		item->length = strtoull(end + 1, &end, 10);
		if (item->length == 0 || strcmp(end, ">") != 0 || item->offset > UINT32_MAX ||
		    item->length > UINT32_MAX)
			return false;
		item->partial = true;
	} else if (*after != '\0') {
		return false;
	}
	item->response = item->partial ? arena_printf(arena, "%s[%s]<%llu>", name, section,
						      (unsigned long long)item->offset)
				       : arena_printf(arena, "%s[%s]", name, section);
	return true;
}

static const struct {
	const char *name;
	enum imap_fetch_kind kind;
} simple_items[] = {
    {"FLAGS", IMAP_FETCH_FLAGS},
    {"UID", IMAP_FETCH_UID},
    {"INTERNALDATE", IMAP_FETCH_INTERNALDATE},
    {"RFC822.SIZE", IMAP_FETCH_RFC822_SIZE},
    {"ENVELOPE", IMAP_FETCH_ENVELOPE},
    {"BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE},
    {"BODY", IMAP_FETCH_BODY_SHAPE},
    {"MODSEQ", IMAP_FETCH_MODSEQ},
    {"EMAILID", IMAP_FETCH_EMAILID},
    {"THREADID", IMAP_FETCH_THREADID},
    {"SAVEDATE", IMAP_FETCH_SAVEDATE},
};

static bool parse_item(struct arena *arena, const struct imap_arg *arg,
		       struct imap_fetch_item *item)
{
	memset(item, 0, sizeof(*item));
	if (arg->type != IMAP_ARG_ATOM)
		return false;
	for (size_t i = 0; i < sizeof(simple_items) / sizeof(simple_items[0]); i++) {
		if (strcasecmp(arg->str, simple_items[i].name) == 0) {
			item->kind = simple_items[i].kind;
			item->response = simple_items[i].name;
			return true;
		}
	}
	/* RFC822, RFC822.HEADER and RFC822.TEXT are BODY[], BODY.PEEK[HEADER]
	 * and BODY[TEXT] under their own names. */
	item->kind = IMAP_FETCH_SECTION;
	if (strcasecmp(arg->str, "RFC822") == 0) {
		item->response = "RFC822";
		return true;
	}
	if (strcasecmp(arg->str, "RFC822.HEADER") == 0) {
		item->response = "RFC822.HEADER";
		item->text = IMAP_SECTION_HEADER;
		item->peek = true;
		return true;
	}
	if (strcasecmp(arg->str, "RFC822.TEXT") == 0) {
		item->response = "RFC822.TEXT";
		item->text = IMAP_SECTION_TEXT;
		return true;
	}
	return parse_body_item(arena, arg->str, item);
}

static int add_items(struct arena *arena, struct imap_fetch_request *r, const char *const *names,
		     unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct imap_arg arg = {.type = IMAP_ARG_ATOM, .str = names[i]};
		if (!parse_item(arena, &arg, &r->items[r->count++]))
			return -1;
	}
	return 0;
}

static int parse_modifiers(const struct imap_arg *list, struct imap_fetch_request *r,
			   const char **error_r)
{
	for (unsigned i = 0; i < list->count; i++) {
		unsigned long long n;
		if (imap_arg_atom_is(&list->list[i], "CHANGEDSINCE") && i + 1 < list->count &&
		    imap_arg_number(&list->list[i + 1], &n) && n > 0) {
			r->changed_since = n;
			i++;
		} else if (imap_arg_atom_is(&list->list[i], "VANISHED")) {
			r->vanished = true;
		} else {
			*error_r = "Unknown FETCH modifier";
			return -1;
		}
	}
	if (r->vanished && r->changed_since == 0) {
		*error_r = "VANISHED needs CHANGEDSINCE";
		return -1;
	}
	return 0;
}

int imap_fetch_parse(struct arena *arena, const struct imap_arg *args, unsigned count,
		     struct imap_fetch_request *request_r, const char **error_r)
{
	struct imap_fetch_request *r = request_r;
	memset(r, 0, sizeof(*r));
	if (count < 1 || count > 2) {
		*error_r = "FETCH needs a sequence set and data items";
		return -1;
	}
	r->items = arena_zalloc(arena, (MAX_ITEMS + 4) * sizeof(*r->items));
	const struct imap_arg *what = &args[0];
	static const char *const all[] = {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"};
	static const char *const full[] = {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
					   "BODY"};
	*error_r = "Invalid FETCH data item";
	if (imap_arg_atom_is(what, "ALL")) {
		if (add_items(arena, r, all, 4) < 0)
			return -1;
	} else if (imap_arg_atom_is(what, "FAST")) {
		if (add_items(arena, r, all, 3) < 0)
			return -1;
	} else if (imap_arg_atom_is(what, "FULL")) {
		if (add_items(arena, r, full, 5) < 0)
			return -1;
	} else if (what->type == IMAP_ARG_LIST) {
		if (what->count == 0 || what->count > MAX_ITEMS)
			return -1;
		for (unsigned i = 0; i < what->count; i++)
			if (!parse_item(arena, &what->list[i], &r->items[r->count++]))
				return -1;
	} else if (!parse_item(arena, what, &r->items[r->count++])) {
		return -1;
	}
	if (count == 2) {
		if (args[1].type != IMAP_ARG_LIST || parse_modifiers(&args[1], r, error_r) < 0) {
			if (args[1].type != IMAP_ARG_LIST)
				*error_r = "FETCH modifiers must be a list";
			return -1;
		}
	}
	for (unsigned i = 0; i < r->count; i++) {
		switch (r->items[i].kind) {
		case IMAP_FETCH_SECTION:
		case IMAP_FETCH_BINARY:
		case IMAP_FETCH_BINARY_SIZE:
			r->needs_content = true;
			r->needs_structure = true;
			if (!r->items[i].peek)
				r->sets_seen = true;
			break;
		case IMAP_FETCH_ENVELOPE:
		case IMAP_FETCH_BODYSTRUCTURE:
		case IMAP_FETCH_BODY_SHAPE:
		case IMAP_FETCH_RFC822_SIZE:
			r->needs_structure = true;
			break;
		default:
			break;
		}
	}
	return 0;
}

const struct mail_mime_part *imap_fetch_find_part(const struct mail_structure *structure,
						  const struct imap_fetch_item *item)
{
	const struct mail_mime_part *part = structure->root;
	for (unsigned d = 0; d < item->part_depth; d++) {
		if ((part->flags & MAIL_MIME_PART_MESSAGE) && part->children != NULL)
			part = part->children;
		if (part->flags & MAIL_MIME_PART_MULTIPART) {
			const struct mail_mime_part *child = part->children;
			for (unsigned n = 1; child != NULL && n < item->part[d]; n++)
				child = child->next;
			if (child == NULL)
				return NULL;
			part = child;
		} else if (item->part[d] != 1) {
			return NULL;
		}
	}
	if (item->part_depth > 0 &&
	    (item->text == IMAP_SECTION_HEADER || item->text == IMAP_SECTION_TEXT ||
	     item->text == IMAP_SECTION_HEADER_FIELDS ||
	     item->text == IMAP_SECTION_HEADER_FIELDS_NOT)) {
		if (!(part->flags & MAIL_MIME_PART_MESSAGE) || part->children == NULL)
			return NULL;
		part = part->children;
	}
	return part;
}

bool imap_fetch_section_range(const struct mail_structure *structure,
			      const struct imap_fetch_item *item, size_t *start_r, size_t *len_r)
{
	const struct mail_mime_part *part = imap_fetch_find_part(structure, item);
	if (part == NULL)
		return false;
	switch (item->text) {
	case IMAP_SECTION_ALL:
		if (item->part_depth == 0) {
			*start_r = 0;
			*len_r = structure->size;
		} else {
			*start_r = part->body_offset;
			*len_r = part->body_size;
		}
		return true;
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
	case IMAP_SECTION_MIME:
		*start_r = part->offset;
		*len_r = part->header_size;
		return true;
	case IMAP_SECTION_TEXT:
		*start_r = part->body_offset;
		*len_r = part->body_size;
		return true;
	}
	return false;
}

void imap_fetch_filter_header(struct strbuf *out, const char *header, size_t len,
			      const struct imap_fetch_item *item)
{
	struct mail_header_iter iter;
	struct mail_header_field field;
	bool keep_listed = item->text == IMAP_SECTION_HEADER_FIELDS;
	mail_header_iter_init(&iter, header, 0, len, NULL);
	while (mail_header_iter_next(&iter, &field)) {
		bool listed = false;
		for (unsigned i = 0; i < item->field_count && !listed; i++)
			listed = mail_header_field_is(header, &field, item->fields[i]);
		if (listed == keep_listed)
			strbuf_append(out, header + field.offset, field.size);
	}
	const char *error;
	mail_header_iter_deinit(&iter, &error);
	strbuf_append(out, "\r\n", 2);
}
