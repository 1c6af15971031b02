/* The IMAP ENVELOPE: which header fields feed it, the RFC 3501 defaults,
 * and how FETCH prints it. Local delivery builds it once per message
 * (through mail-mime.c, which passes each header field here as it walks
 * the header), so IMAP never reads the header again.
 */
#include "mail/mail-envelope.h"

#include "lib/arena.h"
#include "lib/strbuf.h"
#include "mail/mail-header.h"
#include "mail/mail-imap-quote.h"

/* Appends a string literal without counting it by hand. */
#define APPEND_LIT(out, lit) strbuf_append((out), (lit), sizeof(lit) - 1)

enum envelope_slot {
	SLOT_STRING,
	SLOT_ADDRESS,
};

static const struct {
	const char *name;
	enum envelope_slot slot;
	size_t offset;
} envelope_fields[] = {
    {"Date", SLOT_STRING, offsetof(struct mail_envelope, date)},
    {"Subject", SLOT_STRING, offsetof(struct mail_envelope, subject)},
    {"From", SLOT_ADDRESS, offsetof(struct mail_envelope, from)},
    {"Sender", SLOT_ADDRESS, offsetof(struct mail_envelope, sender)},
    {"Reply-To", SLOT_ADDRESS, offsetof(struct mail_envelope, reply_to)},
    {"To", SLOT_ADDRESS, offsetof(struct mail_envelope, to)},
    {"Cc", SLOT_ADDRESS, offsetof(struct mail_envelope, cc)},
    {"Bcc", SLOT_ADDRESS, offsetof(struct mail_envelope, bcc)},
    {"In-Reply-To", SLOT_STRING, offsetof(struct mail_envelope, in_reply_to)},
    {"Message-ID", SLOT_STRING, offsetof(struct mail_envelope, message_id)},
};

bool mail_envelope_add_field(struct arena *arena, struct mail_envelope *env, const char *data,
			     const struct mail_header_field *field)
{
	const char *value = data + field->value_offset;

	for (size_t i = 0; i < sizeof(envelope_fields) / sizeof(envelope_fields[0]); i++) {
		if (!mail_header_field_is(data, field, envelope_fields[i].name))
			continue;
		void *slot = (char *)env + envelope_fields[i].offset;
		if (envelope_fields[i].slot == SLOT_STRING) {
			/* Raw, folds kept: the dump decides how to print them,
			 * and for the subject that depends on the folds. */
			*(const char **)slot = mail_header_strdup(arena, value, field->value_len);
		} else {
			const char *error;
			if (mail_address_parse(arena, value, field->value_len, slot, &error) < 0 &&
			    env->error == NULL)
				env->error = error;
		}
		return true;
	}
	return false;
}

void mail_envelope_finish(struct mail_envelope *env)
{
	/* RFC 3501: absent or empty Sender and Reply-To are From. The
	 * lists share From's nodes; nothing appends after this. */
	if (env->sender.first == NULL)
		env->sender = env->from;
	if (env->reply_to.first == NULL)
		env->reply_to = env->from;
}

int mail_envelope_parse(struct arena *arena, const char *data, size_t size,
			struct mail_envelope **env_r, const char **error_r)
{
	struct mail_envelope *env = arena_zalloc(arena, sizeof(*env));
	struct mail_header_iter iter;
	struct mail_header_field field;
	const char *error = NULL;

	mail_header_iter_init(&iter, data, 0, size, NULL);
	while (mail_header_iter_next(&iter, &field))
		(void)mail_envelope_add_field(arena, env, data, &field);
	int ret = mail_header_iter_deinit(&iter, &error);
	mail_envelope_finish(env);
	*env_r = env;
	if (ret < 0 || env->error != NULL) {
		*error_r = error != NULL ? error : env->error;
		return -1;
	}
	return 0;
}

void mail_envelope_dump_addresses(struct strbuf *out, const struct mail_address_list *list)
{
	if (list->first == NULL) {
		APPEND_LIT(out, "NIL");
		return;
	}
	APPEND_LIT(out, "(");
	for (const struct mail_address *a = list->first; a != NULL; a = a->next) {
		APPEND_LIT(out, "(");
		mail_imap_quote_human(out, a->name);
		APPEND_LIT(out, " ");
		mail_imap_quote_nstring(out, a->adl);
		APPEND_LIT(out, " ");
		mail_imap_quote_nstring(out, a->mailbox);
		APPEND_LIT(out, " ");
		mail_imap_quote_nstring(out, a->host);
		APPEND_LIT(out, ")");
	}
	APPEND_LIT(out, ")");
}

void mail_envelope_dump(struct strbuf *out, const struct mail_envelope *env)
{
	if (env == NULL) {
		APPEND_LIT(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		return;
	}
	APPEND_LIT(out, "(");
	mail_imap_quote_nstring_nolf(out, env->date);
	APPEND_LIT(out, " ");
	mail_imap_quote_human(out, env->subject);
	const struct mail_address_list *lists[] = {&env->from, &env->sender, &env->reply_to,
						   &env->to,   &env->cc,     &env->bcc};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		APPEND_LIT(out, " ");
		mail_envelope_dump_addresses(out, lists[i]);
	}
	APPEND_LIT(out, " ");
	mail_imap_quote_nstring_nolf(out, env->in_reply_to);
	APPEND_LIT(out, " ");
	mail_imap_quote_nstring_nolf(out, env->message_id);
	APPEND_LIT(out, ")");
}
