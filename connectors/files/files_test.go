package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
)

// got is an emitted artifact with its content read, as the hub would.
type got struct {
	connectors.Artifact
	Body string
}

// writeTree creates files (slash paths relative to root) with their content.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newConnector(t *testing.T, cfg Config, log *slog.Logger) connectors.Connector {
	t.Helper()
	c, err := New(cfg, connectors.Deps{Name: "policies", Logger: log, Now: time.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// collect runs the connector over root with cfg (Path set to root) and
// returns what it emitted, content read and closed, and Collect's error.
func collect(t *testing.T, root string, cfg Config) ([]got, error) {
	t.Helper()
	cfg.Path = config.Path(root)
	var out []got
	err := newConnector(t, cfg, nil).Collect(t.Context(), func(a connectors.Artifact) error {
		body, err := io.ReadAll(a.Content)
		if err != nil {
			t.Errorf("read content of %s: %v", a.Subject, err)
		}
		if c, ok := a.Content.(io.Closer); ok {
			c.Close()
		}
		a.Content = nil
		out = append(out, got{Artifact: a, Body: string(body)})
		return nil
	})
	return out, err
}

func subjects(gs []got) []string {
	s := []string{}
	for _, g := range gs {
		s = append(s, g.Subject)
	}
	return s
}

func TestCollect_WalkOrderAndSubjects(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"b.txt":      "b",
		"a-b.txt":    "ab",
		"A.txt":      "A",
		"a/z.md":     "z",
		"a/b/c.pdf":  "%PDF-1.7",
		"a/b/d.docx": "PK",
		"noext":      "x",
	})
	gs, err := collect(t, root, defaultConfig())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	// Lexical order, each folder's files in place: "a" sorts before "a-b.txt".
	want := []string{"A.txt", "a/b/c.pdf", "a/b/d.docx", "a/z.md", "a-b.txt", "b.txt", "noext"}
	if diff := cmp.Diff(want, subjects(gs)); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}

	wantArts := []got{
		{Artifact: connectors.Artifact{Kind: "file.document", Subject: "A.txt", MediaType: "text/plain",
			Attributes: map[string]string{"file.ext": "txt", "file.dir": "."},
			Provenance: connectors.Provenance{Method: "read", Endpoint: "A.txt", Complete: true}}, Body: "A"},
		{Artifact: connectors.Artifact{Kind: "file.document", Subject: "a/b/c.pdf", MediaType: "application/pdf",
			Attributes: map[string]string{"file.ext": "pdf", "file.dir": "a/b"},
			Provenance: connectors.Provenance{Method: "read", Endpoint: "a/b/c.pdf", Complete: true}}, Body: "%PDF-1.7"},
		{Artifact: connectors.Artifact{Kind: "file.document", Subject: "a/b/d.docx",
			MediaType:  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			Attributes: map[string]string{"file.ext": "docx", "file.dir": "a/b"},
			Provenance: connectors.Provenance{Method: "read", Endpoint: "a/b/d.docx", Complete: true}}, Body: "PK"},
		{Artifact: connectors.Artifact{Kind: "file.document", Subject: "a/z.md", MediaType: "text/markdown",
			Attributes: map[string]string{"file.ext": "md", "file.dir": "a"},
			Provenance: connectors.Provenance{Method: "read", Endpoint: "a/z.md", Complete: true}}, Body: "z"},
	}
	if diff := cmp.Diff(wantArts, gs[:4]); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	if gs[6].MediaType != "application/octet-stream" {
		t.Errorf("noext media type = %q, want application/octet-stream", gs[6].MediaType)
	}
	if _, ok := gs[6].Attributes["file.ext"]; ok {
		t.Errorf("noext has a file.ext attribute: %v", gs[6].Attributes)
	}
	for _, g := range gs {
		if g.SourceURL != "" {
			t.Errorf("%s: SourceURL = %q, want empty (host paths must not leak)", g.Subject, g.SourceURL)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"**/*", "a.md", true},
		{"**/*", "a/b/c.md", true},
		{"**/*.md", "a.md", true},
		{"**/*.md", "x/y/a.md", true},
		{"**/*.md", "x/y/a.txt", false},
		{"*.md", "x/a.md", false},
		{"docs/**/*.md", "docs/a.md", true},
		{"docs/**/*.md", "docs/x/y/a.md", true},
		{"docs/**/*.md", "other/docs/a.md", false},
		{"**/drafts/**", "drafts/a.md", true},
		{"**/drafts/**", "x/drafts/y/a.md", true},
		{"**/drafts/**", "x/drafts", true},
		{"**/drafts/**", "x/drafted/a.md", false},
		{"**/.*", ".git", true},
		{"**/.*", "a/.DS_Store", true},
		{"**/.*", "a/b.md", false},
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/b/x/c", false},
		{"a/**/**/c", "a/c", true},
		{"[ab].md", "b.md", true},
	}
	for _, tt := range tests {
		p, err := compilePattern(tt.pattern)
		if err != nil {
			t.Fatalf("compilePattern(%q): %v", tt.pattern, err)
		}
		if got := p.match(tt.name); got != tt.want {
			t.Errorf("%q.match(%q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestCollect_IncludeExclude(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"readme.md":                "r",
		"docs/policy.md":           "p",
		"docs/policy.pdf":          "p",
		"docs/a/b/procedure.md":    "p",
		"docs/drafts/next.md":      "d",
		"docs/a/drafts/deep.md":    "d",
		"other/docs/notmatched.md": "n",
	})
	cfg := defaultConfig()
	cfg.Include = []string{"docs/**/*.md"}
	cfg.Exclude = []string{"**/drafts/**"}
	gs, err := collect(t, root, cfg)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	want := []string{"docs/a/b/procedure.md", "docs/policy.md"}
	if diff := cmp.Diff(want, subjects(gs)); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}

func TestCollect_HiddenSkippedByDefault(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"policy.md":          "p",
		".hidden.md":         "h",
		".git/config":        "c",
		".git/objects/ab/cd": "o",
		"sub/.DS_Store":      "d",
		"sub/.cache/x.md":    "x",
		"sub/ok.md":          "ok",
	})
	gs, err := collect(t, root, defaultConfig())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if diff := cmp.Diff([]string{"policy.md", "sub/ok.md"}, subjects(gs)); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}

	// An exclude list of one's own replaces the default.
	cfg := defaultConfig()
	cfg.Exclude = nil
	gs, err = collect(t, root, cfg)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if len(gs) != 7 {
		t.Errorf("with exclude empty got %v, want all 7 files", subjects(gs))
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}

func TestCollect_Symlinks(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"secret.md": "outside secret", "dir/leak.md": "outside leak"})
	root := t.TempDir()
	writeTree(t, root, map[string]string{"real.md": "real", "sub/inner.md": "inner"})
	symlink(t, "real.md", filepath.Join(root, "link-in.md"))
	symlink(t, filepath.Join(outside, "secret.md"), filepath.Join(root, "link-out.md"))
	symlink(t, "../"+filepath.Base(outside)+"/secret.md", filepath.Join(root, "link-rel-out.md"))
	symlink(t, filepath.Join(outside, "dir"), filepath.Join(root, "dir-out"))
	symlink(t, "..", filepath.Join(root, "sub", "loop"))

	t.Run("not followed by default", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg := defaultConfig()
		cfg.Path = config.Path(root)
		var subs []string
		err := newConnector(t, cfg, log).Collect(t.Context(), func(a connectors.Artifact) error {
			subs = append(subs, a.Subject)
			a.Content.(io.Closer).Close()
			return nil
		})
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if diff := cmp.Diff([]string{"real.md", "sub/inner.md"}, subs); diff != "" {
			t.Errorf("subjects (-want +got):\n%s", diff)
		}
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(buf.String(), "subject=link-out.md") {
			t.Errorf("skipped symlink not logged at debug:\n%s", buf.String())
		}
	})

	t.Run("followed within root only", func(t *testing.T) {
		t.Parallel()
		cfg := defaultConfig()
		cfg.FollowSymlinks = true
		gs, err := collect(t, root, cfg)
		want := []string{"link-in.md", "real.md", "sub/inner.md"}
		if diff := cmp.Diff(want, subjects(gs)); diff != "" {
			t.Errorf("subjects (-want +got):\n%s", diff)
		}
		for _, g := range gs {
			if strings.Contains(g.Body, "outside") {
				t.Errorf("%s: content from outside the root was emitted", g.Subject)
			}
		}
		if gs[0].Body != "real" {
			t.Errorf("link-in.md body = %q, want the target's content", gs[0].Body)
		}
		if err == nil {
			t.Fatal("Collect: want an error naming the links that lead outside")
		}
		for _, name := range []string{"link-out.md", "link-rel-out.md", "dir-out"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error does not name %s: %v", name, err)
			}
		}
		if strings.Contains(err.Error(), "sub/loop") {
			t.Errorf("a loop back into the root is skipped, not an error: %v", err)
		}
	})
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

const policyMD = `---
title: AI policy
kind: ai_policy
controls: [5.2, "A.2.2", A.2.10]
owner: "[CEO]"
version: 1.10
status: approved
effective_at: 2026-11-01
reviewed: 2020-01-01
extra:
  nested: [1, 2]
---
# AI policy
`

func TestCollect_FrontMatter(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"policies/ai-policy.md": policyMD})
	gs, err := collect(t, root, defaultConfig())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	want := []got{{
		Artifact: connectors.Artifact{
			Kind:      "file.ai_policy",
			Subject:   "policies/ai-policy.md",
			MediaType: "text/markdown",
			Attributes: map[string]string{
				"file.ext": "md",
				"file.dir": "policies",
				"title":    "AI policy",
				"owner":    "[CEO]",
				"version":  "1.10", // as written, not the number 1.1
				"status":   "approved",
				"controls": "5.2,A.2.2,A.2.10",
			},
			EffectiveAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
			Provenance:  connectors.Provenance{Method: "read", Endpoint: "policies/ai-policy.md", Complete: true},
		},
		Body: policyMD, // the whole file, front matter included
	}}
	if diff := cmp.Diff(want, gs); diff != "" {
		t.Errorf("artifact (-want +got):\n%s", diff)
	}
}

func TestCollect_FrontMatterVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		kind       string
		controls   string // "" means no attribute
		eff        time.Time
	}{
		{"comma controls", "---\ncontrols: \" 5.2 ,A.2.2,, 10.2 \"\n---\n", "file.document", "5.2,A.2.2,10.2", time.Time{}},
		{"block list controls", "---\ncontrols:\n  - 6.1.4\n  - ' A.5.2 '\n---\n", "file.document", "6.1.4,A.5.2", time.Time{}},
		{"kind already prefixed", "---\nkind: file.risk_register\n---\n", "file.risk_register", "", time.Time{}},
		{"approved when no effective_at", "---\napproved: 2026-03-04\nreviewed: 2026-05-06\n---\n", "file.document", "", time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)},
		{"reviewed then date", "---\nreviewed: 2026-05-06\ndate: 2026-07-08\n---\n", "file.document", "", time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC)},
		{"date rfc3339", "---\ndate: 2026-07-08T10:30:00+02:00\n---\n", "file.document", "", time.Date(2026, 7, 8, 8, 30, 0, 0, time.UTC)},
		{"crlf", "---\r\nkind: minutes\r\ndate: \"2026-01-02\"\r\n---\r\nbody\r\n", "file.minutes", "", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"empty front matter", "---\n---\nbody\n", "file.document", "", time.Time{}},
		{"no front matter", "# title\n---\nkind: x\n---\n", "file.document", "", time.Time{}},
		{"front matter only", "---\nkind: note\n---", "file.note", "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			writeTree(t, root, map[string]string{"doc.markdown": tt.body})
			gs, err := collect(t, root, defaultConfig())
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			if len(gs) != 1 {
				t.Fatalf("got %d artifacts, want 1", len(gs))
			}
			g := gs[0]
			if g.Kind != tt.kind {
				t.Errorf("Kind = %q, want %q", g.Kind, tt.kind)
			}
			if c, ok := g.Attributes["controls"]; c != tt.controls || ok != (tt.controls != "") {
				t.Errorf("controls = %q (present %v), want %q", c, ok, tt.controls)
			}
			if !g.EffectiveAt.Equal(tt.eff) {
				t.Errorf("EffectiveAt = %v, want %v", g.EffectiveAt, tt.eff)
			}
			if g.Body != tt.body {
				t.Errorf("Body = %q, want the file as written", g.Body)
			}
		})
	}
}

func TestCollect_FrontMatterOnlyForMarkdown(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"notes.txt": "---\nkind: [broken\n---\n"})
	gs, err := collect(t, root, defaultConfig())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if len(gs) != 1 || gs[0].Kind != "file.document" {
		t.Errorf("got %+v, want one file.document", gs)
	}
}

func TestCollect_BadFilesReportedOthersEmitted(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"a-good.md":      "---\nkind: ai_policy\n---\n",
		"b-malformed.md": "---\ntitle: ok\ncontrols: [5.2\n---\n",
		"c-baddate.md":   "---\ntitle: x\neffective_at: 2026-13-45\n---\n",
		"d-badkind.md":   "---\nkind: AI Policy\n---\n",
		"e-unclosed.md":  "---\ntitle: never closed\n",
		"f-list.md":      "---\n- a\n- b\n---\n",
		"g-maptitle.md":  "---\nkind: x\ntitle:\n  a: b\n---\n",
		"h-good.txt":     "plain",
	})
	gs, err := collect(t, root, defaultConfig())
	if diff := cmp.Diff([]string{"a-good.md", "h-good.txt"}, subjects(gs)); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	if err == nil {
		t.Fatal("Collect: want an error")
	}
	for _, want := range []string{
		"b-malformed.md: front matter line 3",
		"c-baddate.md: front matter line 3: effective_at \"2026-13-45\" is not a date",
		"d-badkind.md: front matter line 2: kind \"AI Policy\" is not allowed",
		"e-unclosed.md: front matter line 1: no closing --- line",
		"f-list.md: front matter line 2",
		"g-maptitle.md: front matter line 4",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestCollect_FrontMatterBeyond64KiB(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	long := "---\ntitle: long\n" + strings.Repeat("# padding line\n", 5000) + "kind: late\n---\nbody\n"
	writeTree(t, root, map[string]string{"long.md": long})
	_, err := collect(t, root, defaultConfig())
	if err == nil || !strings.Contains(err.Error(), "long.md: front matter line 1: no closing --- line within the first 64 KiB") {
		t.Errorf("Collect error = %v, want front matter not closed within 64 KiB", err)
	}
}

func TestCollect_UnreadableFile(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a.md": "a", "b.md": "b", "c.md": "c"})
	if err := os.Chmod(filepath.Join(root, "b.md"), 0); err != nil {
		t.Fatal(err)
	}
	gs, err := collect(t, root, defaultConfig())
	if diff := cmp.Diff([]string{"a.md", "c.md"}, subjects(gs)); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	if err == nil || !strings.Contains(err.Error(), "open b.md") {
		t.Errorf("Collect error = %v, want one naming b.md", err)
	}
}

func TestCollect_PathMissing(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"file.md": "x"})
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(root, "policies"), "does not exist: fix connectors[].path"},
		{filepath.Join(root, "file.md"), "is not a directory: fix connectors[].path"},
	} {
		cfg := defaultConfig()
		cfg.Path = config.Path(tt.path)
		emitted := 0
		err := newConnector(t, cfg, nil).Collect(t.Context(), func(connectors.Artifact) error {
			emitted++
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Collect(%s) error = %v, want it to name the path and say %q", tt.path, err, tt.want)
		}
		if emitted != 0 {
			t.Errorf("Collect(%s) emitted %d artifacts, want none", tt.path, emitted)
		}
	}
}

func TestCollect_EmitErrorStops(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a.md": "a", "b/c.md": "c", "d.md": "d", "z-bad.md": "---\nkind: [\n---\n"})
	cfg := defaultConfig()
	cfg.Path = config.Path(root)
	stop := errors.New("vault full")
	calls := 0
	err := newConnector(t, cfg, nil).Collect(t.Context(), func(a connectors.Artifact) error {
		calls++
		a.Content.(io.Closer).Close()
		if a.Subject == "b/c.md" {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("Collect error = %v, want emit's error as is", err)
	}
	if calls != 2 {
		t.Errorf("emit called %d times, want 2 (stopped at b/c.md)", calls)
	}
}

func TestCollect_ContextCanceled(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a.md": "a", "b/c.md": "c", "d.md": "d"})
	cfg := defaultConfig()
	cfg.Path = config.Path(root)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var subs []string
	err := newConnector(t, cfg, nil).Collect(ctx, func(a connectors.Artifact) error {
		subs = append(subs, a.Subject)
		a.Content.(io.Closer).Close()
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Collect error = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff([]string{"a.md"}, subs); diff != "" {
		t.Errorf("emitted after cancel (-want +got):\n%s", diff)
	}

	ctx, cancel2 := context.WithCancel(t.Context())
	cancel2()
	err = newConnector(t, cfg, nil).Collect(ctx, func(connectors.Artifact) error {
		t.Error("emit called with a canceled context")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Collect with canceled ctx error = %v, want context.Canceled", err)
	}
}

func TestCollect_ContentExactBytes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// Bytes a text-mode reader would alter: CRLF, a NUL, invalid UTF-8.
	body := []byte("---\r\nkind: minutes\r\n---\r\nline\x00\xff\xfe\r\n")
	want := sha256.Sum256(body)
	if err := os.WriteFile(filepath.Join(root, "m.md"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.Path = config.Path(root)
	var sum []byte
	err := newConnector(t, cfg, nil).Collect(t.Context(), func(a connectors.Artifact) error {
		h := sha256.New()
		if _, err := io.Copy(h, a.Content); err != nil {
			return err
		}
		sum = h.Sum(nil)
		return a.Content.(io.Closer).Close()
	})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if !bytes.Equal(sum, want[:]) {
		t.Errorf("content sha256 = %x, want %x", sum, want)
	}
}

// TestCollect_LargeFileStreamed is not parallel: it measures allocation, and
// sequential tests run while parallel ones wait.
func TestCollect_LargeFileStreamed(t *testing.T) {
	const size = 20 << 20
	root := t.TempDir()
	f, err := os.Create(filepath.Join(root, "big.md"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := io.MultiWriter(f, h)
	io.WriteString(w, "---\nkind: evaluation_report\n---\n")
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for written := int64(34); written < size; written += int64(len(chunk)) {
		w.Write(chunk)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := h.Sum(nil)
	fi, _ := os.Stat(f.Name())

	cfg := defaultConfig()
	cfg.Path = config.Path(root)
	c := newConnector(t, cfg, nil)
	var before, atEmit runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var n int64
	var sum []byte
	err = c.Collect(t.Context(), func(a connectors.Artifact) error {
		runtime.ReadMemStats(&atEmit)
		switch a.Content.(type) {
		case *bytes.Reader, *bytes.Buffer, *strings.Reader:
			t.Errorf("Content is a %T: the file was buffered", a.Content)
		}
		h := sha256.New()
		var err error
		n, err = io.CopyBuffer(h, a.Content, make([]byte, 32<<10))
		sum = h.Sum(nil)
		a.Content.(io.Closer).Close()
		return err
	})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if n != fi.Size() || !bytes.Equal(sum, want) {
		t.Errorf("streamed %d bytes with sha256 %x, want %d bytes with %x", n, sum, fi.Size(), want)
	}
	// Reaching emit may cost the 64 KiB front matter buffer, not the file.
	if alloc := atEmit.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("allocated %d bytes before emit, want the file not read into memory", alloc)
	}
}

func TestCollect_LogsDebugPerFileNeverInfo(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a.md": "aaa", "b/c.txt": "cc"})
	cfg := defaultConfig()
	cfg.Path = config.Path(root)
	rec := &recorder{}
	err := newConnector(t, cfg, slog.New(rec)).Collect(t.Context(), func(a connectors.Artifact) error {
		return a.Content.(io.Closer).Close()
	})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	want := []string{
		"DEBUG file read kind=file.document size=3 subject=a.md",
		"DEBUG file read kind=file.document size=2 subject=b/c.txt",
	}
	if diff := cmp.Diff(want, rec.lines()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

// recorder is a slog.Handler that keeps each record as "LEVEL msg k=v..."
// with attributes sorted.
type recorder struct {
	mu  sync.Mutex
	out []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	var attrs []string
	rec.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a.String())
		return true
	})
	slices.Sort(attrs)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out = append(r.out, strings.Join(append([]string{rec.Level.String(), rec.Message}, attrs...), " "))
	return nil
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.out...)
}

func TestSample_DecodesStrictlyAndValidates(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	if err := yaml.UnmarshalWithOptions([]byte(sample), &cfg, yaml.Strict()); err != nil {
		t.Fatalf("sample.yaml does not decode strictly: %v", err)
	}
	if cfg.Path == "" {
		cfg.Path = config.Path(t.TempDir())
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("sample.yaml does not validate: %v", err)
	}

	// Optional keys are commented out at their default: uncommented, they
	// decode to exactly the defaults.
	var uncommented []string
	for line := range strings.Lines(sample) {
		if m := regexp.MustCompile(`^# ([a-z_]+: .*)$`).FindStringSubmatch(strings.TrimRight(line, "\n")); m != nil {
			uncommented = append(uncommented, m[1])
		}
	}
	if len(uncommented) != 4 {
		t.Fatalf("found %d commented-out keys in sample.yaml, want 4 (include, exclude, follow_symlinks, default_kind)", len(uncommented))
	}
	var explicit Config
	if err := yaml.UnmarshalWithOptions([]byte(strings.Join(uncommented, "\n")), &explicit, yaml.Strict()); err != nil {
		t.Fatalf("commented-out keys do not decode: %v", err)
	}
	if diff := cmp.Diff(defaultConfig(), explicit); diff != "" {
		t.Errorf("commented-out keys differ from defaultConfig (-default +sample):\n%s", diff)
	}

	bad := defaultConfig()
	err := yaml.UnmarshalWithOptions([]byte(sample+"\nfollow_symlink: true\n"), &bad, yaml.Strict())
	if err == nil || !strings.Contains(err.Error(), "follow_symlink") {
		t.Errorf("unknown key: error = %v, want a strict decode error naming it", err)
	}
}

func TestType(t *testing.T) {
	t.Parallel()
	if Type.Name != "files" || Type.Source != "files" || Type.Sample != sample {
		t.Errorf("Type = %q/%q, want files/files with the embedded sample", Type.Name, Type.Source)
	}
	cfg, ok := Type.NewConfig().(*Config)
	if !ok {
		t.Fatalf("NewConfig returned %T, want *Config", Type.NewConfig())
	}
	if diff := cmp.Diff(defaultConfig(), *cfg); diff != "" {
		t.Errorf("NewConfig defaults (-want +got):\n%s", diff)
	}
	if _, err := Type.New(cfg, connectors.Deps{}); err == nil {
		t.Error("New with no path: want a validation error")
	}
	cfg.Path = config.Path(t.TempDir())
	if _, err := Type.New(cfg, connectors.Deps{}); err != nil {
		t.Errorf("New: %v", err)
	}
}

func TestValidate_ReportsEverything(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Include:     []string{"docs/**/*.md", "a[", "/abs"},
		Exclude:     []string{"x**y", "../up"},
		DefaultKind: "Policy Doc",
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate: want errors")
	}
	for _, want := range []string{
		"path is required",
		`include[1] "a["`,
		`include[2] "/abs"`,
		`exclude[0] "x**y"`,
		`exclude[1] "../up"`,
		`default_kind: kind "Policy Doc" is not allowed`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "include[0]") {
		t.Errorf("a good pattern was reported: %v", err)
	}

	empty := defaultConfig()
	empty.Path = "x"
	empty.Include = []string{}
	if err := empty.Validate(); err == nil || !strings.Contains(err.Error(), "include is empty") {
		t.Errorf("empty include: Validate = %v, want an error", err)
	}
}

// TestExamples collects the shipped policy templates: what `make run` first
// puts into the vault.
func TestExamples(t *testing.T) {
	t.Parallel()
	gs, err := collect(t, filepath.Join("..", "..", "examples"), defaultConfig())
	if err != nil {
		t.Fatalf("Collect examples: %v", err)
	}
	type summary struct{ Kind, Controls, Status string }
	want := map[string]summary{
		"README.md":             {"file.document", "", ""},
		"policies/ai-policy.md": {"file.ai_policy", "5.2,A.2.2,A.2.3,A.2.4,5.1", "template"},
		"assessments/ai-system-impact-assessment-template.md": {"file.impact_assessment", "6.1.4,8.4,A.5.2,A.5.3,A.5.4,A.5.5", "template"},
		"risk/ai-risk-register-template.md":                   {"file.risk_register", "6.1.1,6.1.2,6.1.3,8.2,8.3", "template"},
		"roles/ai-roles-and-responsibilities.md":              {"file.roles_responsibilities", "5.3,A.3.2,A.10.2", "template"},
		"procedures/ai-incident-communication-procedure.md":   {"file.incident_procedure", "A.8.4,A.3.3,A.8.3,10.2", "template"},
	}
	gotSum := map[string]summary{}
	for _, g := range gs {
		gotSum[g.Subject] = summary{g.Kind, g.Attributes["controls"], g.Attributes["status"]}
		if g.Subject == "README.md" {
			continue
		}
		if g.Kind == "file.document" || g.Attributes["controls"] == "" {
			t.Errorf("%s: kind %q controls %q, want a specific kind and controls", g.Subject, g.Kind, g.Attributes["controls"])
		}
		for _, k := range []string{"title", "owner", "version"} {
			if g.Attributes[k] == "" {
				t.Errorf("%s: no %s in front matter", g.Subject, k)
			}
		}
		if wantEff := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC); !g.EffectiveAt.Equal(wantEff) {
			t.Errorf("%s: EffectiveAt = %v, want %v", g.Subject, g.EffectiveAt, wantEff)
		}
	}
	if diff := cmp.Diff(want, gotSum); diff != "" {
		t.Errorf("examples (-want +got):\n%s", diff)
	}
}
