-- The local user directory (node/directory/): domains, users and their
-- alternative addresses, groups in a hierarchy, aliases, and one registry
-- of every address so that an address belongs to exactly one entry.

CREATE TABLE domains (
    name text PRIMARY KEY,
    default_quota_mb bigint NOT NULL DEFAULT 0,
    trash_quota_mb bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT domains_name_check CHECK (name = lower(name) AND name ~ '^[a-z0-9.-]+$'),
    CONSTRAINT domains_quota_check CHECK (default_quota_mb >= 0 AND trash_quota_mb >= 0)
);

COMMENT ON TABLE domains IS 'Local mail domains; quotas in MB, 0 = no limit';
COMMENT ON COLUMN domains.default_quota_mb IS 'Default user quota in MB (manual 6.2.5): for users whose quota_mb is NULL';
COMMENT ON COLUMN domains.trash_quota_mb IS 'Additional Trash quota in MB (manual 6.2.5), on top of the user quota';

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain text NOT NULL REFERENCES domains (name),
    local_part text NOT NULL,
    address text NOT NULL GENERATED ALWAYS AS (local_part || '@' || domain) STORED,
    password_hash text,
    display_name text NOT NULL DEFAULT '',
    quota_mb bigint,
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_address_key UNIQUE (address),
    CONSTRAINT users_local_part_check CHECK (local_part = lower(local_part) AND local_part ~ '^[^@[:space:],]+$'),
    CONSTRAINT users_quota_check CHECK (quota_mb >= 0)
);

CREATE INDEX users_domain_idx ON users (domain);

COMMENT ON COLUMN users.password_hash IS 'crypt(3) string (yescrypt $y$ when set by Tegu); NULL: the user cannot log in';
COMMENT ON COLUMN users.quota_mb IS 'NULL: the domain''s default_quota_mb';

CREATE TABLE user_addresses (
    address text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX user_addresses_user_id_idx ON user_addresses (user_id);

COMMENT ON TABLE user_addresses IS 'Alternative addresses of a user: mail to them reaches the user, who may log in and send with them';

CREATE TABLE groups (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    address text,
    parent_id bigint REFERENCES groups (id) ON DELETE SET NULL,
    master boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT groups_name_key UNIQUE (name),
    CONSTRAINT groups_address_key UNIQUE (address),
    CONSTRAINT groups_name_check CHECK (position('@' in name) = 0 OR name = address),
    CONSTRAINT groups_parent_check CHECK (parent_id <> id)
);

CREATE INDEX groups_parent_id_idx ON groups (parent_id);

COMMENT ON TABLE groups IS 'Groups: a hierarchy through parent_id (a child''s members belong to the parent too), members in group_members';
COMMENT ON COLUMN groups.name IS 'Unique; a name holding @ is the group''s address itself';
COMMENT ON COLUMN groups.master IS 'Members of this group, direct or through subgroups and child groups, are master users';

CREATE TABLE group_members (
    group_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id bigint REFERENCES users (id) ON DELETE CASCADE,
    member_group_id bigint REFERENCES groups (id) ON DELETE CASCADE,
    CONSTRAINT group_members_user_key UNIQUE (group_id, user_id),
    CONSTRAINT group_members_group_key UNIQUE (group_id, member_group_id),
    CONSTRAINT group_members_one_check CHECK (num_nonnulls(user_id, member_group_id) = 1),
    CONSTRAINT group_members_self_check CHECK (member_group_id <> group_id)
);

CREATE INDEX group_members_user_id_idx ON group_members (user_id);
CREATE INDEX group_members_member_group_id_idx ON group_members (member_group_id);

COMMENT ON TABLE group_members IS 'A member is a user or a subgroup, never both in one row';

CREATE TABLE aliases (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address text NOT NULL,
    targets text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT aliases_address_key UNIQUE (address),
    CONSTRAINT aliases_targets_check CHECK (cardinality(targets) > 0 AND array_position(targets, NULL) IS NULL)
);

COMMENT ON TABLE aliases IS 'Redirect lists: mail to address goes to every target, local (user, group, alias) or external';

-- Every address of the directory, whichever table owns it. The primary key
-- is what makes an address unique across users, alternative addresses,
-- groups and aliases; the foreign key is what makes its domain exist (and a
-- domain with addresses impossible to drop). Rows are written only by the
-- trigger below, in the same transaction as the owner's row, so the
-- registry cannot disagree with the tables; lookups by address (recipient
-- checks, logins, expansion) need this one index only.
CREATE TABLE directory_addresses (
    address text PRIMARY KEY,
    domain text NOT NULL REFERENCES domains (name),
    kind text NOT NULL,
    ref_id bigint NOT NULL,
    CONSTRAINT directory_addresses_kind_check CHECK (kind IN ('user', 'alternative', 'group', 'alias')),
    CONSTRAINT directory_addresses_address_check CHECK (address = lower(address) AND address ~ '^[^@[:space:],]+@[a-z0-9.-]+$' AND domain = split_part(address, '@', 2))
);

CREATE INDEX directory_addresses_domain_idx ON directory_addresses (domain);

COMMENT ON TABLE directory_addresses IS 'Registry of every directory address, kept by trigger; ref_id: users.id (user, alternative), groups.id or aliases.id';

-- Keeps directory_addresses in step with an owner table. TG_ARGV[0] is the
-- kind; the owner's column "address" is the address (NULL: none), its "id"
-- the reference, except for alternative addresses, which refer to their
-- user. A taken address fails the statement with SQLSTATE 23505 and a
-- message naming the holder's kind.
CREATE FUNCTION directory_addresses_sync() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    kind text := TG_ARGV[0];
    old_address text;
    old_ref bigint;
    new_address text;
    new_ref bigint;
    holder text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_address := OLD.address;
        IF kind = 'alternative' THEN
            old_ref := OLD.user_id;
        ELSE
            old_ref := OLD.id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_address := NEW.address;
        IF kind = 'alternative' THEN
            new_ref := NEW.user_id;
        ELSE
            new_ref := NEW.id;
        END IF;
    END IF;
    IF old_address IS NOT DISTINCT FROM new_address AND old_ref IS NOT DISTINCT FROM new_ref THEN
        RETURN NULL;
    END IF;
    IF old_address IS NOT NULL THEN
        DELETE FROM directory_addresses WHERE address = old_address;
    END IF;
    IF new_address IS NOT NULL THEN
        INSERT INTO directory_addresses (address, domain, kind, ref_id)
            VALUES (new_address, split_part(new_address, '@', 2), kind, new_ref)
            ON CONFLICT (address) DO NOTHING;
        IF NOT FOUND THEN
            SELECT d.kind INTO holder FROM directory_addresses d WHERE d.address = new_address;
            RAISE EXCEPTION 'address % is already used by %', new_address,
                CASE holder WHEN 'user' THEN 'a user' WHEN 'alternative' THEN 'an alternative address'
                    WHEN 'group' THEN 'a group' ELSE 'an alias' END
                USING ERRCODE = 'unique_violation';
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_address_sync AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION directory_addresses_sync('user');
CREATE TRIGGER user_addresses_address_sync AFTER INSERT OR UPDATE OR DELETE ON user_addresses
    FOR EACH ROW EXECUTE FUNCTION directory_addresses_sync('alternative');
CREATE TRIGGER groups_address_sync AFTER INSERT OR UPDATE OR DELETE ON groups
    FOR EACH ROW EXECUTE FUNCTION directory_addresses_sync('group');
CREATE TRIGGER aliases_address_sync AFTER INSERT OR UPDATE OR DELETE ON aliases
    FOR EACH ROW EXECUTE FUNCTION directory_addresses_sync('alias');
