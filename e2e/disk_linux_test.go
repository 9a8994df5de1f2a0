package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The disk tests put the vault on a tmpfs of its own (root writes through
// chmod, not past a full or read-only file system). Mounting needs root with
// CAP_SYS_ADMIN; without it they skip and say so.

func diskWorkspace(t *testing.T, size string) (mnt, config string) {
	t.Helper()
	mnt = t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): the disk-trouble tests need root with CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	config = filepath.Join(t.TempDir(), "aimsvault.yaml")
	cfg := `vault:
  dir: ` + filepath.Join(mnt, "data") + `
  name: disk.example/aims
connectors:
  - name: flood
    type: e2e_flood
    artifacts: 400
    big_every: 10
`
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, config, "init")
	mustRun(t, config, "collect")
	return mnt, config
}

// fillBut fills the file system at dir but for about spare bytes.
func fillBut(t *testing.T, dir string, spare int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	var n int64
	for {
		w, err := f.Write(chunk)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(max(0, n-spare)); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDisk_FullVaultFailsTheRunClearly(t *testing.T) {
	t.Parallel()
	mnt, config := diskWorkspace(t, "24m")
	vaultDir := filepath.Join(mnt, "data")
	filler := fillBut(t, mnt, 600<<10)

	r := aimsvault(t, config, "collect")
	if r.code != 1 {
		t.Fatalf("collect on a full disk: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var runs []crashRun
	var raw []map[string]any
	out := mustRun(t, config, "runs", "--format", "json").stdout
	json.Unmarshal([]byte(out), &runs)
	json.Unmarshal([]byte(out), &raw)
	if len(runs) != 2 || runs[0].Status != "failed" || raw[0]["error_class"] != "internal" ||
		!strings.Contains(runs[0].Error, vaultDir) || !strings.Contains(runs[0].Error, "no space left on device") {
		t.Fatalf("run on a full disk: want failed, class internal, naming %s and \"no space left on device\"; runs: %s", vaultDir, out)
	}
	if !strings.Contains(r.stdout, "no space left on device") {
		t.Errorf("collect output does not say the disk is full: %s", r.stdout)
	}
	// Whatever landed is whole; nothing half-written is left.
	if rep, code := verify(t, config); code != 0 || !rep.OK {
		t.Fatalf("verify on a full disk: exit %d %+v", code, rep)
	}
	if tmp, _ := os.ReadDir(filepath.Join(vaultDir, "objects", "tmp")); len(tmp) != 0 {
		t.Errorf("%d half-written object files left", len(tmp))
	}

	// Space returns: the next run completes, the vault verifies.
	os.Remove(filler)
	mustRun(t, config, "collect")
	if rep, code := verify(t, config); code != 0 || !rep.OK {
		t.Fatalf("verify once space returned: exit %d %+v", code, rep)
	}
}

func TestDisk_ReadOnlyVaultRefusesClearly(t *testing.T) {
	t.Parallel()
	mnt, config := diskWorkspace(t, "16m")
	vaultDir := filepath.Join(mnt, "data")
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	r := aimsvault(t, config, "collect")
	if r.code != 1 || !strings.Contains(r.stderr, vaultDir) || !strings.Contains(r.stderr, "read-only") {
		t.Fatalf("collect on a read-only vault: exit %d, stderr %q; want exit 1 naming %s and \"read-only\"", r.code, r.stderr, vaultDir)
	}
	// Reading still works: verify, list.
	if rep, code := verify(t, config); code != 0 || !rep.OK || rep.Records != 400 {
		t.Fatalf("verify of a read-only vault: exit %d %+v", code, rep)
	}
	if recs := listRecords(t, config, "--limit", "5"); len(recs) != 5 {
		t.Errorf("evidence list of a read-only vault: %d records", len(recs))
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT, ""); err != nil {
		t.Fatalf("remount read-write: %v", err)
	}
	mustRun(t, config, "collect")
	if rep, code := verify(t, config); code != 0 || !rep.OK || rep.Records != 800 {
		t.Fatalf("verify once writable: exit %d %+v", code, rep)
	}
}
