package files

import (
	"errors"
	"testing"
)

// FuzzFrontMatter feeds hostile file heads to the front-matter splitter
// and parser, and the dates to effectiveAt. Nothing may panic; an error
// that names a line names one that exists.
func FuzzFrontMatter(f *testing.F) {
	for _, s := range []string{
		"---\ntitle: AI policy\ncontrols: [A.2.2, A.5.2]\napproved: 2026-01-15\n---\n# Policy\n",
		"---\r\nowner: ciso\r\neffective_at: 2026-11-01T09:00:00Z\r\n---\r\n",
		"\ufeff---\ncontrols: A.6.2.4\nreviewed: \"2025-12-01\"\n---\n",
		"---\ncontrols:\n  - A.2.2\n  - {x: 1}\n---\n",
		"---\ndate: yesterday\n---\n",
		"---\ntitle: [unclosed\n---\n",
		"---\n&a [*a, *a]\n---\n",
		"---\nno closing line\n",
		"---\n---\n",
		"no front matter\n---\n",
		"---\ntitle: !!binary aGVsbG8=\ncontrols: !custom A.2.2\n---\n",
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, head []byte, atEOF bool) {
		src, ok, err := splitFrontMatter(head, atEOF)
		if err != nil || !ok {
			return
		}
		if len(src) > len(head) {
			t.Fatalf("front matter (%d bytes) longer than the head (%d)", len(src), len(head))
		}
		fm, err := parseFrontMatter(src)
		checkLine(t, err)
		if err == nil {
			_, err = fm.effectiveAt()
			checkLine(t, err)
		}
	})
}

func checkLine(t *testing.T, err error) {
	t.Helper()
	var le *lineError
	if errors.As(err, &le) && le.line < 1 {
		t.Errorf("error names line %d: %v", le.line, err)
	}
}
