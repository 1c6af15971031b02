-- Mailboxes in PostgreSQL (the "mail" area): folders per user with the
-- IMAP counters, messages with UID/MODSEQ/flags, and message contents
-- stored once per distinct content (SHA-256) however many mailboxes hold
-- them. Also the special folder names of each domain's storage (manual
-- 6.2.5.2.7-11).

ALTER TABLE domains
    ADD COLUMN archive_folder text NOT NULL DEFAULT 'Archive',
    ADD COLUMN drafts_folder text NOT NULL DEFAULT 'Drafts',
    ADD COLUMN junk_folder text NOT NULL DEFAULT 'Junk',
    ADD COLUMN sent_folder text NOT NULL DEFAULT 'Sent',
    ADD COLUMN trash_folder text NOT NULL DEFAULT 'Trash';

-- UIDVALIDITY must grow whenever a mailbox name is reused (RFC 9051
-- 2.3.1.1): one sequence for all mailboxes guarantees it.
CREATE SEQUENCE mailbox_uidvalidity;

CREATE TABLE mail_blobs (
    hash bytea PRIMARY KEY,
    size bigint NOT NULL,
    content bytea COMPRESSION lz4 NOT NULL,
    structure bytea,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE mail_blobs IS 'Message contents, content-addressed by SHA-256: stored once however many mailboxes hold them';
COMMENT ON COLUMN mail_blobs.structure IS 'The parsed structure (ENVELOPE, BODYSTRUCTURE) cached at delivery; NULL until computed';

CREATE TABLE mailboxes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    special_use text CHECK (special_use IN ('\Archive', '\Drafts', '\Junk', '\Sent', '\Trash')),
    uidvalidity bigint NOT NULL DEFAULT nextval('mailbox_uidvalidity'),
    uidnext bigint NOT NULL DEFAULT 1,
    highestmodseq bigint NOT NULL DEFAULT 1,
    subscribed boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mailboxes_user_name_key UNIQUE (user_id, name)
);

COMMENT ON COLUMN mailboxes.name IS 'UTF-8, hierarchy separator "/"; the inbox is always INBOX';
COMMENT ON COLUMN mailboxes.uidnext IS 'Next UID; taken under the row lock in the transaction that inserts the message';

CREATE TABLE messages (
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid bigint NOT NULL,
    modseq bigint NOT NULL,
    blob_hash bytea NOT NULL REFERENCES mail_blobs (hash),
    size bigint NOT NULL,
    internaldate timestamptz NOT NULL,
    savedate timestamptz NOT NULL DEFAULT now(),
    flags text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (mailbox_id, uid)
);

CREATE INDEX messages_blob_idx ON messages (blob_hash);
CREATE INDEX messages_modseq_idx ON messages (mailbox_id, modseq);
