package evidence

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of the log's size and root hash.
type Checkpoint struct {
	Size      int64     `json:"size"`
	Root      tlog.Hash `json:"-"`
	Note      []byte    `json:"-"` // the C2SP signed note, verbatim
	CreatedAt time.Time `json:"created_at"`
	// TSR is the RFC 3161 TimeStampResp over Note, when the vault has a TSA.
	TSR []byte `json:"-"`
}

// CheckpointBody is the C2SP tlog-checkpoint body: the origin line, the tree
// size in decimal and the base64 root hash, each ending in a newline.
func CheckpointBody(origin string, size int64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// ParseCheckpoint verifies a signed checkpoint note against vkey (a note
// verifier key) and returns its origin, size and root. Extension lines after
// the root are allowed, as C2SP allows them.
func ParseCheckpoint(msg []byte, vkey string) (origin string, size int64, root tlog.Hash, err error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return "", 0, root, fmt.Errorf("verifier key: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return "", 0, root, fmt.Errorf("checkpoint signature: %w", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return "", 0, root, fmt.Errorf("checkpoint: want origin, size and root lines")
	}
	size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return "", 0, root, fmt.Errorf("checkpoint: bad tree size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return "", 0, root, fmt.Errorf("checkpoint: bad root hash %q", lines[2])
	}
	copy(root[:], raw)
	return lines[0], size, root, nil
}

// Size returns the number of committed records.
func (v *Vault) Size(ctx context.Context) (int64, error) {
	var n int64
	err := v.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx)+1, 0) FROM records`).Scan(&n)
	return n, err
}

// hashReader reads committed tree hashes.
func (v *Vault) hashReader(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, id := range idx {
			h, err := readStoredHash(id, func(leaf int64) (raw []byte, err error) {
				return raw, q.QueryRowContext(ctx, `SELECT hashes FROM records WHERE idx = ?`, leaf).Scan(&raw)
			})
			if err != nil {
				return nil, err
			}
			out[i] = h
		}
		return out, nil
	})
}

// SignCheckpoint commits pending records, then signs and keeps a checkpoint
// of the whole log, after checking it is consistent with the previous one.
// With no new records since the last checkpoint it returns that one. A vault
// with no records has nothing to sign and returns nil. With a TSA, the
// checkpoint is time-stamped; if that fails, the checkpoint is still kept and
// returned along with an error matching ErrTimestamp.
func (v *Vault) SignCheckpoint(ctx context.Context) (*Checkpoint, error) {
	signer, err := v.signing()
	if err != nil {
		return nil, err
	}
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	if err := v.commitLocked(); err != nil {
		return nil, err
	}
	var size int64
	if err := v.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx)+1, 0) FROM records`).Scan(&size); err != nil {
		return nil, fmt.Errorf("read log size: %w", err)
	}
	prev, err := v.latestCheckpoint(ctx, v.w)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, nil
	}
	if prev != nil && prev.Size == size {
		return prev, nil
	}
	hr := v.hashReader(ctx, v.w)
	root, err := tlog.TreeHash(size, hr)
	if err != nil {
		return nil, fmt.Errorf("tree hash at %d: %w", size, err)
	}
	if prev != nil {
		// Never sign a checkpoint that does not extend the last one.
		proof, err := tlog.ProveTree(size, prev.Size, hr)
		if err != nil {
			return nil, fmt.Errorf("consistency proof %d -> %d: %w", prev.Size, size, err)
		}
		if err := tlog.CheckTree(proof, size, root, prev.Size, prev.Root); err != nil {
			return nil, fmt.Errorf("refusing to sign: tree at %d is not consistent with checkpoint %d: %w", size, prev.Size, err)
		}
	}
	msg, err := note.Sign(&note.Note{Text: CheckpointBody(v.origin, size, root)}, signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	cp := &Checkpoint{Size: size, Root: root, Note: msg, CreatedAt: v.opts.Now().UTC().Truncate(time.Microsecond)}
	var tsaErr error
	if v.opts.TSA != nil {
		// A TSA that fails does not stop the checkpoint: the evidence is
		// signed and kept, and the error says its trusted time is missing.
		cp.TSR, _, tsaErr = v.opts.TSA.Stamp(ctx, msg)
	}
	if _, err := v.w.ExecContext(ctx, `INSERT INTO checkpoints (size, root, note, created_at, tsr) VALUES (?, ?, ?, ?, ?)`,
		cp.Size, cp.Root[:], string(cp.Note), FormatTime(cp.CreatedAt), cp.TSR); err != nil {
		return nil, fmt.Errorf("store checkpoint: %w", v.diskErr(err))
	}
	return cp, tsaErr
}

// LatestCheckpoint returns the newest checkpoint, or nil if none was signed.
func (v *Vault) LatestCheckpoint(ctx context.Context) (*Checkpoint, error) {
	return v.latestCheckpoint(ctx, v.r)
}

func (v *Vault) latestCheckpoint(ctx context.Context, db *sql.DB) (*Checkpoint, error) {
	row := db.QueryRowContext(ctx, `SELECT size, root, note, created_at, tsr FROM checkpoints ORDER BY size DESC LIMIT 1`)
	cp, err := scanCheckpoint(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return cp, err
}

// Checkpoints calls fn for every checkpoint, oldest first.
func (v *Vault) Checkpoints(ctx context.Context, fn func(*Checkpoint) error) error {
	rows, err := v.r.QueryContext(ctx, `SELECT size, root, note, created_at, tsr FROM checkpoints ORDER BY size`)
	if err != nil {
		return fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		cp, err := scanCheckpoint(rows.Scan)
		if err != nil {
			return err
		}
		if err := fn(cp); err != nil {
			return err
		}
	}
	return rows.Err()
}

func scanCheckpoint(scan func(...any) error) (*Checkpoint, error) {
	var (
		cp        Checkpoint
		root      []byte
		msg, when string
	)
	if err := scan(&cp.Size, &root, &msg, &when, &cp.TSR); err != nil {
		return nil, err
	}
	copy(cp.Root[:], root)
	cp.Note = []byte(msg)
	cp.CreatedAt, _ = ParseTime(when)
	return &cp, nil
}

// ProveRecord returns the inclusion proof of leaf index in the tree of the
// given size.
func (v *Vault) ProveRecord(ctx context.Context, index, size int64) (tlog.RecordProof, error) {
	p, err := tlog.ProveRecord(size, index, v.hashReader(ctx, v.r))
	if err != nil {
		return nil, fmt.Errorf("prove record %d in tree %d: %w", index, size, err)
	}
	return p, nil
}

// Prover makes inclusion proofs in one tree size, caching the tree hashes it
// reads: proofs of nearby leaves share most of their hashes, so a bundle of
// many records costs a few reads per proof instead of log n. Not safe for
// concurrent use.
type Prover struct {
	size  int64
	cache map[int64]tlog.Hash
	hr    tlog.HashReader
}

// proverCacheMax bounds a Prover's memory (32 bytes a hash).
const proverCacheMax = 1 << 16

// NewProver returns a Prover for the tree of the given size.
func (v *Vault) NewProver(ctx context.Context, size int64) *Prover {
	p := &Prover{size: size, cache: map[int64]tlog.Hash{}}
	base := v.hashReader(ctx, v.r)
	p.hr = tlog.HashReaderFunc(func(ids []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ids))
		var missing []int64
		for i, id := range ids {
			h, ok := p.cache[id]
			if !ok {
				missing = append(missing, id)
				continue
			}
			out[i] = h
		}
		if len(missing) > 0 {
			got, err := base.ReadHashes(missing)
			if err != nil {
				return nil, err
			}
			if len(p.cache)+len(got) > proverCacheMax {
				p.cache = map[int64]tlog.Hash{}
			}
			for j, id := range missing {
				p.cache[id] = got[j]
			}
			for i, id := range ids {
				out[i] = p.cache[id]
			}
		}
		return out, nil
	})
	return p
}

// Prove returns the inclusion proof of leaf index.
func (p *Prover) Prove(index int64) (tlog.RecordProof, error) {
	proof, err := tlog.ProveRecord(p.size, index, p.hr)
	if err != nil {
		return nil, fmt.Errorf("prove record %d in tree %d: %w", index, p.size, err)
	}
	return proof, nil
}

// ProveTree returns the consistency proof from the tree of size old to the
// tree of size size.
func (v *Vault) ProveTree(ctx context.Context, size, old int64) (tlog.TreeProof, error) {
	p, err := tlog.ProveTree(size, old, v.hashReader(ctx, v.r))
	if err != nil {
		return nil, fmt.Errorf("prove tree %d -> %d: %w", old, size, err)
	}
	return p, nil
}

// FormatProof renders a C2SP tlog-proof@v1: the header line, the leaf index,
// the inclusion proof hashes in base64 one per line, a blank line, then the
// checkpoint verbatim.
func FormatProof(index int64, proof tlog.RecordProof, checkpoint []byte) []byte {
	var b bytes.Buffer
	b.WriteString("c2sp.org/tlog-proof@v1\n")
	fmt.Fprintf(&b, "index %d\n", index)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(checkpoint)
	return b.Bytes()
}
