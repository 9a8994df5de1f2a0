package bundle

import (
	"encoding/json"
	"fmt"
	"io"
)

// ManifestHeader is manifest.json without its artifacts and completeness.
type ManifestHeader struct {
	Format     string       `json:"format"`
	Origin     string       `json:"origin"`
	Checkpoint CheckpointID `json:"checkpoint"`
	Filter     Filter       `json:"filter"`
}

// DecodeManifest reads manifest.json as a stream: header once the artifacts
// array begins, artifact per entry, completeness at its key. Memory does not
// grow with the number of artifacts. Unknown keys are skipped.
func DecodeManifest(r io.Reader, header func(ManifestHeader) error, artifact func(Artifact) error, completeness func(Completeness) error) error {
	// No single value may be huge: json.Decoder buffers each value whole.
	cr := &capReader{r: r, max: maxManifestValue}
	dec := json.NewDecoder(cr)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	var (
		hdr                    ManifestHeader
		sawArtifacts, sawCompl bool
	)
	for dec.More() {
		cr.n = 0
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		key, _ := tok.(string)
		switch key {
		case "format":
			err = dec.Decode(&hdr.Format)
		case "origin":
			err = dec.Decode(&hdr.Origin)
		case "checkpoint":
			err = dec.Decode(&hdr.Checkpoint)
		case "filter":
			err = dec.Decode(&hdr.Filter)
		case "artifacts":
			sawArtifacts = true
			if err = header(hdr); err != nil {
				return err
			}
			if err = expectDelim(dec, '['); err != nil {
				return err
			}
			for i := 0; dec.More(); i++ {
				var a Artifact
				cr.n = 0
				if err := dec.Decode(&a); err != nil {
					return fmt.Errorf("manifest: artifact %d: %w", i, err)
				}
				if err := artifact(a); err != nil {
					return err
				}
			}
			err = expectDelim(dec, ']')
		case "completeness":
			sawCompl = true
			var c Completeness
			if err = dec.Decode(&c); err == nil {
				err = completeness(c)
			}
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return fmt.Errorf("manifest: %s: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if !sawArtifacts || !sawCompl {
		return fmt.Errorf("manifest: artifacts or completeness missing")
	}
	return nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("manifest: expected %q, found %v", d, tok)
	}
	return nil
}

// maxManifestValue bounds one value of manifest.json (one artifact entry,
// the completeness list).
const maxManifestValue = 64 << 20

// capReader fails once more than max bytes are read since n was reset.
type capReader struct {
	r      io.Reader
	n, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, fmt.Errorf("a value larger than %d bytes", c.max)
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
