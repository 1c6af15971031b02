-- The content of a message is stored once, when it is accepted: the queue
-- refers to its blob instead of holding a copy, and the blob carries what
-- IMAP needs without reading the message again (the structure cache, the
-- decoded header fields and a full-text index of the text parts).

-- Words in Latin letters are stemmed as English, words in other letters as
-- Russian (the snowball stemmer leaves non-Cyrillic words alone).
CREATE TEXT SEARCH CONFIGURATION tegu (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION tegu
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH english_stem;
ALTER TEXT SEARCH CONFIGURATION tegu
    ALTER MAPPING FOR word, hword, hword_part WITH russian_stem;

ALTER TABLE mail_blobs
    ADD COLUMN sent_date timestamptz,
    ADD COLUMN header_fields text[],
    ADD COLUMN body_tsv tsvector;

COMMENT ON COLUMN mail_blobs.sent_date IS 'The Date: header field; NULL when absent or not a date';
COMMENT ON COLUMN mail_blobs.header_fields IS 'Each header field as "name:value", the name lower-cased, the value unfolded and decoded to UTF-8 (SEARCH HEADER)';
COMMENT ON COLUMN mail_blobs.body_tsv IS 'The text parts, decoded, under the text search configuration tegu (SEARCH BODY/TEXT)';

CREATE INDEX mail_blobs_body_tsv_idx ON mail_blobs USING gin (body_tsv);

-- Bodies still in the queue move into the blobs; their structure and
-- search columns stay NULL, which readers treat as "parse it now".
INSERT INTO mail_blobs (hash, size, content)
    SELECT DISTINCT ON (body_hash) body_hash, size, body FROM queue_messages
    ON CONFLICT (hash) DO NOTHING;
ALTER TABLE queue_messages DROP COLUMN body;
COMMENT ON COLUMN queue_messages.body_hash IS 'SHA-256 of the message as accepted (starting with our Received: header), computed by the node: its content is in mail_blobs';
ALTER TABLE queue_messages
    ADD CONSTRAINT queue_messages_body_hash_fkey FOREIGN KEY (body_hash) REFERENCES mail_blobs (hash);
CREATE INDEX queue_messages_body_hash_idx ON queue_messages (body_hash);

-- OBJECTID (RFC 8474): a message's EMAILID follows its content, so copies
-- and moves keep it and the same message delivered twice shares it.
ALTER TABLE messages
    ADD COLUMN email_id text GENERATED ALWAYS AS ('M' || encode(substring(blob_hash FROM 1 FOR 12), 'hex')) STORED;

COMMENT ON COLUMN messages.email_id IS 'OBJECTID EMAILID (RFC 8474): follows the content, so copies keep it';

-- QRESYNC (RFC 7162): what was expunged, and at which MODSEQ, so that a
-- client coming back can be told with VANISHED (EARLIER).
CREATE TABLE expunged_messages (
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid bigint NOT NULL,
    modseq bigint NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);

CREATE INDEX expunged_messages_modseq_idx ON expunged_messages (mailbox_id, modseq);
