-- aimsvault vault schema, version 1. Applied once by Init; PRAGMA user_version
-- records it. Ledger tables are append-only: triggers refuse UPDATE and DELETE.

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- content holds each distinct content once. data is NULL when the bytes live
-- in objects/sha256/ (content over 64 KiB).
-- A rowid table: rows append at the end instead of landing at random
-- places in a b-tree keyed by hash.
CREATE TABLE content (
	id     INTEGER PRIMARY KEY,
	sha256 BLOB NOT NULL UNIQUE,
	size   INTEGER NOT NULL,
	data   BLOB
) STRICT;

-- records: idx is the Merkle leaf index (0-based). leaf holds the canonical
-- bytes that were hashed; the other columns mirror fields of leaf for
-- queries, and verify checks that they agree. Fields no query needs
-- (provenance) are read from leaf only.
CREATE TABLE records (
	idx          INTEGER PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	run          TEXT NOT NULL,
	connector    TEXT NOT NULL,
	type         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	subject      TEXT NOT NULL,
	collected_at TEXT NOT NULL,
	effective_at TEXT,
	sha256       BLOB NOT NULL,
	size         INTEGER NOT NULL,
	controls     TEXT NOT NULL, -- JSON array, as in leaf: filter with instr(controls, '"A.6.2.8"')
	attributes   TEXT NOT NULL, -- JSON object with sorted keys, as in leaf: coverage groups by it
	leaf         BLOB NOT NULL,
	-- hashes: the RFC 6962 tree hashes appending this leaf stored, 32 bytes
	-- each: level 0 (the leaf hash), then each level whose subtree this leaf
	-- completes. The hash at tlog.StoredHashIndex(level, n) is thus at
	-- offset 32*level in the row of leaf ((n+1) << level) - 1.
	hashes       BLOB NOT NULL
) STRICT;
-- No secondary index beyond id: each would cost every append (the connector
-- index alone cost 15% of ingest). Filters scan, which SQLite does at
-- hundreds of MB/s.

-- checkpoints: every signed checkpoint, each consistent with the one before.
-- tsr is the RFC 3161 TimeStampResp over note, when a TSA is configured.
CREATE TABLE checkpoints (
	size       INTEGER PRIMARY KEY,
	root       BLOB NOT NULL,
	note       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	tsr        BLOB
) STRICT;

-- runs and run_logs describe what connectors did. They are not part of the
-- Merkle log: a run's status changes as it goes.
CREATE TABLE runs (
	id          TEXT PRIMARY KEY,
	connector   TEXT NOT NULL,
	type        TEXT NOT NULL,
	trigger     TEXT NOT NULL,
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	status      TEXT NOT NULL,
	artifacts   INTEGER NOT NULL DEFAULT 0,
	new_blobs   INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	error_class TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX runs_by_connector ON runs (connector, started_at);

CREATE TABLE run_logs (
	run   TEXT NOT NULL,
	seq   INTEGER NOT NULL,
	time  TEXT NOT NULL,
	level TEXT NOT NULL,
	msg   TEXT NOT NULL,
	attrs TEXT NOT NULL,
	PRIMARY KEY (run, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER records_no_update BEFORE UPDATE ON records BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER records_no_delete BEFORE DELETE ON records BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER content_no_update BEFORE UPDATE ON content BEGIN SELECT RAISE(ABORT, 'content is append-only'); END;
CREATE TRIGGER content_no_delete BEFORE DELETE ON content BEGIN SELECT RAISE(ABORT, 'content is append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'meta is append-only'); END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta BEGIN SELECT RAISE(ABORT, 'meta is append-only'); END;
