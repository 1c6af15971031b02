/* The state of one IMAP session, shared by the files of the server:
 * imap-session.c (command loop, responses, the selected mailbox's view
 * and its updates) and one imap-cmd-*.c per group of commands. */
#ifndef TEGU_IMAP_SESSION_H
#define TEGU_IMAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "directory/directory.h"
#include "imap/imap-parser.h"
#include "imap/imap-server.h"
#include "lib/loop.h"
#include "lib/strbuf.h"
#include "store/store-mailbox.h"

struct arena;
struct imap_seqset;

/* RFC 9051 5.4: at least 30 minutes for an authenticated client; a
 * client that has not logged in gets much less. */
#define IMAP_AUTOLOGOUT_MS	   (30 * 60 * 1000)
#define IMAP_PREAUTH_TIMEOUT_MS	   (60 * 1000)
#define IMAP_MAX_ERRORS		   10
#define IMAP_MAX_LINE		   (64 * 1024)
#define IMAP_MAX_LITERAL	   (64 * 1024)
#define IMAP_MAX_COMMAND	   (1024 * 1024)
#define IMAP_TLS_HANDSHAKE_TIMEOUT (30 * 1000)
#define IMAP_DB_TIMEOUT_MS	   30000

enum imap_state {
	IMAP_STATE_NOT_AUTHENTICATED,
	IMAP_STATE_AUTHENTICATED,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

extern const char *const imap_state_names[];

/* The selected mailbox as this session sees it: message numbers are
 * indexes into uids, which changes only when the client is told. */
struct imap_selected {
	struct store_mailbox mailbox;
	bool readonly;
	struct arena *arena; /* lives as long as the selection */
	uint32_t *uids;
	uint32_t count, cap;
	uint64_t modseq_seen;	      /* new messages and flags up to this MODSEQ were told */
	uint64_t expunge_modseq_seen; /* expunges up to this MODSEQ were told */
};

struct imap_session {
	struct conn *c;
	const struct imap_server *server;
	char id[24];
	char peer_ip[64];
	char server_name[256];
	enum imap_state state;
	struct directory_user user;
	char master[DIRECTORY_MAX_ADDRESS]; /* the master user logged in as user, or "" */
	bool utf8;			    /* UTF8=ACCEPT enabled */
	bool condstore, rev2;
	bool qresync;		/* ENABLE QRESYNC (RFC 7162 3.2.3): VANISHED, never EXPUNGE */
	bool plaintext_auth_ok; /* TLS is on, or the peer is trusted */
	uint64_t max_message;
	unsigned errors;
	struct strbuf out;
	struct strbuf in;
	struct arena *arena; /* per command */
	const char *tag;
	struct imap_selected sel;
	/* Mailbox notifications (imap-session.c) */
	bool changed;
	struct waitq wakeup;
	struct imap_session *next, *prev;
};

/* Response lines; the text is printf-style. */
void imap_untagged(struct imap_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "tag OK|NO|BAD [code] text" for the current command. */
void imap_tagged(struct imap_session *s, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* BAD, counted toward IMAP_MAX_ERRORS. */
void imap_bad(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes what is queued. Returns 0 or -errno. */
int imap_flush(struct imap_session *s);
/* Appends str as an IMAP string: quoted, or a literal when it has CR or
 * LF, or 8-bit octets without UTF8=ACCEPT. */
void imap_write_string(struct imap_session *s, struct strbuf *out, const char *str);
/* A database failure: logged, "NO [UNAVAILABLE]" to the client. */
void imap_db_error(struct imap_session *s, const char *error);

/* Mailbox names between the client's form and the store's (UTF-8):
 * modified UTF-7 unless UTF8=ACCEPT/IMAP4rev2; "inbox" in any case is
 * INBOX. Returns NULL (after answering BAD) for an invalid name. */
const char *imap_mailbox_from_client(struct imap_session *s, const char *name);
/* Appends the client's form of a store name, as a string. */
void imap_mailbox_write(struct imap_session *s, struct strbuf *out, const char *name);

/* Selection: opens the mailbox and loads its view. 1: no such mailbox. */
int imap_select_open(struct imap_session *s, const struct store_mailbox *mailbox, bool readonly,
		     const char **error_r);
void imap_select_close(struct imap_session *s);
/* Reports what changed since the last report: EXISTS for new messages,
 * FETCH for flag changes, and with allow_expunge EXPUNGE for messages
 * gone, or VANISHED once QRESYNC is enabled (which never sees EXPUNGE). */
int imap_select_sync(struct imap_session *s, bool allow_expunge);
/* The UIDs that the sequence set arg names (message numbers, or UIDs when
 * uid is true) as a PostgreSQL int8multirange literal, and as a resolved
 * set of UIDs in *uids_r (may be NULL). NULL after answering BAD. */
const char *imap_select_uid_ranges(struct imap_session *s, const struct imap_arg *arg, bool uid,
				   struct imap_seqset *uids_r);
/* This session's own change took MODSEQ modseq and the client is told
 * of it by the command's responses: when nothing else happened since the
 * last report, the next report need not repeat it. */
void imap_select_told(struct imap_session *s, uint64_t modseq);
/* The message number of uid in the view, 0 if none. */
uint32_t imap_select_seq(const struct imap_session *s, uint32_t uid);
/* "* VANISHED [(EARLIER)] uid-set" (RFC 7162 3.2.10) for uids, ascending,
 * split over lines of a few kilobytes. Nothing when count is 0. */
void imap_select_vanished(struct imap_session *s, bool earlier, const uint32_t *uids,
			  unsigned count);

/* SELECT/EXAMINE (QRESYNC (...)) (RFC 7162 3.2.5): what changed in the
 * freshly opened view since the client's MODSEQ. Loaded before anything
 * is told, so that a database failure can still fail the SELECT. */
struct imap_resync {
	uint32_t *vanished; /* expunged since, known to the client, ascending */
	unsigned vanished_count;
	struct store_message *changed; /* MODSEQ above the client's, in the view */
	unsigned changed_count;
};
/* known: the client's known UIDs (resolved), or NULL for all of them. */
int imap_select_resync_load(struct imap_session *s, uint64_t modseq,
			    const struct imap_seqset *known, struct imap_resync *r,
			    const char **error_r);
/* "* VANISHED (EARLIER)" then "* n FETCH (UID FLAGS MODSEQ)". Returns 0,
 * or -1 when the connection failed (the session is then logging out). */
int imap_select_resync_tell(struct imap_session *s, const struct imap_resync *r);

/* RFC 8474 MAILBOXID: "F" and the mailbox's row id, which RENAME keeps
 * and which is never given to another mailbox. */
#define IMAP_MAILBOXID_FMT "F%lld"

/* Command handlers: imap-cmd-*.c */
typedef void imap_command_fn(struct imap_session *s, const struct imap_command *cmd);
imap_command_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout, imap_cmd_id, imap_cmd_enable,
    imap_cmd_starttls, imap_cmd_login, imap_cmd_authenticate, imap_cmd_select, imap_cmd_create,
    imap_cmd_delete, imap_cmd_rename, imap_cmd_subscribe, imap_cmd_unsubscribe, imap_cmd_list,
    imap_cmd_lsub, imap_cmd_namespace, imap_cmd_status, imap_cmd_check, imap_cmd_close,
    imap_cmd_unselect, imap_cmd_expunge, imap_cmd_fetch, imap_cmd_store, imap_cmd_search,
    imap_cmd_idle, imap_cmd_append, imap_cmd_copy;

imap_command_fn imap_cmd_sort, imap_cmd_getquota, imap_cmd_getquotaroot, imap_cmd_setquota;

/* STATUS data items (imap-cmd-mailbox.c), shared with LIST's RETURN
 * (STATUS (...)) of RFC 5819: true when items is a non-empty list of
 * items STATUS knows. */
bool imap_status_items_valid(const struct imap_arg *items);
/* Appends "STATUS name (item value ...)" for mailbox, items checked by
 * imap_status_items_valid(). Returns 0, or -1 with *error_r when the
 * store failed. */
int imap_status_append(struct imap_session *s, struct strbuf *line,
		       const struct store_mailbox *mailbox, const struct imap_arg *items,
		       const char **error_r);

/* The CAPABILITY list for the session's state, without "* CAPABILITY". */
void imap_capabilities(struct imap_session *s, struct strbuf *out);

#endif
