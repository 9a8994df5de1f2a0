package bundle

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/aimsvault/aimsvault/evidence"
)

// Limits on hostile input. A bundle beyond them is refused with a problem,
// never read into memory.
const (
	maxEntries     = 2_000_000
	maxTagFile     = 256 << 20 // manifests of two million files fit
	maxSmallFile   = 16 << 20  // records, proofs, checkpoint, key
	maxTotalSize   = 1 << 40   // 1 TiB of uncompressed content
	maxRatio       = 1000      // deflate cannot honestly do much better
	ratioThreshold = 1 << 20   // ratios are checked for entries above 1 MiB
)

// VerifyProblem names the file in the bag at fault ("" for the bundle as a
// whole) and what is wrong.
type VerifyProblem struct {
	File    string `json:"file"`
	Message string `json:"message"`
}

func (p VerifyProblem) String() string {
	if p.File == "" {
		return p.Message
	}
	return p.File + ": " + p.Message
}

// VerifyReport is the outcome of Verify; its JSON form is `bundle verify
// --format json`.
type VerifyReport struct {
	OK         bool   `json:"ok"`
	Artifacts  int64  `json:"artifacts"`
	Files      int64  `json:"files"`
	Origin     string `json:"origin,omitempty"`
	Checkpoint int64  `json:"checkpoint"`
	// Timestamp is the time an RFC 3161 authority vouched for the checkpoint
	// (data/checkpoint.tsr), when the bundle has one. Its chain to a trusted
	// root is for `openssl ts -verify -CAfile` to check.
	Timestamp *time.Time      `json:"timestamp,omitempty"`
	KeyPinned bool            `json:"key_pinned"`
	Warnings  []string        `json:"warnings"`
	Problems  []VerifyProblem `json:"problems"`
	Excluded  int64           `json:"excluded"`
	Truncated int64           `json:"problems_not_shown,omitempty"`
}

func (r *VerifyReport) add(file, format string, args ...any) {
	if len(r.Problems) >= 1000 {
		r.Truncated++
		return
	}
	r.Problems = append(r.Problems, VerifyProblem{File: file, Message: fmt.Sprintf(format, args...)})
}

// VerifyFile verifies the bundle at path. pinnedKey is the note verifier key
// the auditor trusts (the text of vault.pub); empty means trusting the key
// inside the bundle, which proves integrity but not origin, and says so.
func VerifyFile(path, pinnedKey string) (*VerifyReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Verify(f, fi.Size(), pinnedKey), nil
}

// Verify checks a bundle without trusting it: every entry's name, every
// file's hash against the BagIt manifests, the checkpoint's signature, and
// every record against its inclusion proof and its artifact. It keeps going
// after a problem and reports them all.
func Verify(r io.ReaderAt, size int64, pinnedKey string) *VerifyReport {
	rep := &VerifyReport{Warnings: []string{}, Problems: []VerifyProblem{}}
	defer func() { rep.OK = len(rep.Problems) == 0 && rep.Truncated == 0 }()

	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		rep.add("", "not a readable zip archive (%v): the file is truncated or not a bundle", err)
		return rep
	}
	v := &verifier{rep: rep, files: map[string]*zip.File{}}
	if !v.checkEntries(zr.File) {
		return rep
	}
	payload := v.readManifest("manifest-sha256.txt", true)
	tags := v.readManifest("tagmanifest-sha256.txt", false)
	if payload == nil || tags == nil {
		return rep
	}
	v.checkBagit()
	v.checkHashes(payload, tags)
	vkey := v.key(pinnedKey)
	if vkey == "" {
		return rep
	}
	cp := v.checkpoint(vkey)
	if cp == nil {
		return rep
	}
	v.checkArtifacts(cp, payload)
	return rep
}

type verifier struct {
	rep   *VerifyReport
	files map[string]*zip.File
}

// checkEntries refuses names that could escape the folder, duplicates,
// links and sizes that do not add up.
func (v *verifier) checkEntries(files []*zip.File) bool {
	if len(files) > maxEntries {
		v.rep.add("", "%d entries: more than the %d a bundle may hold", len(files), maxEntries)
		return false
	}
	var total uint64
	ok := true
	for _, zf := range files {
		name := zf.Name
		switch {
		case strings.HasSuffix(name, "/") && zf.UncompressedSize64 == 0:
			continue // a directory entry: harmless, holds nothing
		case !safeName(name):
			v.rep.add(name, "unsafe file name (absolute, '..', or characters outside [A-Za-z0-9._/-]): refusing it")
			ok = false
			continue
		case zf.Mode()&os.ModeSymlink != 0 || !zf.Mode().IsRegular():
			v.rep.add(name, "is a link or special file, not a regular file")
			ok = false
			continue
		}
		if _, dup := v.files[name]; dup {
			v.rep.add(name, "appears twice in the archive")
			ok = false
			continue
		}
		if zf.UncompressedSize64 > ratioThreshold && zf.CompressedSize64 > 0 && zf.UncompressedSize64/zf.CompressedSize64 > maxRatio {
			v.rep.add(name, "expands %d:1: refusing a likely zip bomb", zf.UncompressedSize64/zf.CompressedSize64)
			ok = false
			continue
		}
		total += zf.UncompressedSize64
		v.files[name] = zf
	}
	if total > maxTotalSize {
		v.rep.add("", "declares %d bytes uncompressed: more than the %d a bundle may hold", total, uint64(maxTotalSize))
		return false
	}
	return ok
}

// open returns a reader of an entry that fails if the entry holds more than
// its declared size (or limit), whatever its header says.
func (v *verifier) open(name string, limit int64) (io.ReadCloser, error) {
	zf, ok := v.files[name]
	if !ok {
		return nil, fmt.Errorf("missing from the bundle")
	}
	if limit > 0 && zf.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%d bytes: larger than the %d allowed", zf.UncompressedSize64, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, int64(zf.UncompressedSize64)+1), rc}, nil
}

func (v *verifier) readSmall(name string) ([]byte, bool) {
	rc, err := v.open(name, maxSmallFile)
	if err != nil {
		v.rep.add(name, "%v", err)
		return nil, false
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		v.rep.add(name, "unreadable: %v", err)
		return nil, false
	}
	return b, true
}

// readManifest parses a BagIt sha256 manifest: "<64 hex>  <path>" lines.
func (v *verifier) readManifest(name string, payload bool) map[string]string {
	rc, err := v.open(name, maxTagFile)
	if err != nil {
		v.rep.add(name, "%v: not a complete bag", err)
		return nil
	}
	defer rc.Close()
	m, problems := ParseManifest(rc, payload)
	for _, p := range problems {
		v.rep.add(name, "%s", p)
	}
	return m
}

// ParseManifest reads a BagIt sha256 manifest. With payload set every path
// must be under data/; otherwise none may be. It returns the path -> hex
// hash map and one message per bad line.
func ParseManifest(r io.Reader, payload bool) (map[string]string, []string) {
	m := map[string]string{}
	var problems []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		sum, path, ok := strings.Cut(text, "  ")
		if !ok {
			sum, path, ok = strings.Cut(text, " ")
		}
		path = strings.TrimPrefix(path, "*")
		switch {
		case !ok || len(sum) != 64 || !isHex(sum):
			problems = append(problems, fmt.Sprintf("line %d: not \"<sha256>  <path>\"", line))
		case !safeName(path):
			problems = append(problems, fmt.Sprintf("line %d: unsafe path %q", line, path))
		case payload != strings.HasPrefix(path, "data/"):
			problems = append(problems, fmt.Sprintf("line %d: %s does not belong in this manifest", line, path))
		case m[path] != "":
			problems = append(problems, fmt.Sprintf("line %d: %s listed twice", line, path))
		default:
			m[path] = strings.ToLower(sum)
		}
		if len(problems) > 100 {
			break
		}
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("line %d: %v", line+1, err))
	}
	return m, problems
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

func (v *verifier) checkBagit() {
	b, ok := v.readSmall("bagit.txt")
	if !ok {
		return
	}
	if !bytes.Contains(b, []byte("BagIt-Version: 1.0")) || !bytes.Contains(b, []byte("Tag-File-Character-Encoding: UTF-8")) {
		v.rep.add("bagit.txt", "not a BagIt 1.0 declaration")
	}
}

// checkHashes streams every file once, comparing its SHA-256 with the
// manifests, and checks Payload-Oxum.
func (v *verifier) checkHashes(payload, tags map[string]string) {
	var bytesSeen, filesSeen int64
	names := make([]string, 0, len(v.files))
	for name := range v.files {
		names = append(names, name)
	}
	slices.Sort(names)
	// Hash on every core: entries read independently through ReadAt.
	type result struct {
		sum string
		n   int64
		err error
	}
	results := make([]result, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i].sum, results[i].n, results[i].err = v.hashEntry(names[i])
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()

	for i, name := range names {
		zf := v.files[name]
		want, inPayload := payload[name]
		if !inPayload {
			want = tags[name]
		}
		if want == "" {
			if name != "tagmanifest-sha256.txt" {
				v.rep.add(name, "not listed in manifest-sha256.txt or tagmanifest-sha256.txt")
			}
			continue
		}
		got, n, err := results[i].sum, results[i].n, results[i].err
		if err != nil {
			v.rep.add(name, "unreadable: %v", err)
			continue
		}
		if int64(zf.UncompressedSize64) != n {
			v.rep.add(name, "holds %d bytes, its header says %d", n, zf.UncompressedSize64)
		}
		if got != want {
			v.rep.add(name, "sha256 %s, the manifest says %s: the file was altered", got, want)
		}
		if inPayload {
			bytesSeen += n
			filesSeen++
		}
	}
	for name := range payload {
		if _, ok := v.files[name]; !ok {
			v.rep.add(name, "listed in manifest-sha256.txt but missing from the bundle")
		}
	}
	for name := range tags {
		if _, ok := v.files[name]; !ok {
			v.rep.add(name, "listed in tagmanifest-sha256.txt but missing from the bundle")
		}
	}
	for _, required := range []string{"bagit.txt", "bag-info.txt", "manifest-sha256.txt"} {
		if _, ok := tags[required]; !ok {
			v.rep.add("tagmanifest-sha256.txt", "does not list %s", required)
		}
	}
	v.rep.Files = filesSeen
	if info, ok := v.readSmall("bag-info.txt"); ok {
		oxum := ""
		for _, l := range strings.Split(string(info), "\n") {
			if k, val, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "Payload-Oxum" {
				oxum = strings.TrimSpace(val)
			}
		}
		if want := fmt.Sprintf("%d.%d", bytesSeen, filesSeen); oxum != want {
			v.rep.add("bag-info.txt", "Payload-Oxum %q, the payload holds %s (bytes.files)", oxum, want)
		}
	}
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (v *verifier) hashEntry(name string) (string, int64, error) {
	rc, err := v.open(name, 0)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	n, err := io.CopyBuffer(h, rc, *buf)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// key returns the verifier key to check the checkpoint with.
func (v *verifier) key(pinned string) string {
	inside, ok := v.readSmall("data/vault.pub")
	in := strings.TrimSpace(string(inside))
	if pinned = strings.TrimSpace(pinned); pinned != "" {
		v.rep.KeyPinned = true
		if ok && in != pinned {
			v.rep.Warnings = append(v.rep.Warnings, "data/vault.pub differs from the pinned key: the checkpoint is checked against the pinned key only")
		}
		return pinned
	}
	if !ok {
		return ""
	}
	v.rep.Warnings = append(v.rep.Warnings,
		"the checkpoint was checked against data/vault.pub from inside the bundle: this proves the bundle is intact, not who made it; pin the vault's key with --key vault.pub")
	return in
}

type checkpoint struct {
	note []byte
	size int64
	root tlog.Hash
}

func (v *verifier) checkpoint(vkey string) *checkpoint {
	b, ok := v.readSmall("data/checkpoint")
	if !ok {
		return nil
	}
	origin, size, root, err := evidence.ParseCheckpoint(b, vkey)
	if err != nil {
		v.rep.add("data/checkpoint", "%v: signed by another key, or altered", err)
		return nil
	}
	v.rep.Origin, v.rep.Checkpoint = origin, size
	if _, ok := v.files["data/checkpoint.tsr"]; ok {
		if tsr, ok := v.readSmall("data/checkpoint.tsr"); ok {
			ts, err := evidence.CheckTimestamp(tsr, b)
			if err != nil {
				v.rep.add("data/checkpoint.tsr", "%v", err)
			} else {
				t := ts.Time.UTC()
				v.rep.Timestamp = &t
			}
		}
	}
	return &checkpoint{note: b, size: size, root: root}
}

// checkArtifacts streams manifest.json's artifacts array, checking each
// record's leaf against its proof and the checkpoint, and its artifact file
// against the record.
func (v *verifier) checkArtifacts(cp *checkpoint, payload map[string]string) {
	const name = "data/manifest.json"
	rc, err := v.open(name, 0)
	if err != nil {
		v.rep.add(name, "%v", err)
		return
	}
	defer rc.Close()
	seen := map[string]bool{}
	err = DecodeManifest(rc, func(hdr ManifestHeader) error {
		if hdr.Format != Format {
			return fmt.Errorf("format %q, want %q", hdr.Format, Format)
		}
		if hdr.Checkpoint.Size != cp.size || hdr.Checkpoint.Root != base64.StdEncoding.EncodeToString(cp.root[:]) {
			return fmt.Errorf("names checkpoint %d, but data/checkpoint signs %d", hdr.Checkpoint.Size, cp.size)
		}
		return nil
	}, func(a Artifact) error {
		v.rep.Artifacts++
		v.checkArtifact(cp, payload, a, seen)
		return nil
	}, func(c Completeness) error {
		v.rep.Excluded = int64(len(c.Excluded))
		if c.Included != v.rep.Artifacts {
			return fmt.Errorf("completeness says %d included, the artifacts list holds %d", c.Included, v.rep.Artifacts)
		}
		if c.Selected != c.Included+int64(len(c.Excluded)) && len(c.Excluded) < maxExcludedListed {
			return fmt.Errorf("completeness says %d selected but accounts for %d", c.Selected, c.Included+int64(len(c.Excluded)))
		}
		return nil
	})
	if err != nil {
		v.rep.add(name, "%v", err)
	}
	// Every record file in the bag must be accounted for by the manifest.
	for f := range v.files {
		if strings.HasPrefix(f, "data/records/") && !seen[f] {
			v.rep.add(f, "a record not listed in manifest.json")
		}
	}
}

func (v *verifier) checkArtifact(cp *checkpoint, payload map[string]string, a Artifact, seen map[string]bool) {
	seen[a.Record] = true
	leaf, ok := v.readSmall(a.Record)
	if !ok {
		return
	}
	rec, err := evidence.ParseLeaf(leaf)
	if err != nil {
		v.rep.add(a.Record, "not a canonical aimsvault record: %v", err)
		return
	}
	if rec.ID != a.ID || rec.SHA256.String() != a.SHA256 || rec.Size != a.Size {
		v.rep.add(a.Record, "differs from its manifest.json entry (id, sha256 or size)")
	}
	// The artifact must be the content the signed record names.
	if got, ok := payload[a.Path]; !ok {
		v.rep.add(a.Path, "artifact of record %s missing from manifest-sha256.txt", rec.ID)
	} else if got != rec.SHA256.String() {
		v.rep.add(a.Path, "is not the content record %s names (sha256 %s, the record says %s)", rec.ID, got, rec.SHA256)
	} else if zf, ok := v.files[a.Path]; ok && int64(zf.UncompressedSize64) != rec.Size {
		v.rep.add(a.Path, "holds %d bytes, record %s says %d", zf.UncompressedSize64, rec.ID, rec.Size)
	}
	proof, ok := v.readSmall(a.Proof)
	if !ok {
		return
	}
	index, hashes, cpText, err := ParseProof(proof)
	if err != nil {
		v.rep.add(a.Proof, "%v", err)
		return
	}
	if !bytes.Equal(cpText, cp.note) {
		v.rep.add(a.Proof, "ends in a checkpoint other than data/checkpoint")
		return
	}
	if index != a.LeafIndex {
		v.rep.add(a.Proof, "proves leaf %d, manifest.json says %d", index, a.LeafIndex)
	}
	if index < 0 || index >= cp.size {
		v.rep.add(a.Proof, "leaf %d is outside the checkpoint's tree of %d", index, cp.size)
		return
	}
	if err := tlog.CheckRecord(hashes, cp.size, cp.root, index, tlog.RecordHash(leaf)); err != nil {
		v.rep.add(a.Record, "not included in the signed tree at leaf %d: %v", index, err)
	}
}

// ParseProof reads a C2SP tlog-proof@v1: the header, an optional extra line,
// "index N", the proof hashes in base64, a blank line, then the checkpoint.
func ParseProof(b []byte) (index int64, proof tlog.RecordProof, checkpoint []byte, err error) {
	head, cp, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, fmt.Errorf("not a tlog-proof: no blank line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		return 0, nil, nil, fmt.Errorf("not a c2sp.org/tlog-proof@v1")
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return 0, nil, nil, fmt.Errorf("tlog-proof: no index line")
	}
	index, err = strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil || index < 0 {
		return 0, nil, nil, fmt.Errorf("tlog-proof: bad index %q", lines[0])
	}
	if len(lines)-1 > 64 {
		return 0, nil, nil, fmt.Errorf("tlog-proof: %d hashes, more than any tree needs", len(lines)-1)
	}
	for _, l := range lines[1:] {
		raw, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(raw) != tlog.HashSize {
			return 0, nil, nil, fmt.Errorf("tlog-proof: bad hash line %q", l)
		}
		var h tlog.Hash
		copy(h[:], raw)
		proof = append(proof, h)
	}
	return index, proof, cp, nil
}
