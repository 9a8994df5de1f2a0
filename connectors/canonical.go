package connectors

import (
	"encoding/json"
	"fmt"

	"github.com/gowebpki/jcs"
)

// CanonicalJSON encodes v as RFC 8785 canonical JSON: sorted keys, no
// insignificant space, canonical number forms. Unchanged upstream data thus
// hashes the same on every run. Pass upstream bodies as json.RawMessage to keep
// exactly the fields the source sent.
func CanonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return out, nil
}
