-- Area "queue": the SMTP queue. A message is stored once (its envelope;
-- the content is a blob of the mail area), with one entry per recipient.
-- Delivery agents on every node claim due entries with FOR UPDATE SKIP
-- LOCKED and a lease (claimed_by, claimed_until); a dead node's claims
-- expire and are retried.

CREATE TABLE queue_messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    sender text NOT NULL,
    size bigint NOT NULL,
    body_hash bytea NOT NULL,
    body_type text NOT NULL DEFAULT '7bit' CHECK (body_type IN ('7bit', '8bitmime', 'binarymime')),
    smtputf8 boolean NOT NULL DEFAULT false,
    dsn_envid text,
    dsn_ret text CHECK (dsn_ret IN ('full', 'hdrs')),
    client_address text,
    helo text,
    auth_user text,
    received_by text NOT NULL,
    session_id text NOT NULL
);

COMMENT ON COLUMN queue_messages.sender IS 'Envelope sender (MAIL FROM); empty for the null reverse-path <>';
COMMENT ON COLUMN queue_messages.body_hash IS 'SHA-256 of the message as accepted (starting with our Received: header), computed by the node: its content is in mail_blobs';

-- Queue bodies live minutes: not worth compressing (delivery would pay twice).
ALTER TABLE queue_messages
    ADD CONSTRAINT queue_messages_body_hash_fkey FOREIGN KEY (body_hash) REFERENCES mail_blobs (hash);
CREATE INDEX queue_messages_body_hash_idx ON queue_messages (body_hash);

CREATE TABLE queue_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES queue_messages (id) ON DELETE CASCADE,
    recipient text NOT NULL,
    transport text NOT NULL DEFAULT 'local' CHECK (transport IN ('local', 'remote')),
    dsn_notify text,
    dsn_orcpt text,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_by text,
    claimed_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON COLUMN queue_entries.transport IS 'local: into a mailbox of ours (node/delivery); remote: over SMTP';

-- Which users already got a queue message: a user reached through two
-- recipients of one message (directly and through a group, say) gets one
-- copy. Goes with the message.
CREATE TABLE queue_delivered (
    message_id bigint NOT NULL REFERENCES queue_messages (id) ON DELETE CASCADE,
    user_id bigint NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

CREATE INDEX queue_entries_due ON queue_entries (transport, next_attempt_at);
CREATE INDEX queue_entries_message ON queue_entries (message_id);
