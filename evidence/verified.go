package evidence

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// verifiedFile remembers the last checkpoint a verify checked completely.
// It is a side file, not a ledger table: it is the verifier's bookmark, not
// evidence, and a read-only vault can be verified without writing it.
const verifiedFile = "verified.json"

// verifiedMark is the content of verified.json.
type verifiedMark struct {
	// Size and Root are the checkpoint up to which every record, tree hash
	// and checkpoint was recomputed.
	Size int64  `json:"size"`
	Root string `json:"root"` // base64, as in the checkpoint
	// ContentID is the last content row whose bytes were re-hashed.
	ContentID  int64     `json:"content_id"`
	VerifiedAt time.Time `json:"verified_at"`
}

// saveVerifiedMark records cp as verified. It is best effort: a vault that
// cannot be written (read-only media) was still verified; the next
// incremental verify then just starts from an older mark.
func (v *Vault) saveVerifiedMark(cp *Checkpoint, contentID int64) {
	m := verifiedMark{Size: cp.Size, Root: base64.StdEncoding.EncodeToString(cp.Root[:]), ContentID: contentID, VerifiedAt: v.opts.Now().UTC()}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileAtomic(filepath.Join(v.opts.Dir, verifiedFile), append(b, '\n'), 0o644); err != nil {
		v.opts.Logger.Warn("verify: cannot record the verified checkpoint", "err", err)
	}
}

// VerifyIncremental is Verify starting from the last checkpoint a previous
// verify (full or incremental) checked completely, recorded in
// verified.json. With no such record it verifies everything.
//
// What it proves: every record after that checkpoint (leaf bytes, mirror
// columns, tree hashes, content), every content row added since, every
// newer checkpoint's signature and root, and that every checkpoint, old and
// new, is signed by the vault's key and consistent with the verified one —
// so the log only grew since then. What it does not: that records, tree
// hashes or content below the verified checkpoint are still intact in the
// database (a tampered old row, or an object file altered since, shows only
// in a full Verify, or in a bundle's own proofs). verified.json lives in the
// vault folder, so whoever can rewrite the folder can move it: run a full
// Verify on a schedule too, and always for an audit.
func (v *Vault) VerifyIncremental(ctx context.Context, pinnedKey string) (*Report, error) {
	b, err := os.ReadFile(filepath.Join(v.opts.Dir, verifiedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return v.verify(ctx, pinnedKey, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", verifiedFile, err)
	}
	var m verifiedMark
	if err := json.Unmarshal(b, &m); err != nil || m.Size <= 0 {
		return nil, fmt.Errorf("%s is unreadable (%v): remove it to verify everything", filepath.Join(v.opts.Dir, verifiedFile), err)
	}
	return v.verify(ctx, pinnedKey, &m)
}

// verifyUpTo checks what an incremental verify relies on below mark: the
// mark's checkpoint is there, signed, with the mark's root; the stored tree
// hashes on the right edge of that tree hash to its root (they seed the
// rebuild of the rest); and every checkpoint up to it is signed and has a
// valid consistency proof to it. It returns that edge and how many
// checkpoints it checked; ok is false when the mark itself cannot be trusted.
func (v *Vault) verifyUpTo(ctx context.Context, ps *problems, vkey string, m *verifiedMark) (edge map[int64]tlog.Hash, checked int64, ok bool, err error) {
	size := m.Size
	bad := func(sz int64, format string, args ...any) {
		ps.add(phaseCheckpoint, sz, Problem{Checkpoint: &sz, Message: fmt.Sprintf(format, args...)})
	}
	var (
		root tlog.Hash
		mark *Checkpoint
		cps  []*Checkpoint
	)
	raw, derr := base64.StdEncoding.DecodeString(m.Root)
	copy(root[:], raw)
	if err := v.Checkpoints(ctx, func(cp *Checkpoint) error {
		if cp.Size <= size {
			cps = append(cps, cp)
		}
		if cp.Size == size {
			mark = cp
		}
		return nil
	}); err != nil {
		return nil, 0, false, err
	}
	if derr != nil || len(raw) != tlog.HashSize || mark == nil {
		bad(size, "the last verified checkpoint (%s) is gone or unreadable: run a full verify", verifiedFile)
		return nil, 0, false, nil
	}
	if _, sz, r, err := ParseCheckpoint(mark.Note, vkey); err != nil || sz != size || r != root {
		bad(size, "differs from the checkpoint the last verify checked: history was rewritten")
		return nil, 0, false, nil
	}

	// The right edge of the verified tree, from the stored hashes.
	stored := v.hashReader(ctx, v.r)
	edge = map[int64]tlog.Hash{}
	var ids []int64
	for l := 0; size>>l > 0; l++ {
		if (size>>l)&1 == 1 {
			ids = append(ids, tlog.StoredHashIndex(l, (size>>l)-1))
		}
	}
	hs, err := stored.ReadHashes(ids)
	if err != nil {
		return nil, 0, false, fmt.Errorf("verify: read tree hashes at %d: %w", size, err)
	}
	for i, id := range ids {
		edge[id] = hs[i]
	}
	got, err := tlog.TreeHash(size, tlog.HashReaderFunc(func(want []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(want))
		for i, id := range want {
			h, ok := edge[id]
			if !ok {
				return nil, fmt.Errorf("tree hash %d not on the right edge", id)
			}
			out[i] = h
		}
		return out, nil
	}))
	if err != nil || got != root {
		bad(size, "stored tree hashes below the last verified checkpoint were altered: run a full verify")
		return nil, 0, false, nil
	}

	// Older checkpoints: signed, and the log only grew from each to the mark.
	for _, cp := range cps {
		checked++
		if cp.Size == size {
			continue
		}
		_, sz, r, err := ParseCheckpoint(cp.Note, vkey)
		if err != nil {
			bad(cp.Size, "%v", err)
			continue
		}
		if sz != cp.Size || r != cp.Root {
			bad(cp.Size, "signed note differs from the checkpoint's size or root columns")
			continue
		}
		proof, err := tlog.ProveTree(size, cp.Size, stored)
		if err == nil {
			err = tlog.CheckTree(proof, size, root, cp.Size, r)
		}
		if err != nil {
			bad(cp.Size, "not consistent with the last verified checkpoint %d: %v", size, err)
		}
	}
	return edge, checked, true, nil
}
