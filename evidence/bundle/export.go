package bundle

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/findings"
	"github.com/aimsvault/aimsvault/mapping"
)

// Options select what a bundle holds and how it is described.
type Options struct {
	// Filter selects records. Controls must already be expanded to
	// requirement IDs (mapping.Expand). Limit, Below and From are ignored.
	Filter evidence.Filter
	// Mapper and Sources feed the coverage shown in index.html and
	// controls.csv (Sources: the catalog sources of configured connectors).
	Mapper  *mapping.Mapper
	Sources []string
	// Organization is bag-info.txt's Source-Organization (default: the
	// vault's origin).
	Organization string
	// Progress, if set, is called as records are written.
	Progress func(done, total int64)
	// Systems names the AI systems Filter.Match selects, for the manifest
	// and the report; empty when the filter is not by system.
	Systems []string
	// Findings, if set, returns the open findings as of the checkpoint the
	// bundle is cut at (over the records it covers, with its time as now),
	// so that the same vault state gives the same bundle. index.html and
	// controls.csv show them beside each control.
	Findings func(ctx context.Context, cp *evidence.Checkpoint) ([]findings.Finding, error)
}

// Summary is what Export wrote.
type Summary struct {
	Checkpoint int64 // tree size the proofs lead to
	Selected   int64
	Included   int64
	Excluded   int64
	Files      int64 // payload files
	Bytes      int64 // payload bytes
}

// Export writes a bundle of the records opts selects to w. The bundle holds
// the records covered by the vault's latest checkpoint; selected records
// signed after it are listed as excluded, with why. Memory stays bounded:
// records stream from the vault, and per-record lists go through temporary
// files. Export only reads the vault.
func Export(ctx context.Context, v *evidence.Vault, w io.Writer, opts Options) (*Summary, error) {
	cp, err := v.LatestCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	if cp == nil {
		return nil, fmt.Errorf("the vault has no signed checkpoint yet: run `aimsvault collect` first")
	}
	f := opts.Filter
	f.Limit, f.Below, f.From = 0, 0, 0
	total, err := v.Count(ctx, f)
	if err != nil {
		return nil, err
	}
	spool, err := os.MkdirTemp("", "aimsvault-bundle-")
	if err != nil {
		return nil, fmt.Errorf("bundle spool: %w", err)
	}
	defer os.RemoveAll(spool)

	e := &exporter{
		ctx: ctx, v: v, opts: opts, cp: cp, spool: spool,
		zw:       zip.NewWriter(w),
		modified: cp.CreatedAt.UTC().Truncate(time.Second),
		prover:   v.NewProver(ctx, cp.Size),
		written:  map[evidence.Digest]string{},
		controls: map[string]*spoolFile{},
		cov:      mapping.NewCoverage(opts.Mapper, opts.Sources, cp.CreatedAt),
		sum:      &Summary{Checkpoint: cp.Size, Selected: total},
	}
	defer e.closeSpools()
	if e.manifestLines, err = e.newSpool("manifest-sha256"); err != nil {
		return nil, err
	}
	if e.artifacts, err = e.newSpool("artifacts"); err != nil {
		return nil, err
	}
	if err := e.writeRecords(f, total); err != nil {
		return nil, err
	}
	if err := e.writeLate(f); err != nil {
		return nil, err
	}
	if opts.Findings != nil {
		if e.findings, err = opts.Findings(ctx, cp); err != nil {
			return nil, fmt.Errorf("findings: %w", err)
		}
		e.openByControl = map[string][]string{}
		for _, fd := range e.findings {
			for _, c := range fd.Controls {
				e.openByControl[c] = append(e.openByControl[c], fd.ID)
			}
		}
	}
	for _, step := range []func() error{e.writeCheckpoint, e.writeControlsCSV, e.writeIndex, e.writeManifest, e.writeTags} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := e.zw.Close(); err != nil {
		return nil, fmt.Errorf("finish bundle: %w", err)
	}
	e.sum.Excluded = int64(len(e.excluded))
	return e.sum, nil
}

type exporter struct {
	ctx      context.Context
	v        *evidence.Vault
	opts     Options
	cp       *evidence.Checkpoint
	spool    string
	zw       *zip.Writer
	modified time.Time

	prover        *evidence.Prover
	written       map[evidence.Digest]string // content already in the bag -> its path
	manifestLines *spoolFile                 // "<sha256>  data/<path>" lines, in write order
	artifacts     *spoolFile                 // manifest.json artifact entries, one JSON per line
	controls      map[string]*spoolFile      // per control: controlRow JSON lines
	excluded      []Excluded
	tagLines      []string
	cov           *mapping.Coverage
	sum           *Summary
	findings      []findings.Finding
	openByControl map[string][]string // control -> ids of its open findings
}

// controlRow is one line of controls.csv and one evidence line in index.html.
type controlRow struct {
	ID          string `json:"id"`
	Path        string `json:"path"`
	Connector   string `json:"connector"`
	Kind        string `json:"kind"`
	Subject     string `json:"subject"`
	CollectedAt string `json:"collected_at"`
	SHA256      string `json:"sha256"`
}

// maxExcludedListed bounds the excluded list kept in memory; the count
// beyond it is still reported.
const maxExcludedListed = 10000

func (e *exporter) exclude(id, reason string) {
	e.sum.Excluded++
	if len(e.excluded) < maxExcludedListed {
		e.excluded = append(e.excluded, Excluded{ID: id, Reason: reason})
	}
}

// writeRecords streams every selected record the checkpoint covers: its
// evidence file (once per distinct content), canonical bytes and proof.
func (e *exporter) writeRecords(f evidence.Filter, total int64) error {
	f.Below = e.cp.Size
	var done int64
	return e.v.Leaves(e.ctx, f, func(r *evidence.Record, leaf []byte) error {
		done++
		if e.opts.Progress != nil {
			e.opts.Progress(done, total)
		}
		sha := r.SHA256.String()
		path, ok := e.written[r.SHA256]
		if !ok {
			rc, _, err := e.v.OpenContent(e.ctx, r.SHA256)
			if err != nil {
				e.exclude(r.ID, fmt.Sprintf("content unreadable in the vault (%v): run `aimsvault verify`", err))
				return nil
			}
			path = artifactPath(r.Connector, r.Subject, r.MediaType, sha)
			err = e.writeFile(path, zip.Store, rc)
			rc.Close()
			if err != nil {
				// A mismatch shows only at the end of the content, after its
				// bytes went into the zip: the bundle cannot be completed.
				return fmt.Errorf("record %s: %w: run `aimsvault verify`", r.ID, err)
			}
			e.written[r.SHA256] = path
		}
		proof, err := e.prover.Prove(r.Index)
		if err != nil {
			return err
		}
		recPath := "data/records/" + r.ID + ".json"
		proofPath := "data/proofs/" + r.ID + ".tlog-proof"
		if err := e.writeBytes(recPath, leaf); err != nil {
			return err
		}
		if err := e.writeBytes(proofPath, evidence.FormatProof(r.Index, proof, e.cp.Note)); err != nil {
			return err
		}
		a := Artifact{ID: r.ID, Path: path, Record: recPath, Proof: proofPath, SHA256: sha, Size: r.Size,
			LeafIndex: r.Index, Connector: r.Connector, Kind: r.Kind, Subject: r.Subject,
			CollectedAt: evidence.FormatTime(r.CollectedAt), Controls: r.Controls}
		if err := e.artifacts.writeJSON(a); err != nil {
			return err
		}
		row := controlRow{ID: r.ID, Path: path, Connector: r.Connector, Kind: r.Kind, Subject: r.Subject, CollectedAt: a.CollectedAt, SHA256: sha}
		for _, c := range r.Controls {
			sf, err := e.controlSpool(c)
			if err != nil {
				return err
			}
			if err := sf.writeJSON(row); err != nil {
				return err
			}
		}
		ev := mapping.Evidence{Kind: r.Kind, Attributes: r.Attributes, Controls: r.Controls, CollectedAt: r.CollectedAt}
		if r.EffectiveAt != nil {
			ev.EffectiveAt = *r.EffectiveAt
		}
		e.cov.Add(ev)
		e.sum.Included++
		return nil
	})
}

// writeLate lists selected records the checkpoint does not cover yet.
func (e *exporter) writeLate(f evidence.Filter) error {
	f.From = e.cp.Size
	return e.v.Records(e.ctx, f, func(r *evidence.Record) error {
		e.exclude(r.ID, fmt.Sprintf("logged after the latest checkpoint (tree size %d): export again after the next collection signs it", e.cp.Size))
		return nil
	})
}

func (e *exporter) writeCheckpoint() error {
	if err := e.writeBytes("data/checkpoint", e.cp.Note); err != nil {
		return err
	}
	if e.cp.TSR != nil {
		if err := e.writeBytes("data/checkpoint.tsr", e.cp.TSR); err != nil {
			return err
		}
	}
	return e.writeBytes("data/vault.pub", []byte(e.v.VerifierKey()+"\n"))
}

func (e *exporter) coverage() ([]mapping.ControlStatus, map[string][]mapping.Gap) {
	rows := e.cov.Result()
	gaps := map[string][]mapping.Gap{}
	if !e.opts.Filter.Since.IsZero() && !e.opts.Filter.Until.IsZero() {
		for _, p := range e.cov.Period(e.opts.Filter.Since, e.opts.Filter.Until) {
			gaps[p.Control] = p.Gaps
		}
	}
	return rows, gaps
}

// writeControlsCSV writes the auditor's request list: every requirement item
// with its status, and one row per piece of evidence for it.
func (e *exporter) writeControlsCSV() error {
	return e.writeStream("data/controls.csv", zip.Deflate, func(w io.Writer) error {
		rows, gaps := e.coverage()
		cw := csv.NewWriter(w)
		header := []string{"control", "title", "kind", "status", "evidence_count", "record", "path", "connector", "evidence_kind", "subject", "collected_at", "sha256"}
		if len(gaps) > 0 {
			header = append(header, "period_gaps")
		}
		header = append(header, "open_findings", "findings")
		cw.Write(header)
		for _, c := range rows {
			base := []string{c.Control, c.Title, c.Kind, string(c.Status), strconv.Itoa(c.EvidenceCount)}
			open := e.openByControl[c.Control]
			tail := func(rec []string) []string {
				if len(gaps) > 0 {
					rec = append(rec, gapsText(gaps[c.Control]))
				}
				return append(rec, strconv.Itoa(len(open)), strings.Join(open, " "))
			}
			n := 0
			err := e.eachControlRow(c.Control, func(r controlRow) error {
				n++
				return cw.Write(tail(append(append([]string{}, base...), r.ID, r.Path, r.Connector, r.Kind, r.Subject, r.CollectedAt, r.SHA256)))
			})
			if err != nil {
				return err
			}
			if n == 0 {
				cw.Write(tail(append(base, "", "", "", "", "", "", "")))
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

func gapsText(gs []mapping.Gap) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.From.UTC().Format(time.RFC3339) + ".." + g.To.UTC().Format(time.RFC3339)
	}
	return strings.Join(parts, " ")
}

func (e *exporter) eachControlRow(control string, fn func(controlRow) error) error {
	sf, ok := e.controls[control]
	if !ok {
		return nil
	}
	return sf.each(func(line []byte) error {
		var r controlRow
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		return fn(r)
	})
}

// writeManifest writes manifest.json: the header, the artifacts spooled
// while writing records, and the completeness statement.
func (e *exporter) writeManifest() error {
	return e.writeStream("data/manifest.json", zip.Deflate, func(w io.Writer) error {
		f := e.opts.Filter
		hdr := struct {
			Format     string       `json:"format"`
			Origin     string       `json:"origin"`
			Checkpoint CheckpointID `json:"checkpoint"`
			Filter     Filter       `json:"filter"`
		}{Format, e.v.Origin(), CheckpointID{e.cp.Size, base64.StdEncoding.EncodeToString(e.cp.Root[:]), e.cp.CreatedAt.UTC().Format(time.RFC3339)},
			Filter{Controls: nonNil(f.Controls), Connectors: nonNil(f.Connectors), Since: timeText(f.Since), Until: timeText(f.Until), Systems: e.opts.Systems}}
		b, err := json.Marshal(hdr)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(w)
		bw.Write(b[:len(b)-1]) // reopen the object
		bw.WriteString(",\n\"artifacts\":[")
		first := true
		err = e.artifacts.each(func(line []byte) error {
			if !first {
				bw.WriteString(",")
			}
			first = false
			bw.WriteString("\n")
			_, err := bw.Write(line)
			return err
		})
		if err != nil {
			return err
		}
		comp := Completeness{Selected: e.sum.Selected, Included: e.sum.Included, Excluded: e.excluded}
		if comp.Excluded == nil {
			comp.Excluded = []Excluded{}
		}
		cb, err := json.Marshal(comp)
		if err != nil {
			return err
		}
		bw.WriteString("\n],\n\"completeness\":")
		bw.Write(cb)
		bw.WriteString("}\n")
		return bw.Flush()
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// writeTags writes the BagIt tag files last, when every payload hash is
// known.
func (e *exporter) writeTags() error {
	if err := e.writeTag("bagit.txt", []byte("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")); err != nil {
		return err
	}
	org := e.opts.Organization
	if org == "" {
		org = e.v.Origin()
	}
	info := fmt.Sprintf("Source-Organization: %s\nBagging-Date: %s\nPayload-Oxum: %d.%d\nExternal-Identifier: %s/%d\nBag-Software-Agent: aimsvault\n",
		oneLine(org), e.cp.CreatedAt.UTC().Format("2006-01-02"), e.sum.Bytes, e.sum.Files, oneLine(e.v.Origin()), e.cp.Size)
	if err := e.writeTag("bag-info.txt", []byte(info)); err != nil {
		return err
	}
	if err := e.writeRaw("manifest-sha256.txt", zip.Deflate, func(w io.Writer) error {
		return e.manifestLines.each(func(line []byte) error {
			_, err := fmt.Fprintf(w, "%s\n", line)
			return err
		})
	}, true); err != nil {
		return err
	}
	tm := strings.Join(e.tagLines, "")
	return e.writeRaw("tagmanifest-sha256.txt", zip.Deflate, func(w io.Writer) error {
		_, err := io.WriteString(w, tm)
		return err
	}, false)
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

func (e *exporter) writeTag(name string, b []byte) error {
	return e.writeRaw(name, zip.Deflate, func(w io.Writer) error { _, err := w.Write(b); return err }, true)
}

// writeBytes stores a small per-record file uncompressed: setting up a
// deflate stream costs more than it saves on a 1 KiB file, and stored
// entries cost the verifier nothing to read. Only the summary files
// (manifest.json, controls.csv, index.html, the BagIt manifests) deflate.
func (e *exporter) writeBytes(name string, b []byte) error {
	return e.writeStream(name, zip.Store, func(w io.Writer) error { _, err := w.Write(b); return err })
}

func (e *exporter) writeFile(name string, method uint16, r io.Reader) error {
	return e.writeStream(name, method, func(w io.Writer) error { _, err := io.Copy(w, r); return err })
}

// writeStream writes one payload file, hashing it for manifest-sha256.txt.
func (e *exporter) writeStream(name string, method uint16, fill func(io.Writer) error) error {
	return e.writeRaw(name, method, fill, false)
}

// writeRaw adds one zip entry. Payload files (data/…) go into
// manifest-sha256.txt; with tag set, the entry goes into
// tagmanifest-sha256.txt.
func (e *exporter) writeRaw(name string, method uint16, fill func(io.Writer) error, tag bool) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	if !safeName(name) {
		return fmt.Errorf("bundle: unsafe file name %q", name)
	}
	hdr := &zip.FileHeader{Name: name, Method: method, Modified: e.modified}
	hdr.SetMode(0o644)
	zf, err := e.zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("bundle: %s: %w", name, err)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(zf, h)}
	if err := fill(cw); err != nil {
		return fmt.Errorf("bundle: %s: %w", name, err)
	}
	line := hex.EncodeToString(h.Sum(nil)) + "  " + name
	switch {
	case strings.HasPrefix(name, "data/"):
		e.sum.Files++
		e.sum.Bytes += cw.n
		return e.manifestLines.writeLine([]byte(line))
	case tag:
		e.tagLines = append(e.tagLines, line+"\n")
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// spoolFile is a temporary file of lines, written once then read in order.
type spoolFile struct {
	f *os.File
	w *bufio.Writer
}

func (e *exporter) newSpool(name string) (*spoolFile, error) {
	f, err := os.Create(filepath.Join(e.spool, name))
	if err != nil {
		return nil, fmt.Errorf("bundle spool: %w", err)
	}
	return &spoolFile{f: f, w: bufio.NewWriter(f)}, nil
}

func (e *exporter) controlSpool(control string) (*spoolFile, error) {
	if sf, ok := e.controls[control]; ok {
		return sf, nil
	}
	sf, err := e.newSpool("control-" + safeSegment(control))
	if err != nil {
		return nil, err
	}
	e.controls[control] = sf
	return sf, nil
}

func (e *exporter) closeSpools() {
	for _, sf := range append([]*spoolFile{e.manifestLines, e.artifacts}, mapsValues(e.controls)...) {
		if sf != nil {
			sf.f.Close()
		}
	}
}

func mapsValues(m map[string]*spoolFile) []*spoolFile {
	out := make([]*spoolFile, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func (s *spoolFile) writeLine(b []byte) error {
	s.w.Write(b)
	return s.w.WriteByte('\n')
}

func (s *spoolFile) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.writeLine(b)
}

// each flushes the spool and calls fn for each line, without its newline.
func (s *spoolFile) each(fn func([]byte) error) error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	defer s.f.Seek(0, io.SeekEnd)
	sc := bufio.NewScanner(s.f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}
