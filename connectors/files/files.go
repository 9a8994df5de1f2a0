// Package files implements the `files` connector: it collects documents
// (policies, procedures, impact assessments, management review minutes) from a
// folder and its subfolders, one artifact per file.
//
// Each file's content is the file exactly as written, streamed. Markdown files
// (.md, .markdown) may start with YAML front matter between two "---" lines;
// its keys set the artifact's kind, effective date, declared controls and a
// few attributes:
//
//	---
//	title: AI policy
//	kind: ai_policy            # artifact kind file.ai_policy (default: file.<default_kind>)
//	controls: [5.2, A.2.2]     # or "5.2, A.2.2"; attribute controls=5.2,A.2.2
//	owner: Head of AI governance
//	version: "1.0"
//	status: approved
//	effective_at: 2026-11-01   # or approved, reviewed, date; YYYY-MM-DD or RFC 3339
//	---
//
// The connector does not check control IDs: mapping does.
package files

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"os"
	"path"
	"strings"

	"github.com/aimsvault/aimsvault/connectors"
)

//go:embed sample.yaml
var sample string

// Type registers the connector as `type: files`; it supplies the catalog
// source "files".
var Type = connectors.Define("files", "files", sample, defaultConfig, New)

// Connector collects the files under one folder.
type Connector struct {
	cfg     Config
	include []pattern
	exclude []pattern
	log     *slog.Logger
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from a decoded config; it validates cfg first.
func New(cfg Config, deps connectors.Deps) (connectors.Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	inc, err := compileAll(cfg.Include)
	if err != nil {
		return nil, err
	}
	exc, err := compileAll(cfg.Exclude)
	if err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Connector{cfg: cfg, include: inc, exclude: exc, log: log}, nil
}

// Collect walks Path in lexical order and emits one artifact per included
// file. A Path that is missing or not a folder fails before anything is
// emitted. A file or folder that cannot be read is reported in the returned
// error (errors.Join, one entry per file) and the walk goes on; an error from
// emit stops the walk and is returned as is.
func (c *Connector) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := string(c.cfg.Path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return connectors.ConfigErrorf("files: path %s does not exist: fix connectors[].path", dir)
	case err != nil:
		return fmt.Errorf("files: path %s: %w", dir, err)
	case !fi.IsDir():
		return connectors.ConfigErrorf("files: path %s is not a directory: fix connectors[].path", dir)
	}
	// os.Root confines every open to the folder: no "..", no symlink that
	// leads out, even if the tree changes while we walk it.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("files: path %s: %w", dir, err)
	}
	defer root.Close()

	w := &walker{c: c, root: root, emit: emit, buf: make([]byte, maxFrontMatter)}
	if c.cfg.FollowSymlinks {
		top, err := root.Stat(".")
		if err != nil {
			return fmt.Errorf("files: path %s: %w", dir, err)
		}
		w.ancestors = []fs.FileInfo{top}
	}
	if err := w.walk(ctx, "."); err != nil {
		return err
	}
	return errors.Join(w.errs...)
}

type walker struct {
	c    *Connector
	root *os.Root
	emit func(connectors.Artifact) error
	buf  []byte // front matter buffer, reused across files
	errs []error
	// ancestors are the folders being walked, to stop symlink loops; kept
	// only when following symlinks.
	ancestors []fs.FileInfo
}

// walk visits dir (slash-separated, relative to the root). It returns only
// errors that end the walk: ctx done or emit failed.
func (w *walker) walk(ctx context.Context, dir string) error {
	entries, err := fs.ReadDir(w.root.FS(), dir)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("files: read folder %s: %w", dir, err))
		// ReadDir returns what it read before the error: go on with that.
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return errors.Join(append([]error{err}, w.errs...)...)
		}
		rel := path.Join(dir, e.Name())
		typ := e.Type()
		if typ&fs.ModeSymlink != 0 {
			if !w.c.cfg.FollowSymlinks {
				w.c.log.DebugContext(ctx, "symlink skipped", "subject", rel)
				continue
			}
			// Root.Stat follows the link only within the root.
			fi, err := w.root.Stat(rel)
			if err != nil {
				w.errs = append(w.errs, fmt.Errorf("files: %s: symlink not followed: %w", rel, err))
				continue
			}
			typ = fi.Mode().Type()
		}
		switch {
		case typ.IsDir():
			if matchAny(w.c.exclude, rel) {
				w.c.log.DebugContext(ctx, "folder excluded", "subject", rel)
				continue
			}
			if w.ancestors != nil {
				fi, err := w.root.Stat(rel)
				if err != nil {
					w.errs = append(w.errs, fmt.Errorf("files: %s: %w", rel, err))
					continue
				}
				if w.isAncestor(fi) {
					w.c.log.DebugContext(ctx, "symlink loop skipped", "subject", rel)
					continue
				}
				w.ancestors = append(w.ancestors, fi)
				err = w.walk(ctx, rel)
				w.ancestors = w.ancestors[:len(w.ancestors)-1]
				if err != nil {
					return err
				}
				continue
			}
			if err := w.walk(ctx, rel); err != nil {
				return err
			}
		case typ.IsRegular():
			if !matchAny(w.c.include, rel) || matchAny(w.c.exclude, rel) {
				continue
			}
			if err := w.file(ctx, rel); err != nil {
				return err
			}
		default:
			w.c.log.DebugContext(ctx, "not a regular file, skipped", "subject", rel, "mode", typ.String())
		}
	}
	return nil
}

func (w *walker) isAncestor(fi fs.FileInfo) bool {
	for _, a := range w.ancestors {
		if os.SameFile(a, fi) {
			return true
		}
	}
	return false
}

// file emits the artifact for rel. A problem with the file itself is recorded
// in w.errs; the returned error is emit's, and ends the walk.
func (w *walker) file(ctx context.Context, rel string) error {
	f, err := w.root.Open(rel)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("files: open %s: %w", rel, err))
		return nil
	}
	a, size, err := w.artifact(f, rel)
	if err != nil {
		f.Close()
		w.errs = append(w.errs, fmt.Errorf("files: %s: %w", rel, err))
		return nil
	}
	w.c.log.DebugContext(ctx, "file read", "subject", rel, "kind", a.Kind, "size", size)
	if err := w.emit(a); err != nil {
		// The hub owns Content once emitted; closing again is harmless.
		f.Close()
		return err
	}
	return nil
}

// artifact describes the open file f. Its Content is f itself, rewound after
// the front matter was read: the whole file as written, streamed.
func (w *walker) artifact(f *os.File, rel string) (connectors.Artifact, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return connectors.Artifact{}, 0, err
	}
	if !fi.Mode().IsRegular() {
		return connectors.Artifact{}, 0, errors.New("not a regular file")
	}
	ext := strings.ToLower(path.Ext(rel))
	var fm frontMatter
	if ext == ".md" || ext == ".markdown" {
		n, err := io.ReadFull(f, w.buf)
		atEOF := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !atEOF {
			return connectors.Artifact{}, 0, fmt.Errorf("read: %w", err)
		}
		src, ok, err := splitFrontMatter(w.buf[:n], atEOF)
		if err != nil {
			return connectors.Artifact{}, 0, err
		}
		if ok {
			if fm, err = parseFrontMatter(src); err != nil {
				return connectors.Artifact{}, 0, err
			}
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return connectors.Artifact{}, 0, fmt.Errorf("rewind: %w", err)
		}
	}

	kind := w.c.cfg.DefaultKind
	if fm.Kind.s != "" {
		kind = fm.Kind.s
	}
	kind, err = normalizeKind(kind)
	if err != nil {
		return connectors.Artifact{}, 0, &lineError{line: fm.Kind.line + 1, msg: err.Error()}
	}
	eff, err := fm.effectiveAt()
	if err != nil {
		return connectors.Artifact{}, 0, err
	}

	attrs := map[string]string{"file.dir": path.Dir(rel)}
	if ext != "" {
		attrs["file.ext"] = ext[1:]
	}
	for k, v := range map[string]text{"title": fm.Title, "owner": fm.Owner, "version": fm.Version, "status": fm.Status} {
		if v.s != "" {
			attrs[k] = v.s
		}
	}
	if len(fm.Controls) > 0 {
		attrs["controls"] = strings.Join(fm.Controls, ",")
	}
	return connectors.Artifact{
		Kind:        kind,
		Subject:     rel,
		MediaType:   mediaType(ext),
		Attributes:  attrs,
		EffectiveAt: eff,
		Provenance:  connectors.Provenance{Method: "read", Endpoint: rel, Complete: true},
		Content:     f,
	}, fi.Size(), nil
}

// mediaTypes names the document formats policies usually come in, so their
// media type does not depend on the host's mime.types.
var mediaTypes = map[string]string{
	".md":       "text/markdown",
	".markdown": "text/markdown",
	".txt":      "text/plain",
	".pdf":      "application/pdf",
	".doc":      "application/msword",
	".docx":     "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls":      "application/vnd.ms-excel",
	".xlsx":     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".ppt":      "application/vnd.ms-powerpoint",
	".pptx":     "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":      "application/vnd.oasis.opendocument.text",
	".ods":      "application/vnd.oasis.opendocument.spreadsheet",
	".rtf":      "application/rtf",
	".csv":      "text/csv",
	".html":     "text/html",
	".htm":      "text/html",
	".json":     "application/json",
	".yaml":     "application/yaml",
	".yml":      "application/yaml",
	".xml":      "application/xml",
	".png":      "image/png",
	".jpg":      "image/jpeg",
	".jpeg":     "image/jpeg",
}

func mediaType(ext string) string {
	if t, ok := mediaTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt
		}
	}
	return "application/octet-stream"
}
