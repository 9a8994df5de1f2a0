package evidence

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fillRuns appends runs of n records, each run ending in a checkpoint.
func fillRuns(t testing.TB, v *Vault, runs, n int) []*Record {
	t.Helper()
	var recs []*Record
	for r := range runs {
		for i := range n {
			recs = append(recs, appendText(t, v, fmt.Sprintf("r%d-%d.md", r, i), fmt.Sprintf("run %d doc %d", r, i)))
		}
		if _, err := v.SignCheckpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

func problemsOf(rep *Report) string {
	var all []string
	for _, p := range rep.Problems {
		all = append(all, p.String())
	}
	return strings.Join(all, "\n")
}

func TestVerifyIncremental_ChecksOnlyWhatFollowsTheLastVerifiedCheckpoint(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	// No bookmark yet: everything is checked.
	fillRuns(t, v, 3, 7)
	rep, err := v.VerifyIncremental(t.Context(), "")
	if err != nil || !rep.OK || rep.Incremental || rep.Records != 21 {
		t.Fatalf("first incremental verify: %v %+v", err, rep)
	}
	if _, err := os.Stat(filepath.Join(v.Dir(), verifiedFile)); err != nil {
		t.Fatalf("no bookmark after a verify: %v", err)
	}
	fillRuns(t, v, 2, 5) // records 21..30, checkpoints 26 and 31
	rep, err = v.VerifyIncremental(t.Context(), "")
	if err != nil || !rep.OK || !rep.Incremental || rep.From != 21 || rep.Records != 31 || rep.Checkpoints != 5 {
		t.Fatalf("incremental verify: %v %+v", err, rep)
	}

	// The bookmark moved to 31: a record after it that was altered is
	// found by the next incremental verify.
	more := fillRuns(t, v, 1, 4) // 31..34, checkpoint 35
	tamper(t, v, fmt.Sprintf(`UPDATE records SET subject = 'forged' WHERE id = '%s'`, more[2].ID))
	rep, err = v.VerifyIncremental(t.Context(), "")
	if err != nil || rep.OK || rep.From != 31 || !strings.Contains(problemsOf(rep), more[2].ID) {
		t.Fatalf("incremental verify after altering a new record: %v %+v", err, rep)
	}

	// A record below the bookmark altered in the database is beyond an
	// incremental verify (it says what it checked); a full verify finds it.
	v2 := newVault(t)
	recs := fillRuns(t, v2, 2, 5)
	if rep, err := v2.Verify(t.Context(), ""); err != nil || !rep.OK {
		t.Fatal(err, rep)
	}
	fillRuns(t, v2, 1, 3)
	tamper(t, v2, fmt.Sprintf(`UPDATE records SET subject = 'forged' WHERE id = '%s'`, recs[1].ID))
	rep, err = v2.VerifyIncremental(t.Context(), "")
	if err != nil || !rep.OK || rep.From != 10 {
		t.Fatalf("incremental verify, old record altered: %v %+v (want OK: it checks from 10 on)", err, rep)
	}
	if rep, err := v2.Verify(t.Context(), ""); err != nil || rep.OK || !strings.Contains(problemsOf(rep), recs[1].ID) {
		t.Fatalf("full verify must find the altered old record: %v %+v", err, rep)
	}
}

// What an incremental verify rests on is checked: the bookmarked checkpoint
// and the stored hashes on its right edge. Rewritten history there fails it.
func TestVerifyIncremental_RefusesRewrittenHistory(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, want string
		alter      func(t *testing.T, v *Vault, recs []*Record)
	}{
		{"bookmarked checkpoint removed", "gone or unreadable", func(t *testing.T, v *Vault, _ []*Record) {
			tamper(t, v, `DELETE FROM checkpoints WHERE size = 10`)
		}},
		{"edge tree hash altered", "tree hashes below the last verified checkpoint were altered", func(t *testing.T, v *Vault, _ []*Record) {
			// Leaf 7 holds the root of the first 8 leaves (level 3).
			tamper(t, v, `UPDATE records SET hashes = zeroblob(length(hashes)) WHERE idx = 7`)
		}},
		{"older checkpoint re-signed with another root", "checkpoint 5", func(t *testing.T, v *Vault, _ []*Record) {
			tamper(t, v, `UPDATE checkpoints SET root = zeroblob(32) WHERE size = 5`)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := newVault(t)
			recs := fillRuns(t, v, 2, 5)
			if rep, err := v.Verify(t.Context(), ""); err != nil || !rep.OK {
				t.Fatal(err, rep)
			}
			fillRuns(t, v, 1, 3)
			c.alter(t, v, recs)
			rep, err := v.VerifyIncremental(t.Context(), "")
			if err != nil || rep.OK || !strings.Contains(problemsOf(rep), c.want) {
				t.Fatalf("%v %+v\nwant a problem containing %q", err, rep, c.want)
			}
		})
	}
}
