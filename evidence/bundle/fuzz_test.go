package bundle

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/evidence"
)

// FuzzVerify feeds hostile archives to the verifier: it must never panic,
// never accept what it was not given a valid bundle for, and always explain
// a rejection. The seeds (a real bundle, a truncated one, garbage) run in
// `make test`; `go test -fuzz FuzzVerify ./evidence/bundle/` explores.
func FuzzVerify(f *testing.F) {
	v := testVault(f, "fuzz.example/aims")
	good := export(f, v, evidence.Filter{})
	f.Add(good)
	f.Add(good[:len(good)-100])
	f.Add([]byte("PK\x03\x04 not really a zip"))
	f.Add([]byte{})
	key := v.VerifierKey()
	f.Fuzz(func(t *testing.T, b []byte) {
		rep := verifyBytes(b, key)
		if rep.OK && !bytes.Equal(b, good) {
			// Another valid bundle must at least be a bag that verifies the
			// same key: the only way is a byte-different zip of the same
			// files, which is fine, but it must hold artifacts.
			if rep.Artifacts == 0 {
				t.Fatalf("accepted a bundle with no artifacts")
			}
		}
		if !rep.OK && len(rep.Problems) == 0 && rep.Truncated == 0 {
			t.Fatalf("rejected without a problem")
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  data/x.txt\n", true)
	f.Add("zz  data/x\n\n", true)
	f.Add("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  ../x\n", false)
	f.Fuzz(func(t *testing.T, text string, payload bool) {
		m, problems := ParseManifest(strings.NewReader(text), payload)
		for p, sum := range m {
			if !safeName(p) || len(sum) != 64 || payload != strings.HasPrefix(p, "data/") {
				t.Fatalf("accepted %q %q", p, sum)
			}
		}
		_ = problems
	})
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add(`{"format":"aimsvault-bundle/v1","artifacts":[{"id":"x"}],"completeness":{"selected":1,"included":1,"excluded":[]}}`)
	f.Add(`{"artifacts":[`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, text string) {
		n := 0
		DecodeManifest(strings.NewReader(text),
			func(ManifestHeader) error { return nil },
			func(Artifact) error { n++; return nil },
			func(Completeness) error { return nil })
	})
}

func FuzzParseProof(f *testing.F) {
	f.Add([]byte("c2sp.org/tlog-proof@v1\nindex 3\nvZGkrh/3Iubev9KECzI7RCiKT57ozuMVExpxU8HN1+Y=\n\norigin\n4\nroot\n"))
	f.Add([]byte("c2sp.org/tlog-proof@v1\nextra AAAA\nindex -1\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		index, proof, _, err := ParseProof(b)
		if err == nil && (index < 0 || len(proof) > 64) {
			t.Fatalf("accepted index %d with %d hashes", index, len(proof))
		}
	})
}
