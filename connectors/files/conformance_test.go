package files_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors/connectortest"
	"github.com/aimsvault/aimsvault/connectors/files"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, files.Type, func(t *testing.T) any {
		root := t.TempDir()
		for name, body := range map[string]string{
			"policies/ai-policy.md": "---\ntitle: AI policy\nkind: ai_policy\ncontrols: [5.2, A.2.2]\neffective_at: 2026-11-01\n---\n# AI policy\n",
			"risk/register.md":      "---\ntitle: AI risk register\nkind: risk_register\nowner: Head of AI governance\n---\n# Risks\n",
		} {
			p := filepath.Join(root, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cfg := files.Type.NewConfig().(*files.Config)
		cfg.Path = config.Path(root)
		return cfg
	})
}
