-- aimsvault access database (access.db beside vault.db), version 1. Applied
-- once; PRAGMA user_version records it.
--
-- tokens are mutable in one way only: a token can be revoked, once. No row is
-- ever deleted, so every name and id the access log cites stays resolvable.
CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,   -- "tok_" + 16 hex digits, shown in lists and logs
	name       TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE, -- SHA-256 of the secret; the secret itself is never stored
	role       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	expires_at TEXT,               -- NULL: never
	scope      TEXT NOT NULL,      -- JSON {"from","to","controls"}; {} when unscoped
	revoked_at TEXT
) STRICT;
-- A name is unique among live tokens, so a revoked name can be reused.
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_at IS NULL;

CREATE TRIGGER tokens_no_delete BEFORE DELETE ON tokens
BEGIN SELECT RAISE(ABORT, 'tokens are never deleted: revoke them'); END;
CREATE TRIGGER tokens_revoke_only BEFORE UPDATE ON tokens
WHEN OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.name IS NOT OLD.name OR NEW.hash IS NOT OLD.hash
  OR NEW.role IS NOT OLD.role OR NEW.created_at IS NOT OLD.created_at
  OR NEW.created_by IS NOT OLD.created_by OR NEW.expires_at IS NOT OLD.expires_at
  OR NEW.scope IS NOT OLD.scope
BEGIN SELECT RAISE(ABORT, 'a token can only be revoked, once'); END;

-- access_log is an append-only hash chain. body holds the entry's canonical
-- bytes (RFC 8785 JSON, with its seq and the previous entry's hash inside);
-- hash = SHA-256("aimsvault-access-log/v1\n" || body). The other columns
-- mirror fields of body for queries; Verify checks that they agree.
CREATE TABLE access_log (
	seq      INTEGER PRIMARY KEY,  -- 1, 2, 3, ... with no gaps
	time     TEXT NOT NULL,
	token_id TEXT NOT NULL,
	action   TEXT NOT NULL,
	body     BLOB NOT NULL,
	hash     BLOB NOT NULL
) STRICT;

CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
