package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
)

// The crash tests SIGKILL `aimsvault collect` at random points of a large
// collection and check what a user would after a power cut: the vault
// verifies, nothing is half-written, the killed run says it was interrupted,
// and the next collect works. The kill points are random but reproducible:
// the seed is logged, and AIMSVAULT_CRASH_SEED replays it.
// AIMSVAULT_CRASH_KILLS and AIMSVAULT_CRASH_ARTIFACTS scale it up (make soak).

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}

// floodWorkspace configures two connectors of the test-only type e2e_flood
// (cmd/aimsvault/e2ehooks.go): "flood" emits artifacts artifacts, one in 25
// over 64 KiB and so an object file, with content new on every run; "small"
// emits a few.
func floodWorkspace(t *testing.T, artifacts int) (dir, config string) {
	t.Helper()
	dir = t.TempDir()
	config = filepath.Join(dir, "aimsvault.yaml")
	cfg := fmt.Sprintf(`vault:
  dir: data
  name: crash.example/aims
connectors:
  - name: flood
    type: e2e_flood
    artifacts: %d
    big_every: 25
  - name: small
    type: e2e_flood
    artifacts: 3
    big_every: 2
`, artifacts)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, config, "init")
	return dir, config
}

type crashRun struct {
	ID        string `json:"id"`
	Connector string `json:"connector"`
	Status    string `json:"status"`
	Artifacts int64  `json:"artifacts"`
	Error     string `json:"error"`
}

func allRuns(t *testing.T, config string) map[string]crashRun {
	t.Helper()
	var runs []crashRun
	if err := json.Unmarshal([]byte(mustRun(t, config, "runs", "--limit", "0", "--format", "json").stdout), &runs); err != nil {
		t.Fatal(err)
	}
	out := map[string]crashRun{}
	for _, r := range runs {
		out[r.ID] = r
	}
	return out
}

func TestCrash_KillDuringCollect(t *testing.T) {
	t.Parallel()
	kills := envInt(t, "AIMSVAULT_CRASH_KILLS", 20)
	artifacts := envInt(t, "AIMSVAULT_CRASH_ARTIFACTS", 1500)
	seed := uint64(envInt(t, "AIMSVAULT_CRASH_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("crash test: %d kills, %d artifacts a run, seed %d (AIMSVAULT_CRASH_SEED=%d replays it)", kills, artifacts, seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	dir, config := floodWorkspace(t, artifacts)

	// Kill points: mostly "N artifacts in, then a random few hundred
	// microseconds" (the e2e build's connector kills its own process then,
	// wherever the collection is: mid-object, mid-commit, signing); one in
	// five from outside at a random moment of start-up, before or while the
	// run is recorded.
	var midRun, beforeRun int
	for i := range kills {
		before := allRuns(t, config)
		cmd := exec.Command(binary, "--config", config, "collect", "flood")
		cmd.Env = append(os.Environ(), "AIMSVAULT_CONFIG=")
		var where string
		external := rng.IntN(5) == 0
		var delay time.Duration
		if external {
			delay = time.Duration(rng.Int64N(int64(60 * time.Millisecond)))
			where = fmt.Sprintf("SIGKILL %v after start", delay)
		} else {
			n, us := rng.IntN(artifacts+1), rng.IntN(2000)
			cmd.Env = append(cmd.Env, fmt.Sprintf("AIMSVAULT_E2E_KILL_AFTER=%d:%d", n, us))
			where = fmt.Sprintf("SIGKILL %dµs after artifact %d", us, n)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if external {
			time.Sleep(delay)
			cmd.Process.Kill() // SIGKILL: no handler runs, as in a power cut
		}
		err := cmd.Wait()
		if err == nil {
			// It finished before the kill: still a valid iteration.
			t.Logf("kill %d (%s): collect had already finished", i, where)
		}

		// The vault verifies: every committed record is whole, every
		// object it names is in place, every checkpoint matches.
		rep, code := verify(t, config)
		if code != 0 || !rep.OK {
			t.Fatalf("kill %d (%s, seed %d): verify exit %d: %+v", i, where, seed, code, rep)
		}

		// The next start (a small collect) marks the killed run
		// interrupted, clears half-written object files and completes.
		mustRun(t, config, "collect", "small")
		if tmp, _ := os.ReadDir(filepath.Join(dir, "data", "objects", "tmp")); len(tmp) != 0 {
			t.Errorf("kill %d: %d half-written object files left after the next start", i, len(tmp))
		}
		after := allRuns(t, config)
		var killed []crashRun
		for id, r := range after {
			if r.Status == "running" {
				t.Errorf("kill %d: run %s of %s still marked running after the next start", i, id, r.Connector)
			}
			if _, ok := before[id]; !ok && r.Connector == "flood" {
				killed = append(killed, r)
			}
		}
		switch {
		case len(killed) == 0:
			beforeRun++ // killed before the run was recorded
		case len(killed) > 1:
			t.Fatalf("kill %d: %d new flood runs: %+v", i, len(killed), killed)
		case err != nil && killed[0].Status != "ok":
			midRun++
			if killed[0].Status != "failed" || killed[0].Error != "interrupted" {
				t.Errorf("kill %d (%s): killed run is %s %q, want failed \"interrupted\"", i, where, killed[0].Status, killed[0].Error)
			}
		}
	}
	t.Logf("%d kills: %d mid-run, %d before the run was recorded, %d after it finished", kills, midRun, beforeRun, kills-midRun-beforeRun)

	// A following whole collect completes, and the vault holds every
	// record of every run that finished, and verifies.
	out := mustRun(t, config, "collect", "flood").stdout
	if !strings.Contains(out, fmt.Sprintf("%d artifacts", artifacts)) {
		t.Errorf("collect after the kills: %s", out)
	}
	rep, code := verify(t, config)
	if code != 0 || !rep.OK {
		t.Fatalf("final verify: exit %d %+v", code, rep)
	}
	// verify passed, so it bookmarked the last checkpoint: an incremental
	// verify now starts there and checks the rest.
	mustRun(t, config, "collect", "small")
	inc := mustRun(t, config, "verify", "--since-checkpoint").stdout
	if !strings.Contains(inc, "vault intact") || !strings.Contains(inc, "from the last verified checkpoint") {
		t.Errorf("verify --since-checkpoint: %s", inc)
	}
	var okArtifacts int64
	for _, r := range allRuns(t, config) {
		if r.Status == "ok" {
			okArtifacts += r.Artifacts
		}
	}
	if int64(rep.Records) < okArtifacts {
		t.Errorf("vault holds %d records, fewer than the %d that finished runs stored", rep.Records, okArtifacts)
	}
}

// Readers of every kind (CLI processes and the Go API in this process)
// work throughout a large collection: WAL lets them read the last commit
// while the writer appends, and busy_timeout covers the moments SQLite
// locks briefly (opening, checkpointing the WAL). None may fail, with
// SQLITE_BUSY or anything else.
func TestCrash_ReadersDuringCollectNeverBusy(t *testing.T) {
	t.Parallel()
	dir, config := floodWorkspace(t, envInt(t, "AIMSVAULT_READERS_ARTIFACTS", 8000))
	mustRun(t, config, "collect", "small") // so that readers have records from the start

	collect := exec.Command(binary, "--config", config, "collect", "flood")
	collect.Env = append(os.Environ(), "AIMSVAULT_CONFIG=")
	var collectOut strings.Builder
	collect.Stdout, collect.Stderr = &collectOut, &collectOut
	if err := collect.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- collect.Wait() }()
	ctx, stop := context.WithCancel(t.Context())

	var (
		mu       sync.Mutex
		failures []string
		reads    = map[string]int{}
	)
	fail := func(what string, err error, out string) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf("%s: %v %s", what, err, out))
	}
	count := func(what string) { mu.Lock(); reads[what]++; mu.Unlock() }
	var wg sync.WaitGroup
	for _, args := range [][]string{
		{"evidence", "list", "--limit", "100", "--format", "json"},
		{"coverage", "--format", "json"},
		{"runs", "--format", "json"},
		{"verify", "--format", "json"},
	} {
		wg.Go(func() {
			for ctx.Err() == nil {
				cmd := exec.Command(binary, append([]string{"--config", config}, args...)...)
				cmd.Env = append(os.Environ(), "AIMSVAULT_CONFIG=")
				out, err := cmd.CombinedOutput()
				if err != nil || strings.Contains(string(out), "locked") || strings.Contains(string(out), "SQLITE_BUSY") {
					fail(strings.Join(args, " "), err, string(out))
				}
				count(args[0])
			}
		})
	}
	// The Go API, as the HTTP API uses it, from a second vault handle.
	v, err := evidence.Open(ctx, evidence.Options{Dir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for w := range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				var last *evidence.Record
				err := v.Records(ctx, evidence.Filter{Connectors: []string{"flood"}, Limit: 50, From: int64(w * 1000)}, func(r *evidence.Record) error { last = r; return nil })
				if err == nil {
					_, err = v.Count(ctx, evidence.Filter{Kinds: []string{"file.document"}})
				}
				if err == nil {
					_, err = v.Runs(ctx, "", 20)
				}
				if err == nil && last != nil {
					_, err = v.Record(ctx, last.ID)
				}
				if err == nil {
					_, err = v.LatestCheckpoint(ctx)
				}
				if err != nil && ctx.Err() == nil {
					fail("go api", err, "")
				}
				count("go api")
			}
		})
	}
	cerr := <-done
	stop()
	wg.Wait()
	if cerr != nil {
		t.Fatalf("collect during reads: %v\n%s", cerr, collectOut.String())
	}
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("reads during the collection: %v", reads)
	if reads["evidence"] == 0 || reads["go api"] == 0 {
		t.Errorf("the readers did not run during the collection: %v", reads)
	}
}
