package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault"
	"github.com/aimsvault/aimsvault/connectors/bamboohr/bamboohrfake"
	"github.com/aimsvault/aimsvault/connectors/bedrock/bedrockfake"
	"github.com/aimsvault/aimsvault/connectors/github/githubfake"
	"github.com/aimsvault/aimsvault/connectors/jira/jirafake"
	"github.com/aimsvault/aimsvault/connectors/knowbe4/knowbe4fake"
	"github.com/aimsvault/aimsvault/connectors/sagemaker/sagemakerfake"
	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/scheduler"
	"github.com/aimsvault/aimsvault/server/access"
	"github.com/aimsvault/aimsvault/server/api"
)

// demoHeader starts every config the demo writes: a --dir holding it is
// the demo's own, and may be written again.
const demoHeader = "# Written by `aimsvault demo`"

// demoListen is --listen's default; when it is busy the demo takes a free
// port instead.
const demoListen = "127.0.0.1:8080"

func (a *app) demoCommand() *cobra.Command {
	var dir, listen string
	cmd := &cobra.Command{
		Use:   "demo [--listen ADDR] [--dir DIR]",
		Short: "The daemon on a temporary vault with built-in simulators of every upstream",
		Long: `Try aimsvault with nothing to set up: no credentials, no network beyond
this machine. The demo starts simulators of GitHub, Jira, SageMaker, Bedrock,
BambooHR and KnowBe4 on loopback ports (the fakes the tests use, answering
from their fixtures), creates a vault in a temporary folder with a config
pointing a connector of every type at its simulator (and the files connector
at the example policies), runs a first collection, creates an admin API
token, then serves as ` + "`aimsvault serve`" + ` does until Ctrl-C, printing the URL and
the token once it is ready.

At exit the temporary folder is removed. With --dir DIR the vault, its
config (DIR/aimsvault.yaml) and the policies are kept there; running the demo
again on DIR collects into the same vault. Other commands work on the demo's
vault while it runs: aimsvault --config DIR/aimsvault.yaml coverage.

--listen defaults to ` + demoListen + `, or a free port when that one is busy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), dir, listen, cmd.Flags().Changed("listen"))
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "keep the vault, config and policies in DIR (default: a temporary folder, removed at exit)")
	cmd.Flags().StringVar(&listen, "listen", demoListen, "address to serve on (host:port; port 0 picks a free one)")
	return cmd
}

func (a *app) demo(ctx context.Context, dir, listen string, listenSet bool) (err error) {
	// Until serve takes over the signals, SIGINT or SIGTERM cancels the
	// set-up, and the demo cleans up after itself.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	var stopSetupSignals sync.Once
	stopSignals := func() { stopSetupSignals.Do(func() { signal.Stop(sigs) }) }
	defer stopSignals()
	interrupted := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			close(interrupted)
			cancel()
		case <-ctx.Done():
		}
	}()
	defer func() {
		select {
		case <-interrupted:
			if err != nil && errors.Is(err, context.Canceled) {
				err = demoInterrupted(a.stderr)
			}
		default:
		}
	}()

	keep := dir != ""
	if keep {
		if dir, err = demoDir(dir); err != nil {
			return err
		}
	} else {
		if dir, err = os.MkdirTemp("", "aimsvault-demo-"); err != nil {
			return err
		}
		defer func() {
			a.close()
			a.vault = nil
			if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}

	sims, err := startSimulators()
	if err != nil {
		return fmt.Errorf("start the simulators: %w", err)
	}
	defer sims.Close()

	ln, err := net.Listen("tcp", listen)
	if err != nil && !listenSet {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return fmt.Errorf("%w: choose another --listen", err)
	}
	a.listener = ln
	defer ln.Close() // serve closes it too; a second Close is harmless

	if err := writeDemo(dir, sims, ln.Addr().String(), time.Now()); err != nil {
		return err
	}
	a.configPath = filepath.Join(dir, "aimsvault.yaml")
	cfg, err := a.loadConfig()
	if err != nil {
		return fmt.Errorf("the demo's config: %w", err)
	}
	opts := a.vaultOptions(cfg)
	v, err := evidence.Init(ctx, opts)
	switch {
	case errors.Is(err, evidence.ErrExists):
		fmt.Fprintf(a.stdout, "vault already in %s: collecting into it again\n", opts.Dir)
	case err != nil:
		return err
	default:
		fmt.Fprintf(a.stdout, "initialized vault %s in %s\n", v.Origin(), opts.Dir)
		v.Close()
	}
	if v, err = a.openVault(ctx); err != nil {
		return err
	}
	if err := v.MarkInterrupted(ctx); err != nil {
		return err
	}

	fmt.Fprintf(a.stdout, "first collection from %d simulated sources:\n", len(cfg.Connectors))
	r := a.runner()
	failed := 0
	for _, cc := range cfg.Connectors {
		run, err := r.Run(ctx, cc, scheduler.TriggerCollect)
		if ctx.Err() != nil {
			return demoInterrupted(a.stderr)
		}
		if run == nil {
			return err
		}
		line := fmt.Sprintf("  %-10s %-8s %d artifacts", cc.Name, run.Status, run.Artifacts)
		if err != nil {
			failed++
			line += ": " + firstLine(run.Error)
		}
		fmt.Fprintln(a.stdout, line)
	}
	if failed > 0 {
		// The demo goes on: the console shows the failed runs and their logs.
		fmt.Fprintf(a.stderr, "aimsvault: %d of %d demo runs failed: see `aimsvault --config %s logs RUN_ID`\n", failed, len(cfg.Connectors), a.configPath)
	}

	token, err := createDemoToken(ctx, a, v)
	if err != nil {
		return fmt.Errorf("create the demo's admin token: %w", err)
	}
	if ctx.Err() != nil {
		return demoInterrupted(a.stderr)
	}

	a.onServing = func(url string) {
		// serve now handles SIGINT and SIGTERM itself. A signal that came
		// while it was starting went to the set-up only: pass it on.
		stopSignals()
		if ctx.Err() != nil {
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Signal(os.Interrupt)
			}
			return
		}
		printDemoBanner(a.stdout, url, token, dir, a.configPath, keep)
	}
	if err := a.serve(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(a.stdout, "demo stopped; the vault stays in %s\n", dir)
	} else {
		fmt.Fprintf(a.stdout, "demo stopped; removed %s\n", dir)
	}
	return nil
}

func demoInterrupted(w io.Writer) error {
	fmt.Fprintln(w, "aimsvault: demo interrupted while starting")
	return nil
}

// demoDir makes dir ready for the demo: created if missing; an existing one
// must be empty or hold an earlier demo.
func demoDir(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return dir, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "aimsvault.yaml"))
	if err != nil || !strings.HasPrefix(string(b), demoHeader) {
		return "", fmt.Errorf("--dir %s is neither empty nor an earlier demo's folder: choose another", dir)
	}
	return dir, nil
}

func printDemoBanner(w io.Writer, url, token, dir, config string, keep bool) {
	where := dir + " (removed at exit; --dir DIR keeps it)"
	if keep {
		where = dir
	}
	fmt.Fprintf(w, `
aimsvault demo is running, against simulated GitHub, Jira, SageMaker, Bedrock,
BambooHR and KnowBe4 on this machine: no credentials, nothing leaves it.

  URL:         %[1]s/
               (the web console: open it and sign in with the admin token)
  API:         %[1]s/api/v1/  (header "Authorization: Bearer <token>")
  Admin token: %[2]s
  Vault:       %[3]s
  CLI:         aimsvault --config %[4]s coverage

  Try:         curl -H "Authorization: Bearer %[2]s" %[1]s/api/v1/coverage

Press Ctrl-C to stop.
`, url, token, where, config)
}

// createDemoToken stores a new admin token in the vault's access database
// and returns its secret. An earlier demo's token (--dir) is revoked first,
// so that only the one printed now works.
func createDemoToken(ctx context.Context, a *app, v *evidence.Vault) (string, error) {
	acc, err := a.openAccess(ctx, v)
	if err != nil {
		return "", err
	}
	defer acc.Close()
	const name = "demo-admin"
	if old, err := acc.RevokeToken(ctx, name); err == nil {
		if _, err := acc.Append(ctx, access.Entry{
			TokenName: "local:demo", Role: "local", Method: "CLI", Path: "demo",
			Action: access.ActionTokenDel, Outcome: access.OutcomeOK, Detail: "revoked " + old.ID + " (" + old.Name + ")",
		}); err != nil {
			return "", err
		}
	} else if !errors.Is(err, access.ErrNotFound) {
		return "", err
	}
	nt, err := api.ParseTokenRequest(name, string(access.Admin), "7d", "", nil)
	if err != nil {
		return "", err
	}
	nt.CreatedBy = "local:demo"
	t, secret, err := acc.CreateToken(ctx, nt)
	if err != nil {
		return "", err
	}
	_, err = acc.Append(ctx, access.Entry{
		TokenName: "local:demo", Role: "local", Method: "CLI", Path: "demo",
		Action: access.ActionTokenNew, Outcome: access.OutcomeOK,
		Detail: "created " + t.ID + " (" + t.Name + ", " + string(t.Role) + ")",
	})
	return secret, err
}

// simulators are the upstream fakes the demo runs, each on its own
// loopback port.
type simulators struct {
	github    *githubfake.Fake
	jira      *jirafake.Server
	sagemaker *sagemakerfake.Fake
	bedrock   *bedrockfake.Fake
	bamboohr  *bamboohrfake.Server
	knowbe4   *knowbe4fake.Server
	closers   []func()
}

func startSimulators() (s *simulators, err error) {
	s = &simulators{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.github, err = githubfake.Start(githubfake.Options{}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.github.Close)
	if s.jira, err = jirafake.Start(jirafake.Options{}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.jira.Close)
	if s.sagemaker, err = sagemakerfake.Start(sagemakerfake.Options{PageCap: 100}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.sagemaker.Close)
	if s.bedrock, err = bedrockfake.Start(bedrockfake.Options{PageCap: 100}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.bedrock.Close)
	if s.bamboohr, err = bamboohrfake.Start(bamboohrfake.Options{}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.bamboohr.Close)
	if s.knowbe4, err = knowbe4fake.Start(knowbe4fake.Options{}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.knowbe4.Close)
	return s, nil
}

// Close stops every simulator started.
func (s *simulators) Close() {
	for _, c := range s.closers {
		c()
	}
	s.closers = nil
}

// writeDemo writes the example policies and the demo's config into dir.
func writeDemo(dir string, s *simulators, listen string, now time.Time) error {
	policies := filepath.Join(dir, "policies")
	if err := os.RemoveAll(policies); err != nil {
		return err
	}
	if err := os.CopyFS(policies, aimsvault.Examples()); err != nil {
		return fmt.Errorf("write the example policies: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "aimsvault.yaml"), []byte(demoConfig(s, listen, now)), 0o600)
}

// daysSince is a lookback reaching back to t: the simulators' fixtures are
// dated, and the demo should show them whatever today is.
func daysSince(now, t time.Time) string {
	return fmt.Sprintf("%dd", int(now.Sub(t).Hours()/24)+1)
}

// demoConfig is the demo's aimsvault.yaml: every connector type pointed at
// its simulator, with the simulator's own test credentials.
func demoConfig(s *simulators, listen string, now time.Time) string {
	q := func(v string) string { return fmt.Sprintf("%q", v) }
	return demoHeader + `: every connector points at a simulator the
# demo started on this machine, with the simulator's own test credentials; it
# works only while the demo runs. See config.example.yaml for a real one.

vault:
  dir: vault
  name: demo.aimsvault.example/aims

server:
  listen: ` + q(listen) + `

log:
  level: warn

defaults:
  schedule: "@every 1h"
  timeout: 5m

scheduler:
  max_parallel: 4
  shutdown_grace: 5s

connectors:
  - name: policies
    type: files
    path: ./policies

  - name: github
    type: github
    base_url: ` + q(s.github.URL) + `
    token: ` + q(githubfake.Token) + `
    owner: ` + q(githubfake.Owner) + `
    lookback: ` + daysSince(now, time.Date(2025, 11, 25, 0, 0, 0, 0, time.UTC)) + `
    files: [CODEOWNERS, MODEL_CARD.md, SECURITY.md]

  - name: jira
    type: jira
    base_url: ` + q(s.jira.URL) + `
    deployment: cloud
    email: ` + q(s.jira.Email()) + `
    token: ` + q(s.jira.Token()) + `
    queries:
      - {name: risks, jql: "project = AIRISK ORDER BY key", kind: risk}
      - {name: incidents, jql: "project = AIINC ORDER BY key", kind: incident}

  - name: sagemaker
    type: sagemaker
    regions: [us-east-1, eu-west-1]
    endpoint: ` + q(s.sagemaker.URL) + `
    sts_endpoint: ` + q(s.sagemaker.URL) + `
    access_key_id: ` + q(sagemakerfake.AccessKeyID) + `       # a simulator's key: demo only
    secret_access_key: ` + q(sagemakerfake.SecretAccessKey) + `
    lookback: ` + daysSince(now, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) + `

  - name: bedrock
    type: bedrock
    regions: [us-east-1, eu-central-1]
    endpoint: ` + q(s.bedrock.URL) + `
    sts_endpoint: ` + q(s.bedrock.URL) + `
    access_key_id: ` + q(bedrockfake.AccessKeyID) + `       # a simulator's key: demo only
    secret_access_key: ` + q(bedrockfake.SecretAccessKey) + `
    lookback: ` + daysSince(now, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) + `

  - name: bamboohr
    type: bamboohr
    base_url: ` + q(s.bamboohr.URL) + `
    company: ` + q(s.bamboohr.Company()) + `
    api_key: ` + q(s.bamboohr.APIKey()) + `
    required_trainings:
      - training: Responsible AI
        due_days: 30
        scope: {departments: [Machine Learning, Data]}

  - name: knowbe4
    type: knowbe4
    base_url: ` + q(s.knowbe4.URL) + `
    token: ` + q(s.knowbe4.Token()) + `
    request_interval: 0s
    required_trainings:
      - training: Responsible AI
        due_days: 30
        scope: {groups: [ML Team, Data Team]}
`
}
