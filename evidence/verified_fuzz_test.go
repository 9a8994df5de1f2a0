package evidence

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerifiedMark writes hostile bytes as verified.json, the incremental
// verify's bookmark, into a vault whose record 12 was altered after
// checkpoint 10 was signed (checkpoints at 5, 10 and 15). Nothing may
// panic, and no bookmark may hide the alteration except the one genuine
// bookmark that says checkpoint 15 was verified (which is what the
// bookmark means).
func FuzzVerifiedMark(f *testing.F) {
	v := newVault(f)
	recs := fillRuns(f, v, 3, 5)
	roots := map[int64]string{}
	if err := v.Checkpoints(f.Context(), func(cp *Checkpoint) error {
		roots[cp.Size] = base64.StdEncoding.EncodeToString(cp.Root[:])
		return nil
	}); err != nil {
		f.Fatal(err)
	}
	tamper(f, v, fmt.Sprintf(`UPDATE records SET subject = 'forged' WHERE id = '%s'`, recs[12].ID))
	mark := func(size int64, root string, content int64) []byte {
		b, _ := json.Marshal(verifiedMark{Size: size, Root: root, ContentID: content})
		return b
	}
	for _, size := range []int64{5, 10, 15} {
		f.Add(mark(size, roots[size], size))
	}
	f.Add(mark(10, roots[15], 10))
	f.Add(mark(15, roots[10], 1<<62))
	f.Add(mark(1<<62, roots[15], 0))
	f.Add(mark(16, roots[15], -1))
	f.Add(mark(7, "", 0))
	f.Add(mark(5, "AAAA", 0))
	f.Add([]byte(`{"size":-1}`))
	f.Add([]byte(`{"size":1e99,"root":7}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	path := filepath.Join(v.Dir(), verifiedFile)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := v.VerifyIncremental(t.Context(), "")
		if err != nil || !rep.OK {
			return
		}
		var m verifiedMark
		if json.Unmarshal(b, &m) != nil || m.Size != 15 || m.Root != roots[15] || !rep.Incremental || rep.From != 15 {
			t.Fatalf("bookmark %q hid the record altered at 12: %+v", b, rep)
		}
	})
}
