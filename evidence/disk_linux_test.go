package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The disk tests put the vault on a small tmpfs of its own: root can write
// through chmod, but not past a full or read-only file system. Mounting needs
// root (CAP_SYS_ADMIN); without it they skip and say so.

func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): the disk-trouble tests need root with CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func remount(t *testing.T, dir string, readOnly bool) {
	t.Helper()
	flags := uintptr(syscall.MS_REMOUNT)
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, ""); err != nil {
		t.Fatalf("remount %s (read-only %v): %v", dir, readOnly, err)
	}
}

// fill writes a file until the file system is full, and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

func appendN(v *Vault, prefix string, n, size int) error {
	for i := range n {
		body := fmt.Sprintf("%s %d ", prefix, i) + strings.Repeat("x", size)
		if _, _, err := v.Append(context.Background(), Input{Run: "r", Connector: "c", Type: "t", Kind: "k", Subject: fmt.Sprintf("%s-%d", prefix, i), Content: strings.NewReader(body)}); err != nil {
			return err
		}
	}
	return nil
}

func checkDiskErr(t *testing.T, err error, want error, dir, words string) {
	t.Helper()
	t.Logf("error: %v", err)
	if !errors.Is(err, want) {
		t.Fatalf("error %v: want one matching %v", err, want)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, words) {
		t.Fatalf("error %q: want it to name the vault %s and say %q", msg, dir, words)
	}
}

// A full disk fails the write that meets it, with an error that names the
// vault and says so; the vault keeps every record committed before, loses
// no more than the failed batch, and writes again once there is space,
// without being reopened.
func TestDisk_FullFailsCleanlyAndRecovers(t *testing.T) {
	mnt := mountTmpfs(t, "3m")
	dir := filepath.Join(mnt, "vault")
	v, err := Init(t.Context(), Options{Dir: dir, Name: origin})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := appendN(v, "before", 50, 500); err != nil {
		t.Fatal(err)
	}
	if _, err := v.SignCheckpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	filler := fill(t, mnt)

	// Content over 64 KiB goes to objects/ first: it fails there.
	_, _, err = v.Append(t.Context(), Input{Run: "r", Connector: "c", Type: "t", Kind: "k", Subject: "big",
		Content: bytes.NewReader(bytes.Repeat([]byte("big "), InlineMax))})
	checkDiskErr(t, err, ErrNoSpace, dir, "no space left on device")
	// Small records fail at the latest when their batch commits.
	var failed error
	for i := 0; i < 200 && failed == nil; i++ {
		failed = appendN(v, fmt.Sprintf("full%d", i), 100, 2000)
		if failed == nil {
			failed = v.Flush(t.Context())
		}
	}
	checkDiskErr(t, failed, ErrNoSpace, dir, "no space left on device")
	if n, last := v.LostBatches(); n == 0 || !errors.Is(last, ErrNoSpace) {
		t.Errorf("LostBatches = %d, %v: want the lost batch counted", n, last)
	}

	// Space returns: the same handle writes again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	after := appendText(t, v, "after.md", "written once space returned")
	if err := v.Flush(t.Context()); err != nil {
		t.Fatalf("flush after space returned: %v", err)
	}
	if _, err := v.SignCheckpoint(t.Context()); err != nil {
		t.Fatalf("checkpoint after space returned: %v", err)
	}
	got, err := v.Record(t.Context(), after.ID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := v.Verify(t.Context(), "")
	if err != nil || !rep.OK {
		t.Fatalf("verify after a full disk: %v %+v", err, rep)
	}
	if got.Index != rep.Records-1 || rep.Records < 51 {
		t.Errorf("record after recovery at index %d of %d records: want the last, after the 50 from before", got.Index, rep.Records)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "objects", "tmp")); len(tmp) != 0 {
		t.Errorf("%d half-written object files left", len(tmp))
	}
}

// A vault on a read-only file system (a mount turned read-only, a
// snapshot) refuses to start runs, with an error naming the vault and
// "read-only", changes nothing, and works again once it is writable.
// (Linux refuses to remount read-only under files open for writing, so the
// vault is closed first: an open vault meets it only as the kernel's
// emergency read-only remount, which reports like this.)
func TestDisk_ReadOnlyFailsCleanlyAndRecovers(t *testing.T) {
	mnt := mountTmpfs(t, "16m")
	dir := filepath.Join(mnt, "vault")
	v, err := Init(t.Context(), Options{Dir: dir, Name: origin})
	if err != nil {
		t.Fatal(err)
	}
	if err := appendN(v, "before", 20, 500); err != nil {
		t.Fatal(err)
	}
	if _, err := v.SignCheckpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	remount(t, mnt, true)
	// Reading works: an auditor can verify a vault on read-only media.
	v, err = Open(t.Context(), Options{Dir: dir})
	if err != nil {
		t.Fatalf("open a read-only vault: %v", err)
	}
	if rep, err := v.Verify(t.Context(), ""); err != nil || !rep.OK || rep.Records != 20 {
		t.Fatalf("verify a read-only vault: %v %+v", err, rep)
	}
	checkDiskErr(t, v.MarkInterrupted(t.Context()), ErrReadOnly, dir, "read-only")
	checkDiskErr(t, v.StartRun(t.Context(), Run{ID: "ro-run", Connector: "c", Type: "t", Trigger: "collect"}), ErrReadOnly, dir, "read-only")
	err = appendN(v, "ro", 10, 100)
	if err == nil {
		err = v.Flush(t.Context())
	}
	checkDiskErr(t, err, ErrReadOnly, dir, "read-only")
	_, _, err = v.Append(t.Context(), Input{Run: "r", Connector: "c", Type: "t", Kind: "k", Subject: "big",
		Content: bytes.NewReader(bytes.Repeat([]byte("big "), InlineMax))})
	checkDiskErr(t, err, ErrReadOnly, dir, "read-only")
	v.Close()

	remount(t, mnt, false)
	v, err = Open(t.Context(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := appendN(v, "after", 10, 100); err != nil {
		t.Fatalf("append after remount: %v", err)
	}
	if _, err := v.SignCheckpoint(t.Context()); err != nil {
		t.Fatalf("checkpoint after remount: %v", err)
	}
	rep, err := v.Verify(t.Context(), "")
	if err != nil || !rep.OK || rep.Records != 30 {
		t.Fatalf("verify after read-only: %v %+v (want 30 records: 20 before, 10 after)", err, rep)
	}
}
