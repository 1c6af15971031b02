/* RFC 5322 address-list parsing for the ENVELOPE (mail-envelope.c) and for
 * anything else that needs the addresses of a header.
 *
 * A hand-written scanner over the raw value, one element (address or
 * group) at a time. Real mail is full of obsolete and broken forms, and a
 * message that was accepted must still be shown, so instead of failing we
 * keep what can be used and put placeholders where nothing can. The
 * choices follow what Dovecot prints, since clients are used to it; where
 * we differ it is on purpose (see mail-address.h).
 */
#include "mail/mail-address.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "mail/mail-header.h"

const char mail_address_missing_mailbox[] = "MISSING_MAILBOX";
const char mail_address_missing_domain[] = "MISSING_DOMAIN";

/* A string being built. Every builder gets the whole input's length as
 * capacity: what is built from a span is never longer than the span
 * (unescaping drops bytes; a separator replaces at least one blank). */
struct addr_build {
	char *p;
	size_t n, cap;
};

struct addr_parser {
	struct arena *arena;
	const char *s;
	size_t len, pos;
	struct mail_address_list *list;
	bool dropped;
	/* The last non-empty comment of the current element, the name of a
	 * bare addr-spec. */
	size_t comment, comment_len;
	struct addr_build name, local, domain, route;
};

static void build_put(struct addr_build *b, char c)
{
	if (b->n < b->cap)
		b->p[b->n++] = c;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return strchr("()<>[]:;@\\,.\"", c) != NULL && c != '\0';
}

static bool is_atom(char c)
{
	return !is_ws(c) && !is_special(c);
}

static bool at_end(const struct addr_parser *p)
{
	return p->pos >= p->len;
}

static char cur(const struct addr_parser *p)
{
	return p->s[p->pos];
}

/* Skips a comment starting at '(' (nesting, quoted-pairs, and a missing
 * ')' at the end of the value are all allowed) and remembers its content
 * if it has any. */
static void skip_comment(struct addr_parser *p)
{
	size_t start = ++p->pos, depth = 1, end;
	bool blank = true;

	while (!at_end(p)) {
		char c = cur(p);
		if (c == '\\' && p->pos + 1 < p->len) {
			p->pos += 2;
			blank = false;
			continue;
		}
		if (c == '(') {
			depth++;
		} else if (c == ')' && --depth == 0) {
			break;
		}
		if (!is_ws(c))
			blank = false;
		p->pos++;
	}
	end = p->pos;
	if (!at_end(p))
		p->pos++; /* the closing ')' */
	if (!blank) {
		p->comment = start;
		p->comment_len = end - start;
	}
}

/* Skips blanks, folds and comments; returns whether anything was skipped. */
static bool skip_cfws(struct addr_parser *p)
{
	size_t start = p->pos;

	while (!at_end(p)) {
		if (is_ws(cur(p)))
			p->pos++;
		else if (cur(p) == '(')
			skip_comment(p);
		else
			break;
	}
	return p->pos != start;
}

/* Reads a quoted-string at '"' into b (and b2 if not NULL), unescaped and
 * unfolded. A missing closing quote ends at the end of the value. */
static void read_quoted(struct addr_parser *p, struct addr_build *b, struct addr_build *b2)
{
	p->pos++;
	while (!at_end(p) && cur(p) != '"') {
		char c = cur(p);
		if (c == '\\' && p->pos + 1 < p->len)
			c = p->s[++p->pos];
		p->pos++;
		if (c == '\r' || c == '\n')
			continue;
		build_put(b, c);
		if (b2 != NULL)
			build_put(b2, c);
	}
	if (!at_end(p))
		p->pos++;
}

static void read_atom(struct addr_parser *p, struct addr_build *b, struct addr_build *b2)
{
	while (!at_end(p) && is_atom(cur(p))) {
		build_put(b, cur(p));
		if (b2 != NULL)
			build_put(b2, cur(p));
		p->pos++;
	}
}

/* Skips what is left of a broken element, up to a separator (not
 * consumed): ',' anywhere, ';' too (it ends a group or, outside one,
 * separates like ','). Quoted strings and comments are skipped whole so
 * that a separator inside them does not count. */
static void skip_garbage(struct addr_parser *p)
{
	while (!at_end(p)) {
		char c = cur(p);
		if (c == ',' || c == ';')
			return;
		if (c == '"') {
			struct addr_build none = {0};
			read_quoted(p, &none, NULL);
		} else if (c == '(') {
			skip_comment(p);
		} else {
			p->pos++;
		}
	}
}

static const char *build_dup(struct addr_parser *p, const struct addr_build *b)
{
	return mail_header_strdup(p->arena, b->p, b->n);
}

static bool add(struct addr_parser *p, const char *name, const char *adl, const char *mailbox,
		const char *host, bool force)
{
	if (p->list->count >= MAIL_ADDRESS_MAX_PER_LIST && !force) {
		p->dropped = true;
		return false;
	}
	struct mail_address *a = arena_zalloc(p->arena, sizeof(*a));
	a->name = name;
	a->adl = adl;
	a->mailbox = mailbox;
	a->host = host;
	if (p->list->last != NULL)
		p->list->last->next = a;
	else
		p->list->first = a;
	p->list->last = a;
	p->list->count++;
	return true;
}

/* The comment as a display name: quoted-pairs unescaped, folds dropped,
 * blanks at the ends trimmed. */
static const char *comment_name(struct addr_parser *p)
{
	struct addr_build *b = &p->route; /* free at this point */
	const char *c = p->s + p->comment;

	if (p->comment_len == 0)
		return NULL;
	b->n = 0;
	for (size_t i = 0; i < p->comment_len; i++) {
		char ch = c[i];
		if (ch == '\\' && i + 1 < p->comment_len)
			ch = c[++i];
		else if (ch == '\r' || ch == '\n')
			continue;
		build_put(b, ch);
	}
	size_t start = 0;
	while (start < b->n && is_ws(b->p[start]))
		start++;
	while (b->n > start && is_ws(b->p[b->n - 1]))
		b->n--;
	return mail_header_strdup(p->arena, b->p + start, b->n - start);
}

/* The domain after '@': dot-atoms with CFWS around the dots (obsolete but
 * seen), or a domain literal kept with its brackets. */
static void read_domain(struct addr_parser *p)
{
	skip_cfws(p);
	if (!at_end(p) && cur(p) == '[') {
		while (!at_end(p)) {
			char c = cur(p);
			p->pos++;
			if (c == '\\' && !at_end(p)) {
				build_put(&p->domain, c);
				c = cur(p);
				p->pos++;
			} else if (c == '\r' || c == '\n') {
				continue;
			}
			build_put(&p->domain, c);
			if (c == ']')
				break;
		}
		skip_cfws(p);
		return;
	}
	while (!at_end(p)) {
		if (is_atom(cur(p)))
			read_atom(p, &p->domain, NULL);
		else if (cur(p) == '.')
			build_put(&p->domain, p->s[p->pos++]);
		else
			break;
		skip_cfws(p);
	}
}

/* A local part: words (atoms or quoted strings) and dots, CFWS allowed
 * between them. Two words with no dot between end it. */
static void read_local(struct addr_parser *p)
{
	bool last_word = false;

	for (;;) {
		skip_cfws(p);
		if (at_end(p))
			return;
		char c = cur(p);
		if (c == '"' || is_atom(c)) {
			if (last_word)
				return;
			if (c == '"')
				read_quoted(p, &p->local, NULL);
			else
				read_atom(p, &p->local, NULL);
			last_word = true;
		} else if (c == '.') {
			build_put(&p->local, c);
			p->pos++;
			last_word = false;
		} else {
			return;
		}
	}
}

static const char *mailbox_or_missing(struct addr_parser *p)
{
	return p->local.n > 0 ? build_dup(p, &p->local) : mail_address_missing_mailbox;
}

static const char *host_or_missing(struct addr_parser *p)
{
	return p->domain.n > 0 ? build_dup(p, &p->domain) : mail_address_missing_domain;
}

/* After '<': [route ":"] addr-spec [">"]. A missing '>' is forgiven. */
static void read_angle(struct addr_parser *p, const char *name)
{
	const char *adl = NULL;

	p->pos++;
	skip_cfws(p);
	p->local.n = p->domain.n = p->route.n = 0;
	if (!at_end(p) && cur(p) == '@') {
		/* A route only if its ':' comes before the '>'. */
		size_t i = p->pos;
		while (i < p->len && p->s[i] != ':' && p->s[i] != '>')
			i++;
		if (i < p->len && p->s[i] == ':') {
			while (p->pos < i) {
				if (cur(p) == '(')
					skip_comment(p);
				else if (is_ws(cur(p)))
					p->pos++;
				else
					build_put(&p->route, p->s[p->pos++]);
			}
			p->pos++;
			adl = build_dup(p, &p->route);
		}
	}
	read_local(p);
	if (!at_end(p) && cur(p) == '@') {
		p->pos++;
		read_domain(p);
	}
	skip_cfws(p);
	if (!at_end(p) && cur(p) == '>')
		p->pos++;
	add(p, name, adl, mailbox_or_missing(p), host_or_missing(p), false);
}

static void parse_element(struct addr_parser *p, bool in_group);

static void read_group(struct addr_parser *p, const char *name)
{
	bool started;

	p->pos++; /* ':' */
	started = add(p, NULL, NULL, name, NULL, false);
	while (!at_end(p)) {
		skip_cfws(p);
		if (at_end(p))
			break;
		if (cur(p) == ';') {
			p->pos++;
			break;
		}
		if (cur(p) == ',') {
			p->pos++;
			continue;
		}
		parse_element(p, true);
	}
	if (started)
		add(p, NULL, NULL, NULL, NULL, true);
}

/* One element: a group, a name-addr, an addr-spec, or garbage. The
 * phrase is read once into two forms: as a display name (words joined by
 * single spaces) and as a local part (words and dots only), since which
 * one it was shows only at the token after it. */
static void parse_element(struct addr_parser *p, bool in_group)
{
	bool ws, adjacent = false, quoted = false, last_word = false;
	unsigned words = 0;

	p->comment_len = 0;
	p->name.n = p->local.n = p->domain.n = 0;
	for (;;) {
		ws = skip_cfws(p);
		if (at_end(p))
			break;
		char c = cur(p);
		if (c == '"' || is_atom(c)) {
			if (ws && p->name.n > 0)
				build_put(&p->name, ' ');
			if (last_word)
				adjacent = true;
			if (c == '"') {
				quoted = true;
				read_quoted(p, &p->name, &p->local);
			} else {
				read_atom(p, &p->name, &p->local);
			}
			words++;
			last_word = true;
		} else if (c == '.') {
			if (ws && p->name.n > 0)
				build_put(&p->name, ' ');
			build_put(&p->name, c);
			build_put(&p->local, c);
			p->pos++;
			last_word = false;
		} else {
			break;
		}
	}

	char c = at_end(p) ? '\0' : cur(p);
	if (c == ':' && !in_group) {
		read_group(p, build_dup(p, &p->name));
		return;
	}
	if (c == '<') {
		const char *name = p->name.n > 0 ? build_dup(p, &p->name) : NULL;
		read_angle(p, name);
	} else if (c == '@' && !adjacent) {
		/* The phrase was the local part of a bare addr-spec. */
		p->pos++;
		read_domain(p);
		const char *mailbox = mailbox_or_missing(p);
		add(p, comment_name(p), NULL, mailbox, host_or_missing(p), false);
	} else if (words > 0 && !adjacent && !quoted) {
		/* A lone word: a local part without its domain. */
		add(p, comment_name(p), NULL, build_dup(p, &p->local), mail_address_missing_domain,
		    false);
	} else {
		const char *name = p->name.n > 0 ? build_dup(p, &p->name) : NULL;
		add(p, name, NULL, mail_address_missing_mailbox, mail_address_missing_domain,
		    false);
	}
	skip_cfws(p);
	skip_garbage(p);
}

int mail_address_parse(struct arena *arena, const char *value, size_t len,
		       struct mail_address_list *list, const char **error_r)
{
	struct addr_parser p = {.arena = arena, .s = value, .len = len, .list = list};

	/* Review: size arithmetic. Four builders of len + 1 bytes each. */
	if (len > SIZE_MAX / 4 - 1)
		abort();
	char *scratch = arena_alloc(arena, 4 * (len + 1));
	struct addr_build *builds[] = {&p.name, &p.local, &p.domain, &p.route};
	for (size_t i = 0; i < 4; i++) {
		builds[i]->p = scratch + i * (len + 1);
		builds[i]->cap = len + 1;
	}

	while (!at_end(&p)) {
		skip_cfws(&p);
		if (at_end(&p))
			break;
		if (cur(&p) == ',' || cur(&p) == ';') {
			p.pos++;
			continue;
		}
		parse_element(&p, false);
	}
	if (p.dropped) {
		*error_r = "too many addresses";
		return -1;
	}
	return 0;
}
