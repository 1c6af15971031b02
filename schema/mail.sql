-- Area "mail": mailboxes, messages and their contents, as the migrations
-- leave them (see ../migrations/0004_mail.sql and 0005_search.sql for the
-- reasons).
--
-- Mailboxes per user carry the IMAP counters (UIDVALIDITY, UIDNEXT,
-- HIGHESTMODSEQ); a message row holds UID, MODSEQ, flags and a reference
-- to its content, stored once per SHA-256 in mail_blobs.

-- The special folder names of a domain's storage (manual 6.2.5.2.7-11),
-- added to the directory's domains table.
ALTER TABLE domains
    ADD COLUMN archive_folder text NOT NULL DEFAULT 'Archive',
    ADD COLUMN drafts_folder text NOT NULL DEFAULT 'Drafts',
    ADD COLUMN junk_folder text NOT NULL DEFAULT 'Junk',
    ADD COLUMN sent_folder text NOT NULL DEFAULT 'Sent',
    ADD COLUMN trash_folder text NOT NULL DEFAULT 'Trash';

-- UIDVALIDITY must grow whenever a mailbox name is reused (RFC 9051
-- 2.3.1.1): one sequence for all mailboxes guarantees it.
CREATE SEQUENCE mailbox_uidvalidity;

-- Full-text search: words in Latin letters are stemmed as English, words
-- in other letters as Russian.
CREATE TEXT SEARCH CONFIGURATION tegu (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION tegu
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH english_stem;
ALTER TEXT SEARCH CONFIGURATION tegu
    ALTER MAPPING FOR word, hword, hword_part WITH russian_stem;

CREATE TABLE mail_blobs (
    hash bytea PRIMARY KEY,
    size bigint NOT NULL,
    content bytea COMPRESSION lz4 NOT NULL,
    structure bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_date timestamptz,
    header_fields text[],
    body_tsv tsvector
);

COMMENT ON TABLE mail_blobs IS 'Message contents, content-addressed by SHA-256: stored once however many mailboxes hold them';
COMMENT ON COLUMN mail_blobs.sent_date IS 'The Date: header field; NULL when absent or not a date';
COMMENT ON COLUMN mail_blobs.header_fields IS 'Each header field as "name:value", the name lower-cased, the value unfolded and decoded to UTF-8 (SEARCH HEADER)';
COMMENT ON COLUMN mail_blobs.body_tsv IS 'The text parts, decoded, under the text search configuration tegu (SEARCH BODY/TEXT)';
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
    email_id text GENERATED ALWAYS AS ('M' || encode(substring(blob_hash FROM 1 FOR 12), 'hex')) STORED,
    PRIMARY KEY (mailbox_id, uid)
);

COMMENT ON COLUMN messages.email_id IS 'OBJECTID EMAILID (RFC 8474): follows the content, so copies keep it';

CREATE INDEX messages_blob_idx ON messages (blob_hash);
CREATE INDEX messages_modseq_idx ON messages (mailbox_id, modseq);
CREATE INDEX mail_blobs_body_tsv_idx ON mail_blobs USING gin (body_tsv);

-- QRESYNC (RFC 7162): what was expunged, and at which MODSEQ, so that a
-- client coming back can be told with VANISHED (EARLIER).
CREATE TABLE expunged_messages (
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid bigint NOT NULL,
    modseq bigint NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);

CREATE INDEX expunged_messages_modseq_idx ON expunged_messages (mailbox_id, modseq);
