package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gowebpki/jcs"
)

// Record is one entry of the evidence log: one artifact as collected at one
// time. Re-collecting identical content makes a new Record pointing at the same
// content (an observation: "still so at time T"); no Record is ever changed.
//
// The JSON form is the `evidence list --format json` contract.
type Record struct {
	ID          string            `json:"id"` // UUIDv7
	Index       int64             `json:"index"`
	Run         string            `json:"run"`
	Connector   string            `json:"connector"`
	Type        string            `json:"type"`
	Kind        string            `json:"kind"`
	Subject     string            `json:"subject"`
	CollectedAt time.Time         `json:"collected_at"`
	EffectiveAt *time.Time        `json:"effective_at"`
	SHA256      Digest            `json:"sha256"`
	Size        int64             `json:"size"`
	MediaType   string            `json:"media_type"`
	SourceURL   string            `json:"source_url"`
	Provenance  json.RawMessage   `json:"provenance"`
	Attributes  map[string]string `json:"attributes"`
	Controls    []string          `json:"controls"`
}

// RecordVersion is the value of "v" in every record's canonical bytes.
const RecordVersion = 1

// timeLayout is fixed-width (microseconds, always UTC "Z"), so times compare
// as strings in SQL and read the same in every record.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// FormatTime renders t as records store it.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(timeLayout) }

// ParseTime parses a time written by FormatTime.
func ParseTime(s string) (time.Time, error) { return time.Parse(timeLayout, s) }

// leafV1 is the leaf encoding, version 1. Never change it: old leaves must
// hash the same forever. A new field means a new version.
//
// The leaf bytes of a record are the RFC 8785 (JCS) canonical JSON of this
// object, keys in code-point order, no insignificant white space:
//
//	{"attributes":{string:string...},   // {} when none
//	 "collected_at":"2006-01-02T15:04:05.000000Z",  // UTC, microseconds, fixed width
//	 "connector":string, "controls":[string...],   // [] when none, sorted
//	 "effective_at":string|null,          // same layout as collected_at
//	 "id":string,                         // UUIDv7, lower case
//	 "kind":string, "media_type":string,
//	 "provenance":object,                 // as the connector gave it, canonicalised
//	 "run":string, "sha256":string,       // 64 lower-case hex digits
//	 "size":integer, "source_url":string, "subject":string, "type":string,
//	 "v":1}
//
// The Merkle leaf hash is tlog.RecordHash(leaf bytes): SHA-256(0x00 ‖ bytes).
type leafV1 struct {
	Attributes  map[string]string `json:"attributes"`
	CollectedAt string            `json:"collected_at"`
	Connector   string            `json:"connector"`
	Controls    []string          `json:"controls"`
	EffectiveAt *string           `json:"effective_at"`
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	MediaType   string            `json:"media_type"`
	Provenance  json.RawMessage   `json:"provenance"`
	Run         string            `json:"run"`
	SHA256      string            `json:"sha256"`
	Size        int64             `json:"size"`
	SourceURL   string            `json:"source_url"`
	Subject     string            `json:"subject"`
	Type        string            `json:"type"`
	V           int               `json:"v"`
}

// LeafBytes returns r's canonical bytes, the Merkle leaf.
func (r *Record) LeafBytes() ([]byte, error) {
	prov := r.Provenance
	if len(prov) == 0 {
		prov = json.RawMessage("{}")
	}
	canon, err := jcs.Transform(prov)
	if err != nil {
		return nil, fmt.Errorf("record %s: provenance: %w", r.ID, err)
	}
	return r.leafBytes(canon), nil
}

// leafBytes encodes r with prov, which must be canonical JSON already.
func (r *Record) leafBytes(prov []byte) []byte {
	l := leafV1{
		Attributes:  r.Attributes,
		CollectedAt: FormatTime(r.CollectedAt),
		Connector:   r.Connector,
		Controls:    r.Controls,
		ID:          r.ID,
		Kind:        r.Kind,
		MediaType:   r.MediaType,
		Provenance:  prov,
		Run:         r.Run,
		SHA256:      r.SHA256.String(),
		Size:        r.Size,
		SourceURL:   r.SourceURL,
		Subject:     r.Subject,
		Type:        r.Type,
		V:           RecordVersion,
	}
	if r.EffectiveAt != nil {
		s := FormatTime(*r.EffectiveAt)
		l.EffectiveAt = &s
	}
	return encodeLeaf(&l)
}

// ParseLeafFast decodes leaf bytes without checking they are canonical: for
// listing records already verified or about to be.
func ParseLeafFast(b []byte) (*Record, error) {
	return parseLeaf(b, false)
}

// ParseLeaf decodes canonical leaf bytes back into a Record (Index unset). It
// refuses bytes that are not exactly canonical: the same record must have one
// encoding only.
func ParseLeaf(b []byte) (*Record, error) {
	return parseLeaf(b, true)
}

func parseLeaf(b []byte, strict bool) (*Record, error) {
	var l leafV1
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("decode leaf: %w", err)
	}
	if l.V != RecordVersion {
		return nil, fmt.Errorf("decode leaf: version %d, want %d", l.V, RecordVersion)
	}
	r := &Record{
		ID:         l.ID,
		Run:        l.Run,
		Connector:  l.Connector,
		Type:       l.Type,
		Kind:       l.Kind,
		Subject:    l.Subject,
		Size:       l.Size,
		MediaType:  l.MediaType,
		SourceURL:  l.SourceURL,
		Provenance: l.Provenance,
		Attributes: l.Attributes,
		Controls:   l.Controls,
	}
	var err error
	if r.CollectedAt, err = ParseTime(l.CollectedAt); err != nil {
		return nil, fmt.Errorf("decode leaf: collected_at: %w", err)
	}
	if l.EffectiveAt != nil {
		t, err := ParseTime(*l.EffectiveAt)
		if err != nil {
			return nil, fmt.Errorf("decode leaf: effective_at: %w", err)
		}
		r.EffectiveAt = &t
	}
	if r.SHA256, err = ParseDigest(l.SHA256); err != nil {
		return nil, fmt.Errorf("decode leaf: %w", err)
	}
	if !strict {
		return r, nil
	}
	again, err := r.LeafBytes()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("decode leaf: bytes are not in canonical form")
	}
	return r, nil
}
