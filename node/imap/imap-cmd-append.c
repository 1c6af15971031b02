/* APPEND (RFC 9051 6.3.12) with the APPENDUID response code of UIDPLUS
 * (RFC 4315) and the UTF8 data item of RFC 6855: one message per command
 * (no MULTIAPPEND, no CATENATE). The message is indexed here as SMTP
 * indexes what it accepts (mail-index.h), so that FETCH and SEARCH never
 * parse it again, and stored in one statement (store_message_append). */
#include "imap/imap-session.h"

#include <string.h>
#include <strings.h>

#include "imap/imap-flags.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "mail/mail-index.h"
#include "store/store.h"

#define APPEND_MAX_FLAGS 64

static int64_t db_deadline(void)
{
	return deadline_after_ms(IMAP_DB_TIMEOUT_MS);
}

/* ---- date-time ---- */

static bool two_digits(const char *p, int *n_r)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return false;
	*n_r = (p[0] - '0') * 10 + (p[1] - '0');
	return true;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* RFC 9051 section 9, date-time without its quotes (the parser took
 * them): "dd-Mon-yyyy hh:mm:ss +zzzz", the day as two digits or a space
 * and one digit, the month name in any case. Exactly that and a real
 * date; false for anything else. */
static bool parse_date_time(const char *text, int64_t *when_r)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int day, month = 0, century, year, hour, minute, second, zone_h, zone_m;
	if (strlen(text) != 26)
		return false;
	if (text[0] == ' ') {
		if (text[1] < '1' || text[1] > '9')
			return false;
		day = text[1] - '0';
	} else if (!two_digits(text, &day)) {
		return false;
	}
	if (text[2] != '-' || text[6] != '-' || text[11] != ' ' || text[14] != ':' ||
	    text[17] != ':' || text[20] != ' ' || (text[21] != '+' && text[21] != '-'))
		return false;
	for (int i = 0; i < 12 && month == 0; i++)
		if (strncasecmp(text + 3, months + 3 * i, 3) == 0)
			month = i + 1;
	if (month == 0 || !two_digits(text + 7, &century) || !two_digits(text + 9, &year) ||
	    !two_digits(text + 12, &hour) || !two_digits(text + 15, &minute) ||
	    !two_digits(text + 18, &second) || !two_digits(text + 22, &zone_h) ||
	    !two_digits(text + 24, &zone_m))
		return false;
	year += century * 100;
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day < 1 || day > month_days[month - 1] || (month == 2 && day == 29 && !leap))
		return false;
	/* :60 is a leap second; it lands on the next minute's :00. */
	if (hour > 23 || minute > 59 || second > 60 || zone_h > 23 || zone_m > 59)
		return false;
	int64_t offset = (int64_t)(zone_h * 60 + zone_m) * 60;
	*when_r = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
		  (text[21] == '+' ? offset : -offset);
	return true;
}

/* ---- the message ---- */

/* Bare LF line ends become CRLF. A client sends messages with CRLF (RFC
 * 9051 6.3.12: the message is in RFC 5322 form), and the server counts
 * RFC822.SIZE and serves BODY[] from the stored octets, so both stay
 * consistent only if every line ends in CRLF; a client that sent LF
 * alone still gets a correct message back. A lone CR is left alone. */
static const char *normalise_line_ends(struct arena *arena, const char *data, size_t len,
				       size_t *len_r)
{
	size_t bare = 0;
	for (size_t i = 0; i < len; i++)
		bare += data[i] == '\n' && (i == 0 || data[i - 1] != '\r');
	*len_r = len + bare;
	if (bare == 0)
		return data;
	char *out = arena_alloc(arena, len + bare);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = data[i];
	}
	return out;
}

/* The message being appended and its index. */
struct index_job {
	struct arena *arena;
	const char *data;
	size_t len;
	struct mail_index index;
	int ret;
	const char *error;
};

/* The flag list of APPEND, canonical, sorted, without repeats; NULL
 * after answering BAD. */
static const char **append_flags(struct imap_session *s, const struct imap_arg *list,
				 unsigned *count_r)
{
	if (list->count > APPEND_MAX_FLAGS) {
		imap_bad(s, "Too many flags");
		return NULL;
	}
	const char **flags = arena_alloc(s->arena, (list->count + 1) * sizeof(*flags));
	for (unsigned i = 0; i < list->count; i++) {
		const struct imap_arg *arg = &list->list[i];
		flags[i] = arg->type == IMAP_ARG_ATOM ? imap_flag_canonical(arg->str) : NULL;
		if (flags[i] == NULL) {
			imap_bad(s, "Invalid flag");
			return NULL;
		}
	}
	*count_r = imap_flags_sort_unique(flags, list->count);
	return flags;
}

/* Stores the message; answers. */
static void append_message(struct imap_session *s, const struct store_mailbox *mailbox,
			   const struct imap_arg *literal, const char **flags, unsigned flag_count,
			   int64_t internaldate)
{
	struct index_job job = {.arena = arena_create(16 * 1024)};
	job.data = normalise_line_ends(job.arena, literal->str, literal->len, &job.len);
	if (job.len > s->max_message) {
		imap_tagged(s, "NO", "[TOOBIG] Message too big");
		goto out;
	}
	const char *error;
	if (s->user.quota_mb > 0) {
		enum store_quota quota;
		if (store_pg_check_quota(s->user.address, job.len, db_deadline(), &quota, &error) <
		    0) {
			imap_db_error(s, error);
			goto out;
		}
		if (quota != STORE_QUOTA_OK) {
			imap_tagged(s, "NO", "[OVERQUOTA] Quota exceeded");
			goto out;
		}
	}
	job.ret = mail_index_build_in_fiber(job.arena, job.data, job.len, &job.index, &job.error);
	if (job.ret < 0) {
		/* Only the parser's size limit fails it, far above any message size. */
		log_warn("event=imap_index_failed session=%s error=\"%s\"", s->id, job.error);
		imap_tagged(s, "NO", "[TOOBIG] Message too big");
		goto out;
	}
	if (job.index.problem != NULL)
		log_info("event=imap_index_limited session=%s problem=\"%s\"", s->id,
			 job.index.problem);
	const struct store_append message = {
	    .content = job.data,
	    .size = job.len,
	    .structure = job.index.structure,
	    .structure_len = job.index.structure_len,
	    .header_fields = job.index.header_fields,
	    .header_field_count = job.index.header_field_count,
	    .text = job.index.text,
	    .sent_date = job.index.sent_date,
	    .flags = flags,
	    .flag_count = flag_count,
	    .internaldate = internaldate,
	};
	uint32_t uid, uidvalidity;
	uint64_t modseq;
	int ret = store_message_append(mailbox->id, &message, &uid, &uidvalidity, &modseq,
				       db_deadline(), &error);
	if (ret < 0) {
		imap_db_error(s, error);
		goto out;
	}
	if (ret == 1) {
		imap_tagged(s, "NO", "[TRYCREATE] No such mailbox");
		goto out;
	}
	/* RFC 9051 6.3.12: into the selected mailbox, the client learns of
	 * the new message at once, with EXISTS before the tagged OK (the
	 * mailbox notification may come later than that). */
	if (s->state == IMAP_STATE_SELECTED && s->sel.mailbox.id == mailbox->id &&
	    imap_select_sync(s, false) < 0)
		goto out;
	imap_tagged(s, "OK", "[APPENDUID %u %u] APPEND completed", uidvalidity, uid);
out:
	arena_destroy(&job.arena);
}

void imap_cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	const char *name;
	if (cmd->count < 2 || !imap_arg_astring(&args[0], &name)) {
		imap_bad(s, "APPEND needs a mailbox name and a message");
		return;
	}
	unsigned next = 1, flag_count = 0;
	const char **flags = NULL;
	if (args[next].type == IMAP_ARG_LIST) {
		if ((flags = append_flags(s, &args[next], &flag_count)) == NULL)
			return;
		next++;
	}
	int64_t internaldate = 0; /* now */
	if (next < cmd->count && args[next].type == IMAP_ARG_STRING) {
		if (!parse_date_time(args[next].str, &internaldate)) {
			imap_bad(s, "Invalid date-time");
			return;
		}
		next++;
	}
	const struct imap_arg *literal = &args[next];
	/* RFC 6855 4: once UTF8=ACCEPT is enabled the message may come as
	 * UTF8 (literal8), a message with UTF-8 header fields. */
	if (s->utf8 && next + 2 == cmd->count && imap_arg_atom_is(&args[next], "UTF8") &&
	    args[next + 1].type == IMAP_ARG_LIST && args[next + 1].count == 1) {
		literal = &args[next + 1].list[0];
		next++;
	}
	if (next + 1 != cmd->count || literal->type != IMAP_ARG_LITERAL) {
		imap_bad(s, "APPEND needs one message as a literal");
		return;
	}
	if ((name = imap_mailbox_from_client(s, name)) == NULL)
		return;
	/* NUL has no place in a message (RFC 9051 4.3). In a literal8 (RFC
	 * 3516) it is binary content, which this store cannot serve back
	 * through BODY[]: NO [UNKNOWN-CTE], as RFC 3516 wants for APPEND. */
	if (memchr(literal->str, '\0', literal->len) != NULL) {
		if (literal->literal8)
			imap_tagged(s, "NO", "[UNKNOWN-CTE] Binary content cannot be stored");
		else
			imap_tagged(s, "NO", "Message contains NUL octets");
		return;
	}
	if (literal->len == 0) {
		imap_tagged(s, "NO", "Empty message");
		return;
	}
	struct store_mailbox mailbox;
	const char *error;
	int ret = store_mailbox_find(s->user.id, name, s->arena, &mailbox, db_deadline(), &error);
	if (ret < 0) {
		imap_db_error(s, error);
		return;
	}
	if (ret == 1) {
		imap_tagged(s, "NO", "[TRYCREATE] No such mailbox");
		return;
	}
	append_message(s, &mailbox, literal, flags, flag_count, internaldate);
}
