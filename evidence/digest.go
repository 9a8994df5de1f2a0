package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Digest is the SHA-256 of a piece of content.
type Digest [sha256.Size]byte

// ParseDigest parses 64 lower- or upper-case hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return d, fmt.Errorf("sha256 %q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("sha256 %q: %w", s, err)
	}
	return d, nil
}

// String is the lower-case hex form used everywhere digests are shown.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

func (d Digest) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Digest) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := ParseDigest(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}
