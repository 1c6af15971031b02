/* See imap-sort.h: SORT criteria, keys and order (RFC 5256, RFC 5957).
 * The base subject works on one normalized copy of the subject and
 * narrows a [begin, end) window over it, so every step only ever cuts
 * a prefix or a suffix: what is left in the middle is the sender's text
 * as decoded, which is why the result is idempotent and stays UTF-8. */
#include "imap/imap-sort.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-parser.h"
#include "lib/arena.h"
#include "lib/strbuf.h"
#include "mail/mail-address.h"
#include "mail/mail-envelope.h"
#include "mail/mail-text.h"

static const struct {
	const char *name;
	enum imap_sort_key key;
} key_names[] = {
    {"ARRIVAL", IMAP_SORT_ARRIVAL},
    {"CC", IMAP_SORT_CC},
    {"DATE", IMAP_SORT_DATE},
    {"FROM", IMAP_SORT_FROM},
    {"SIZE", IMAP_SORT_SIZE},
    {"SUBJECT", IMAP_SORT_SUBJECT},
    {"TO", IMAP_SORT_TO},
    {"DISPLAYFROM", IMAP_SORT_DISPLAYFROM},
    {"DISPLAYTO", IMAP_SORT_DISPLAYTO},
};

int imap_sort_parse(const struct imap_arg *list, struct imap_sort_criterion *criteria,
		    const char **error_r)
{
	if (list->type != IMAP_ARG_LIST || list->count == 0) {
		*error_r = "SORT needs a list of sort criteria";
		return -1;
	}
	int n = 0;
	bool reverse = false;
	for (unsigned i = 0; i < list->count; i++) {
		const struct imap_arg *arg = &list->list[i];
		if (!reverse && imap_arg_atom_is(arg, "REVERSE")) {
			reverse = true;
			continue;
		}
		unsigned k = 0;
		while (k < sizeof(key_names) / sizeof(key_names[0]) &&
		       !imap_arg_atom_is(arg, key_names[k].name))
			k++;
		if (k == sizeof(key_names) / sizeof(key_names[0])) {
			*error_r = "Unknown sort criterion";
			return -1;
		}
		if (n == IMAP_SORT_MAX_CRITERIA) {
			*error_r = "Too many sort criteria";
			return -1;
		}
		criteria[n++] = (struct imap_sort_criterion){key_names[k].key, reverse};
		reverse = false;
	}
	if (reverse) {
		*error_r = "REVERSE needs a sort criterion after it";
		return -1;
	}
	return n;
}

bool imap_sort_needs_envelope(const struct imap_sort_criterion *criteria, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		switch (criteria[i].key) {
		case IMAP_SORT_ARRIVAL:
		case IMAP_SORT_DATE:
		case IMAP_SORT_SIZE:
			break;
		default:
			return true;
		}
	}
	return false;
}

/* ---- base subject (RFC 5256 section 2.1) ---- */

/* subj-blob = "[" *BLOBCHAR "]" *WSP, at s[p]: its length, or 0. */
static size_t blob_len(const char *s, size_t p, size_t end)
{
	if (p >= end || s[p] != '[')
		return 0;
	size_t q = p + 1;
	while (q < end && s[q] != '[' && s[q] != ']' && s[q] != '\0')
		q++;
	if (q >= end || s[q] != ']')
		return 0;
	for (q++; q < end && s[q] == ' '; q++)
		;
	return q - p;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":", at s[p]. */
static size_t refwd_len(const char *s, size_t p, size_t end)
{
	size_t q = p;
	if (end - q >= 2 && strncasecmp(s + q, "re", 2) == 0) {
		q += 2;
	} else if (end - q >= 2 && strncasecmp(s + q, "fw", 2) == 0) {
		q += 2;
		if (q < end && (s[q] == 'd' || s[q] == 'D'))
			q++;
	} else {
		return 0;
	}
	while (q < end && s[q] == ' ')
		q++;
	q += blob_len(s, q, end);
	return q < end && s[q] == ':' ? q + 1 - p : 0;
}

/* Step 2: subj-trailer = "(fwd)" / WSP, as often as it matches. */
static void strip_trailers(const char *s, size_t begin, size_t *end)
{
	for (;;) {
		if (*end > begin && s[*end - 1] == ' ')
			(*end)--;
		else if (*end - begin >= 5 && strncasecmp(s + *end - 5, "(fwd)", 5) == 0)
			*end -= 5;
		else
			return;
	}
}

/* Step 3: subj-leader = (*subj-blob subj-refwd) / WSP. Only blobs
 * followed by a "Re:" go here; a blob alone is step 4's. */
static bool strip_leader(const char *s, size_t *begin, size_t end)
{
	if (*begin < end && s[*begin] == ' ') {
		(*begin)++;
		return true;
	}
	size_t q = *begin, n;
	while ((n = blob_len(s, q, end)) > 0)
		q += n;
	if ((n = refwd_len(s, q, end)) == 0)
		return false;
	*begin = q + n;
	return true;
}

void imap_sort_base_subject(struct strbuf *out, const char *text, size_t len)
{
	/* Step 1 (the decoding is the caller's): tabs, line breaks and runs
	 * of them become one space, squeezed in place in a copy. */
	struct strbuf copy = {0};
	strbuf_append(&copy, len > 0 ? text : "", len);
	char *s = copy.data;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n';
		if (!blank)
			s[n++] = c;
		else if (n == 0 || s[n - 1] != ' ')
			s[n++] = ' ';
	}
	size_t begin = 0, end = n;
	for (;;) {
		strip_trailers(s, begin, &end); /* step 2 */
		bool more = true;
		while (more) { /* steps 3 to 5 */
			more = false;
			while (strip_leader(s, &begin, end))
				more = true;
			/* Step 4: a leading blob goes if something is left. */
			size_t blob = blob_len(s, begin, end);
			if (blob > 0 && begin + blob < end) {
				begin += blob;
				more = true;
			}
		}
		/* Step 6: "[fwd: subject]" unwraps, and all starts over. */
		if (end - begin >= 6 && strncasecmp(s + begin, "[fwd:", 5) == 0 &&
		    s[end - 1] == ']') {
			begin += 5;
			end--;
			continue;
		}
		break;
	}
	strbuf_append(out, s + begin, end - begin);
	strbuf_free(&copy);
}

/* ---- comparison forms ---- */

/* Upper case of a code point of U+0080..U+07FF, for the scripts named in
 * imap-sort.h; every result is in the same range and is its own upper
 * case, which keeps folding idempotent. */
static uint32_t fold_upper(uint32_t c)
{
	if ((c >= 0x00e0 && c <= 0x00fe && c != 0x00f7) || (c >= 0x0430 && c <= 0x044f) ||
	    (c >= 0x03b1 && c <= 0x03c9 && c != 0x03c2))
		return c - 0x20;
	if (c == 0x00ff)
		return 0x0178;
	if (c == 0x03c2) /* final sigma */
		return 0x03a3;
	if (c >= 0x0450 && c <= 0x045f)
		return c - 0x50;
	/* Pairs: upper case at the even code point ... */
	if (((c >= 0x0100 && c <= 0x012f) || (c >= 0x0132 && c <= 0x0137) ||
	     (c >= 0x014a && c <= 0x0177) || (c >= 0x0460 && c <= 0x0481) ||
	     (c >= 0x048a && c <= 0x04bf) || (c >= 0x04d0 && c <= 0x04ff)) &&
	    (c & 1) != 0)
		return c - 1;
	/* ... or at the odd one. */
	if (((c >= 0x0139 && c <= 0x0148) || (c >= 0x0179 && c <= 0x017e) ||
	     (c >= 0x04c1 && c <= 0x04ce)) &&
	    (c & 1) == 0)
		return c - 1;
	return c;
}

void imap_sort_fold(struct strbuf *out, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c >= 'a' && c <= 'z') {
			char up = (char)(c - 'a' + 'A');
			strbuf_append(out, &up, 1);
			i++;
			continue;
		}
		/* Only two-octet sequences hold what fold_upper changes; an
		 * overlong form (C0, C1) or a stray octet is copied as is. */
		if (c >= 0xc2 && c <= 0xdf && i + 1 < len && (s[i + 1] & 0xc0) == 0x80) {
			uint32_t cp = fold_upper(((uint32_t)(c & 0x1f) << 6) | (s[i + 1] & 0x3f));
			char two[2] = {(char)(0xc0 | (cp >> 6)), (char)(0x80 | (cp & 0x3f))};
			strbuf_append(out, two, 2);
			i += 2;
			continue;
		}
		strbuf_append(out, s + i, 1);
		i++;
	}
}

static const char *folded(struct arena *arena, const char *text, size_t len)
{
	struct strbuf sb = {0};
	imap_sort_fold(&sb, text, len);
	const char *copy = arena_strndup(arena, sb.data != NULL ? sb.data : "", sb.len);
	strbuf_free(&sb);
	return copy;
}

const char *imap_sort_subject_key(struct arena *arena, const char *raw)
{
	if (raw == NULL)
		return "";
	struct strbuf decoded = {0}, base = {0};
	mail_text_decode_header(&decoded, raw, strlen(raw));
	imap_sort_base_subject(&base, decoded.data != NULL ? decoded.data : "", decoded.len);
	const char *key = folded(arena, base.data != NULL ? base.data : "", base.len);
	strbuf_free(&decoded);
	strbuf_free(&base);
	return key;
}

/* The first real address of a list: group markers are not addresses. */
static const struct mail_address *first_address(const struct mail_address_list *list)
{
	for (const struct mail_address *a = list->first; a != NULL; a = a->next)
		if (!mail_address_is_group_start(a) && !mail_address_is_group_end(a))
			return a;
	return NULL;
}

/* addr-mailbox under i;ascii-casemap: a-z as A-Z. */
static const char *mailbox_key(struct arena *arena, const struct mail_address_list *list)
{
	const struct mail_address *a = first_address(list);
	if (a == NULL || a->mailbox == NULL)
		return "";
	char *key = arena_strdup(arena, a->mailbox);
	for (char *p = key; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return key;
}

/* RFC 5957: the display name, decoded, or when it is missing or empty
 * the address itself. */
static const char *display_key(struct arena *arena, const struct mail_address_list *list)
{
	const struct mail_address *a = first_address(list);
	if (a == NULL)
		return "";
	struct strbuf name = {0};
	if (a->name != NULL)
		mail_text_decode_header(&name, a->name, strlen(a->name));
	const char *text = name.data != NULL ? name.data : "";
	size_t len = name.len;
	while (len > 0 && (*text == ' ' || *text == '\t')) {
		text++;
		len--;
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	const char *key;
	if (len > 0) {
		key = folded(arena, text, len);
	} else {
		const char *spec =
		    arena_printf(arena, "%s@%s", a->mailbox != NULL ? a->mailbox : "",
				 a->host != NULL ? a->host : "");
		key = folded(arena, spec, strlen(spec));
	}
	strbuf_free(&name);
	return key;
}

void imap_sort_set_keys(struct arena *arena, struct imap_sort_message *m,
			const struct mail_envelope *env, const struct imap_sort_criterion *criteria,
			unsigned count)
{
	static const struct mail_envelope none = {0};
	if (env == NULL)
		env = &none;
	for (unsigned i = 0; i < count; i++) {
		switch (criteria[i].key) {
		case IMAP_SORT_SUBJECT:
			if (m->subject == NULL)
				m->subject = imap_sort_subject_key(arena, env->subject);
			break;
		case IMAP_SORT_FROM:
			if (m->from == NULL)
				m->from = mailbox_key(arena, &env->from);
			break;
		case IMAP_SORT_TO:
			if (m->to == NULL)
				m->to = mailbox_key(arena, &env->to);
			break;
		case IMAP_SORT_CC:
			if (m->cc == NULL)
				m->cc = mailbox_key(arena, &env->cc);
			break;
		case IMAP_SORT_DISPLAYFROM:
			if (m->display_from == NULL)
				m->display_from = display_key(arena, &env->from);
			break;
		case IMAP_SORT_DISPLAYTO:
			if (m->display_to == NULL)
				m->display_to = display_key(arena, &env->to);
			break;
		case IMAP_SORT_ARRIVAL:
		case IMAP_SORT_DATE:
		case IMAP_SORT_SIZE:
			break;
		}
	}
}

/* ---- order ---- */

static int cmp_text(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int cmp_number(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static int compare_one(const struct imap_sort_message *a, const struct imap_sort_message *b,
		       enum imap_sort_key key)
{
	switch (key) {
	case IMAP_SORT_ARRIVAL:
		return cmp_number(a->arrival, b->arrival);
	case IMAP_SORT_DATE:
		return cmp_number(a->date, b->date);
	case IMAP_SORT_SIZE:
		return (a->size > b->size) - (a->size < b->size);
	case IMAP_SORT_SUBJECT:
		return cmp_text(a->subject, b->subject);
	case IMAP_SORT_FROM:
		return cmp_text(a->from, b->from);
	case IMAP_SORT_TO:
		return cmp_text(a->to, b->to);
	case IMAP_SORT_CC:
		return cmp_text(a->cc, b->cc);
	case IMAP_SORT_DISPLAYFROM:
		return cmp_text(a->display_from, b->display_from);
	case IMAP_SORT_DISPLAYTO:
		return cmp_text(a->display_to, b->display_to);
	}
	return 0;
}

int imap_sort_compare(const struct imap_sort_message *a, const struct imap_sort_message *b,
		      const struct imap_sort_criterion *criteria, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		int c = compare_one(a, b, criteria[i].key);
		if (c != 0)
			return criteria[i].reverse ? -c : c;
	}
	return (a->seq > b->seq) - (a->seq < b->seq);
}

struct sort_context {
	const struct imap_sort_criterion *criteria;
	unsigned count;
};

static int compare_qsort(const void *a, const void *b, void *arg)
{
	const struct sort_context *ctx = arg;
	return imap_sort_compare(a, b, ctx->criteria, ctx->count);
}

void imap_sort(struct imap_sort_message *messages, unsigned n,
	       const struct imap_sort_criterion *criteria, unsigned count)
{
	struct sort_context ctx = {criteria, count};
	if (n > 1)
		qsort_r(messages, n, sizeof(*messages), compare_qsort, &ctx);
}
