// Package bundle writes and verifies auditor evidence bundles.
//
// A bundle is a BagIt 1.0 bag (RFC 8493) at the root of one zip file:
//
//	bagit.txt                   BagIt-Version 1.0, UTF-8
//	bag-info.txt                Source-Organization, Bagging-Date, Payload-Oxum, External-Identifier
//	manifest-sha256.txt         "<sha256>  data/<path>" per payload file (sha256sum -c reads it)
//	tagmanifest-sha256.txt      the same over the tag files
//	data/manifest.json          bundle info, filter, completeness, one entry per artifact
//	data/records/<id>.json      each record's canonical bytes: the Merkle leaf
//	data/proofs/<id>.tlog-proof C2SP tlog-proof of each record, ending in the checkpoint
//	data/checkpoint             the signed checkpoint every proof leads to
//	data/checkpoint.tsr         its RFC 3161 timestamp token, when the vault has a TSA
//	data/vault.pub              the vault's note verifier key
//	data/controls.csv           control -> evidence: the auditor's request list
//	data/index.html             a readable, printable report; no external assets
//	data/artifacts/…            the evidence files, named by connector and subject
//
// File names use only [A-Za-z0-9._/-], so BagIt and sha256sum agree on them.
// Bundles are deterministic: the same vault state and filter give the same
// bytes (entries in a fixed order, every time taken from the checkpoint).
// Export only reads the vault.
package bundle

import (
	"path"
	"regexp"
	"strings"
)

// Format names the bundle layout in manifest.json.
const Format = "aimsvault-bundle/v1"

// Manifest is data/manifest.json. Verify reads it as a stream, so its
// artifacts array may be of any length.
type Manifest struct {
	Format       string       `json:"format"`
	Origin       string       `json:"origin"`
	Checkpoint   CheckpointID `json:"checkpoint"`
	Filter       Filter       `json:"filter"`
	Artifacts    []Artifact   `json:"artifacts"`
	Completeness Completeness `json:"completeness"`
}

// CheckpointID names the checkpoint the bundle's proofs lead to.
type CheckpointID struct {
	Size int64  `json:"size"`
	Root string `json:"root"` // base64, as in the checkpoint
	Time string `json:"time"` // when the vault signed it (RFC 3339, UTC)
}

// Filter is what the export selected. Empty fields select everything.
type Filter struct {
	Controls   []string `json:"controls"`
	Connectors []string `json:"connectors"`
	Since      string   `json:"since,omitempty"`
	Until      string   `json:"until,omitempty"`
	// Systems: the AI systems (ai_systems ids) whose evidence was selected.
	Systems []string `json:"systems,omitempty"`
}

// Artifact is one record in the bundle.
type Artifact struct {
	ID          string   `json:"id"`
	Path        string   `json:"path"`   // the evidence file, from the bag root
	Record      string   `json:"record"` // its canonical record bytes
	Proof       string   `json:"proof"`  // its tlog-proof
	SHA256      string   `json:"sha256"`
	Size        int64    `json:"size"`
	LeafIndex   int64    `json:"leaf_index"`
	Connector   string   `json:"connector"`
	Kind        string   `json:"kind"`
	Subject     string   `json:"subject"`
	CollectedAt string   `json:"collected_at"`
	Controls    []string `json:"controls"`
}

// Completeness says what the filter selected and what the bundle holds. No
// selected record is left out without a line here saying why.
type Completeness struct {
	Selected int64      `json:"selected"`
	Included int64      `json:"included"`
	Excluded []Excluded `json:"excluded"`
}

// Excluded is a selected record the bundle does not hold.
type Excluded struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeSegment maps s to [A-Za-z0-9._-], never empty, never "." or "..".
func safeSegment(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "_"), "._")
	if s == "" {
		s = "_"
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

var extRE = regexp.MustCompile(`^\.[A-Za-z0-9]{1,8}$`)

// artifactPath names a record's evidence file: by connector and subject, so
// an auditor can browse, with the content hash's first 12 digits so that two
// versions of one document never collide.
func artifactPath(connector, subject, mediaType, sha string) string {
	ext := path.Ext(subject)
	stem := strings.TrimSuffix(subject, ext)
	if !extRE.MatchString(ext) {
		ext = extForMedia(mediaType)
		stem = subject
	}
	var segs []string
	for _, s := range strings.Split(stem, "/") {
		if s != "" {
			segs = append(segs, safeSegment(s))
		}
	}
	if len(segs) == 0 {
		segs = []string{"artifact"}
	}
	if len(segs) > 6 {
		segs = append(segs[:5], strings.Join(segs[5:], "_"))
	}
	segs[len(segs)-1] += "-" + sha[:12] + ext
	return "data/artifacts/" + safeSegment(connector) + "/" + strings.Join(segs, "/")
}

func extForMedia(mt string) string {
	mt, _, _ = strings.Cut(mt, ";")
	switch strings.TrimSpace(mt) {
	case "application/json":
		return ".json"
	case "text/markdown":
		return ".md"
	case "text/plain":
		return ".txt"
	case "text/csv":
		return ".csv"
	case "application/pdf":
		return ".pdf"
	case "text/html":
		return ".html"
	case "application/yaml", "text/yaml":
		return ".yaml"
	}
	return ".bin"
}

// safeName reports whether a bag entry name is one Export could have written:
// relative, clean, within the bag, plain characters.
func safeName(name string) bool {
	if name == "" || len(name) > 1024 || strings.HasPrefix(name, "/") || path.Clean(name) != name {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '/')
	})
}
