package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The serve tests run `aimsvault serve` as a process, talk to it over
// loopback HTTP and signals, and read its JSON log lines. Connectors of the
// test-only type e2e_block append their name to a file once their artifacts
// are stored, then block until canceled: that file tells a test the daemon
// is mid-run.

// guard bounds every wait on the daemon: a hang fails the test instead of
// stalling it. It is no timing assertion.
const guard = 60 * time.Second

type daemon struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
	state  *os.ProcessState

	mu     sync.Mutex
	lines  []map[string]any
	bad    []string // stderr lines that are not JSON
	notify chan struct{}
}

// serve starts `aimsvault serve` and waits until it listens.
func serve(t *testing.T, config string) *daemon {
	t.Helper()
	return serveWithEnv(t, config, append(os.Environ(), "AIMSVAULT_CONFIG="))
}

// serveWithEnv is serve with the process's environment given.
func serveWithEnv(t *testing.T, config string, env []string) *daemon {
	t.Helper()
	d := &daemon{exited: make(chan struct{}), notify: make(chan struct{}, 1)}
	d.cmd = exec.Command(binary, "--config", config, "serve")
	d.cmd.Env = env
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			d.mu.Lock()
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				d.bad = append(d.bad, sc.Text())
			} else {
				d.lines = append(d.lines, m)
			}
			d.mu.Unlock()
			select {
			case d.notify <- struct{}{}:
			default:
			}
		}
		io.Copy(io.Discard, stderr)
		d.cmd.Wait() // after the last read, as os/exec requires
		d.state = d.cmd.ProcessState
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.exited
	})
	l := d.waitLog(t, "listening", nil)
	d.addr, _ = l["addr"].(string)
	return d
}

// waitLog waits for a log line with message msg for which match (if any)
// holds, and returns it.
func (d *daemon) waitLog(t *testing.T, msg string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(guard)
	for seen := 0; ; {
		d.mu.Lock()
		lines := d.lines[seen:]
		seen = len(d.lines)
		d.mu.Unlock()
		for _, l := range lines {
			if l["msg"] == msg && (match == nil || match(l)) {
				return l
			}
		}
		select {
		case <-d.notify:
		case <-d.exited:
			// Read what was logged last, then give up.
			d.mu.Lock()
			rest := d.lines[seen:]
			d.mu.Unlock()
			for _, l := range rest {
				if l["msg"] == msg && (match == nil || match(l)) {
					return l
				}
			}
			t.Fatalf("serve exited (%v) without logging %q; log:\n%s", d.state, msg, d.log())
		case <-deadline:
			t.Fatalf("serve did not log %q; log:\n%s", msg, d.log())
		}
	}
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	for _, l := range d.lines {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	for _, l := range d.bad {
		b.WriteString("NOT JSON: " + l + "\n")
	}
	return b.String()
}

func (d *daemon) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process to end and returns how.
func (d *daemon) wait(t *testing.T) syscall.WaitStatus {
	t.Helper()
	select {
	case <-d.exited:
	case <-time.After(guard):
		t.Fatalf("serve did not exit; log:\n%s", d.log())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.bad) > 0 {
		t.Errorf("serve wrote stderr lines that are not JSON:\n%s", strings.Join(d.bad, "\n"))
	}
	return d.state.Sys().(syscall.WaitStatus)
}

func (d *daemon) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitMetrics polls /metrics until it holds every line in want, and
// returns it.
func (d *daemon) waitMetrics(t *testing.T, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		code, body := d.get(t, "/metrics")
		if code == 200 && !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(body, w+"\n") }) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics (%d) never held all of %q:\n%s", code, want, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isRun(connector, status string) func(map[string]any) bool {
	return func(l map[string]any) bool { return l["connector"] == connector && l["status"] == status }
}

// serveWorkspace is workspace's folder with a serve config made of the
// given connector blocks.
func serveWorkspace(t *testing.T, grace string, blocks ...string) (dir, config string) {
	t.Helper()
	dir, config = workspace(t)
	writeServeConfig(t, config, grace, blocks...)
	return dir, config
}

func writeServeConfig(t *testing.T, config, grace string, blocks ...string) {
	t.Helper()
	src := fmt.Sprintf(`vault:
  dir: data
  name: e2e.example/aims
server:
  listen: 127.0.0.1:0
scheduler:
  shutdown_grace: %s
connectors:
%s`, grace, strings.Join(blocks, ""))
	if err := os.WriteFile(config, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	policiesBlock = "  - name: policies\n    type: files\n    path: ./docs\n    schedule: \"@every 1h\"\n"
	brokenBlock   = "  - name: broken\n    type: files\n    path: ${AIMSVAULT_E2E_UNSET_DIR}\n    schedule: \"@every 1h\"\n"
)

func blockBlock(name string) string {
	return fmt.Sprintf("  - name: %s\n    type: e2e_block\n    started: ./started\n    artifacts: 2\n    schedule: \"@every 1h\"\n", name)
}

type runView struct {
	ID         string `json:"id"`
	Connector  string `json:"connector"`
	Trigger    string `json:"trigger"`
	Status     string `json:"status"`
	Artifacts  int64  `json:"artifacts"`
	Error      string `json:"error"`
	ErrorClass string `json:"error_class"`
}

func runsOf(t *testing.T, config, connector string) []runView {
	t.Helper()
	r := mustRun(t, config, "runs", "--connector", connector, "--format", "json")
	var out []runView
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("runs json: %v\n%s", err, r.stdout)
	}
	return out
}

// waitStarted waits until the e2e_block connector name is mid-run.
func waitStarted(t *testing.T, dir, name string) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "started"))
		if slices.Contains(strings.Fields(string(b)), name) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never started", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func verifyOK(t *testing.T, config string) {
	t.Helper()
	rep, code := verify(t, config)
	if code != 0 || !rep.OK {
		t.Errorf("verify: exit %d, %+v", code, rep)
	}
}

func TestServe_EndpointsAndSIGTERMMidRun(t *testing.T) {
	t.Parallel()
	dir, config := serveWorkspace(t, "1s", policiesBlock, blockBlock("slow"), brokenBlock)
	mustRun(t, config, "init")
	d := serve(t, config)

	// Each connector never ran, so each runs at start-up; the broken one
	// fails on its own.
	d.waitLog(t, "run finished", isRun("policies", "ok"))
	broken := d.waitLog(t, "run finished", isRun("broken", "failed"))
	if e, _ := broken["err"].(string); !strings.Contains(e, "${AIMSVAULT_E2E_UNSET_DIR} is not set") {
		t.Errorf("broken run's error %q does not name the variable", e)
	}
	waitStarted(t, dir, "slow")
	// "run finished" is logged before the run is recorded and counted.
	metrics := d.waitMetrics(t,
		`aimsvault_runs_total{connector="policies",status="ok"} 1`,
		`aimsvault_runs_total{connector="broken",status="failed"} 1`)

	if code, body := d.get(t, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := d.get(t, "/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	policies := runsOf(t, config, "policies")
	if len(policies) != 1 {
		t.Fatalf("policies runs: %+v", policies)
	}
	for _, want := range []string{
		`aimsvault_runs_total{connector="policies",status="ok"} 1`,
		`aimsvault_runs_total{connector="broken",status="failed"} 1`,
		`aimsvault_runs_total{connector="slow",status="canceled"} 0`,
		fmt.Sprintf(`aimsvault_artifacts_collected_total{connector="policies"} %d`, policies[0].Artifacts),
		`aimsvault_run_duration_seconds_count{connector="policies"} 1`,
		`aimsvault_last_success_timestamp_seconds{connector="policies"} `,
		`aimsvault_runs_in_progress 1`,
		`aimsvault_vault_records `,
		`aimsvault_vault_bytes `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, `aimsvault_last_success_timestamp_seconds{connector="broken"}`) {
		t.Error("/metrics has a last success for the connector that never succeeded")
	}

	d.signal(t, syscall.SIGTERM)
	d.waitLog(t, "grace period over: runs in progress were canceled", nil)
	d.waitLog(t, "run finished", isRun("slow", "canceled"))
	if ws := d.wait(t); !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("serve after SIGTERM: %v, want exit 0; log:\n%s", ws, d.log())
	}

	slow := runsOf(t, config, "slow")
	if len(slow) != 1 || slow[0].Status != "canceled" || slow[0].Trigger != "startup" || slow[0].Artifacts != 2 {
		t.Errorf("slow runs: %+v; want one startup run, canceled, with its 2 artifacts", slow)
	}
	logs := mustRun(t, config, "logs", slow[0].ID).stdout
	if !strings.Contains(logs, "blocking until canceled") || !strings.Contains(logs, "run finished") {
		t.Errorf("logs of the canceled run:\n%s", logs)
	}
	b := runsOf(t, config, "broken")
	if len(b) != 1 || b[0].ErrorClass != "config" || !strings.Contains(b[0].Error, "aimsvault.yaml:20: connectors[2] (broken).path: ${AIMSVAULT_E2E_UNSET_DIR} is not set") {
		t.Errorf("broken runs: %+v; want one, class config, naming the variable and line", b)
	}
	verifyOK(t, config)

	// collect runs the broken connector too, fails it the same way and
	// exits 1; the others are unaffected.
	r := aimsvault(t, config, "collect", "broken", "policies")
	if r.code != 1 || !strings.Contains(r.stdout, "${AIMSVAULT_E2E_UNSET_DIR} is not set") || !strings.Contains(r.stdout, "policies") {
		t.Errorf("collect: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if p := runsOf(t, config, "policies"); p[0].Status != "ok" || p[0].Trigger != "collect" {
		t.Errorf("policies collect run: %+v", p[0])
	}
}

func TestServe_KillAndSecondSIGTERM(t *testing.T) {
	t.Parallel()
	// A grace period far longer than any wait here: an exit proves that
	// nothing waited for it.
	dir, config := serveWorkspace(t, "1h", blockBlock("slow"))
	mustRun(t, config, "init")

	// Killed mid-run: the run stays "running" in the vault...
	d1 := serve(t, config)
	waitStarted(t, dir, "slow")
	d1.signal(t, syscall.SIGKILL)
	d1.wait(t)
	if r := runsOf(t, config, "slow"); len(r) != 1 || r[0].Status != "running" {
		t.Fatalf("slow after SIGKILL: %+v", r)
	}
	verifyOK(t, config)

	// ...until the next start marks it failed: interrupted. slow ran
	// less than its schedule's hour ago, so it is not run again; slow2 is
	// new, so it runs at start-up.
	writeServeConfig(t, config, "1h", blockBlock("slow"), blockBlock("slow2"))
	d2 := serve(t, config)
	waitStarted(t, dir, "slow2")
	if r := runsOf(t, config, "slow"); len(r) != 1 || r[0].Status != "failed" || r[0].Error != "interrupted" {
		t.Errorf("slow after restart: %+v; want its one run failed: interrupted", r)
	}

	// The first SIGTERM waits for slow2 (up to an hour); the second ends
	// the process at once.
	d2.signal(t, syscall.SIGTERM)
	d2.waitLog(t, "shutting down: waiting for runs in progress; send the signal again to exit at once", nil)
	d2.signal(t, syscall.SIGTERM)
	if ws := d2.wait(t); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("serve after a second SIGTERM: %v, want ended by the signal", ws)
	}
	// Nothing half-written: the vault verifies, and the next start
	// marks slow2's run.
	verifyOK(t, config)
	d3 := serve(t, config)
	d3.waitLog(t, "scheduler started", nil)
	d3.signal(t, syscall.SIGINT)
	if ws := d3.wait(t); !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("serve with nothing running, after SIGINT: %v, want exit 0", ws)
	}
	if r := runsOf(t, config, "slow2"); len(r) != 1 || r[0].Status != "failed" || r[0].Error != "interrupted" {
		t.Errorf("slow2 after restart: %+v; want failed: interrupted", r)
	}
	verifyOK(t, config)
}

func TestServe_SIGHUPReload(t *testing.T) {
	t.Parallel()
	_, config := serveWorkspace(t, "5s", "  - name: a\n    type: files\n    path: ./docs\n    schedule: \"@every 1h\"\n")
	mustRun(t, config, "init")
	d := serve(t, config)
	d.waitLog(t, "run finished", isRun("a", "ok"))

	// A bad config is refused, with its problems, and the old one stays.
	writeServeConfig(t, config, "5s",
		"  - name: a\n    type: files\n    path: ./docs\n",
		"  - name: b\n    type: files\n    path: ./docs\n    schedule: \"every second\"\n")
	d.signal(t, syscall.SIGHUP)
	refused := d.waitLog(t, "config reload refused: the running config stays", nil)
	problems := fmt.Sprint(refused["problems"])
	if !strings.Contains(problems, "aimsvault.yaml:15: connectors[1] (b).schedule: bad schedule") {
		t.Errorf("refused reload's problems %s do not name the schedule's line and key", problems)
	}
	if code, _ := d.get(t, "/readyz"); code != 200 {
		t.Errorf("/readyz after a refused reload = %d, want 200", code)
	}

	// A good one replaces the schedules: a is removed, b is added and
	// runs every second.
	writeServeConfig(t, config, "5s", "  - name: b\n    type: files\n    path: ./docs\n    schedule: \"@every 1s\"\n")
	d.signal(t, syscall.SIGHUP)
	updated := d.waitLog(t, "schedules updated", nil)
	if fmt.Sprint(updated["added"]) != "[b]" || fmt.Sprint(updated["removed"]) != "[a]" {
		t.Errorf("schedules updated: added %v removed %v; want [b] and [a]", updated["added"], updated["removed"])
	}
	d.waitLog(t, "config reloaded", nil)
	first := d.waitLog(t, "run finished", isRun("b", "ok"))
	d.waitLog(t, "run finished", func(l map[string]any) bool { return isRun("b", "ok")(l) && l["run"] != first["run"] })

	d.signal(t, syscall.SIGTERM)
	if ws := d.wait(t); !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("serve after SIGTERM: %v, want exit 0", ws)
	}
	b := runsOf(t, config, "b")
	if len(b) < 2 {
		t.Fatalf("b runs: %+v", b)
	}
	for _, r := range b {
		if r.Trigger != "schedule" || r.Status != "ok" {
			t.Errorf("b run %+v; want scheduled and ok", r)
		}
	}
	if a := runsOf(t, config, "a"); len(a) != 1 {
		t.Errorf("a ran %d times; want once, before it was removed", len(a))
	}
	verifyOK(t, config)
}
