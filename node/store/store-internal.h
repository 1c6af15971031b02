/* Shared between the files of the PostgreSQL store, not for other
 * folders. */
#ifndef TEGU_STORE_INTERNAL_H
#define TEGU_STORE_INTERNAL_H

#include <stdint.h>

/* Creates INBOX and the special folders of each user's domain for the
 * users who have no INBOX yet (a folder the user deleted later stays
 * deleted; and the common case, a user with mail, costs one index probe);
 * $1 is a bigint[] of user ids (sorted, so that concurrent callers lock
 * in the same order). */
extern const char store_ensure_folders_sql[];

/* Tells every session of the cluster that the mailbox changed: call after
 * the change committed (db_notify_after_commit). */
void store_announce_mailbox(int64_t mailbox_id);

#endif
