package evidence_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/evidence/tsatest"
)

func TestTSA_StampsEveryCheckpoint(t *testing.T) {
	t.Parallel()
	tsa := tsatest.New(t)
	v, err := evidence.Init(t.Context(), evidence.Options{Dir: filepath.Join(t.TempDir(), "v"), Name: "tsa.example/aims",
		TSA: &evidence.TSA{URL: tsa.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, _, err := v.Append(t.Context(), evidence.Input{Run: "r", Connector: "c", Type: "t", Kind: "k", Subject: "s", Content: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	cp, err := v.SignCheckpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.TSR) == 0 {
		t.Fatal("checkpoint has no timestamp token")
	}
	ts, err := evidence.CheckTimestamp(cp.TSR, cp.Note)
	if err != nil {
		t.Fatal(err)
	}
	if ts.Time.IsZero() {
		t.Error("token has no time")
	}
	if _, err := evidence.CheckTimestamp(cp.TSR, append([]byte("x"), cp.Note...)); err == nil {
		t.Error("token accepted for other data")
	}
	latest, _ := v.LatestCheckpoint(t.Context())
	if string(latest.TSR) != string(cp.TSR) {
		t.Error("token not stored with the checkpoint")
	}
	rep, err := v.Verify(t.Context(), "")
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep)
	}

	// Standard tools agree, when openssl is here.
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"checkpoint": cp.Note, "checkpoint.tsr": cp.TSR, "root.pem": tsa.RootPEM, "tsa.pem": tsa.CertPEM} {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	cmd := exec.Command(openssl, "ts", "-verify", "-data", "checkpoint", "-in", "checkpoint.tsr", "-CAfile", "root.pem", "-untrusted", "tsa.pem")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Errorf("openssl ts -verify: %v\n%s", err, out)
	}
}

func TestTSA_FailureKeepsCheckpoint(t *testing.T) {
	t.Parallel()
	tsa := tsatest.New(t)
	tsa.DropNonce = true
	v, err := evidence.Init(context.Background(), evidence.Options{Dir: filepath.Join(t.TempDir(), "v"), Name: "tsa.example/aims",
		TSA: &evidence.TSA{URL: tsa.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	v.Append(t.Context(), evidence.Input{Run: "r", Connector: "c", Type: "t", Kind: "k", Subject: "s", Content: strings.NewReader("x")})
	cp, err := v.SignCheckpoint(t.Context())
	if !errors.Is(err, evidence.ErrTimestamp) || !strings.Contains(err.Error(), "nonce") {
		t.Fatalf("SignCheckpoint with a nonce-less TSA: %v", err)
	}
	if cp == nil || cp.Size != 1 || cp.TSR != nil {
		t.Fatalf("checkpoint not kept, or kept with a bad token: %+v", cp)
	}
}
