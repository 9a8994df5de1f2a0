//go:build aimsvault_e2e

package main

// This file is built only into the binary the end-to-end tests drive
// (go build -tags aimsvault_e2e). It adds a connector type whose runs block
// until canceled, so that the tests can signal and kill `serve` mid-run at a
// moment they know, with no sleeps. Release builds never contain it.

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
)

func init() {
	extraTypes = append(extraTypes, connectors.Define("e2e_block", "files", e2eBlockSample,
		func() e2eBlockConfig { return e2eBlockConfig{} }, newE2EBlock))
}

const e2eBlockSample = `# Test only: emits artifacts, then blocks until the run is canceled.
started: ""    # a line is appended to this file once the artifacts are stored
artifacts: 1   # how many artifacts to emit first
`

type e2eBlockConfig struct {
	Started   config.Path `yaml:"started"`
	Artifacts int         `yaml:"artifacts"`
}

type e2eBlock struct {
	cfg  e2eBlockConfig
	deps connectors.Deps
}

func newE2EBlock(cfg e2eBlockConfig, deps connectors.Deps) (connectors.Connector, error) {
	return &e2eBlock{cfg: cfg, deps: deps}, nil
}

func (c *e2eBlock) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	for i := range c.cfg.Artifacts {
		subject := fmt.Sprintf("%s/item-%d", c.deps.Name, i)
		err := emit(connectors.Artifact{
			Kind: "file.document", Subject: subject, MediaType: "text/plain",
			Provenance: connectors.Provenance{Method: "read", Endpoint: subject, Complete: true},
			Content:    strings.NewReader("blocked run artifact " + subject),
		})
		if err != nil {
			return err
		}
	}
	if c.cfg.Started != "" {
		f, err := os.OpenFile(string(c.cfg.Started), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		fmt.Fprintln(f, c.deps.Name)
		if err := f.Close(); err != nil {
			return err
		}
	}
	c.deps.Logger.Info("blocking until canceled")
	<-ctx.Done()
	return fmt.Errorf("wait for cancel: %w", ctx.Err())
}

func init() {
	extraTypes = append(extraTypes, connectors.Define("e2e_flood", "files", e2eFloodSample,
		func() e2eFloodConfig { return e2eFloodConfig{Artifacts: 1000, BigEvery: 50} }, newE2EFlood))
}

const e2eFloodSample = `# Test only: emits many artifacts as fast as the vault takes them.
artifacts: 1000  # how many
big_every: 50    # every n-th artifact is over 64 KiB (an object file); 0: none
pad: 0           # pad every other artifact's content to this many bytes
`

type e2eFloodConfig struct {
	Artifacts int `yaml:"artifacts"`
	BigEvery  int `yaml:"big_every"`
	Pad       int `yaml:"pad"`
}

type e2eFlood struct {
	cfg  e2eFloodConfig
	deps connectors.Deps
}

func newE2EFlood(cfg e2eFloodConfig, deps connectors.Deps) (connectors.Connector, error) {
	return &e2eFlood{cfg: cfg, deps: deps}, nil
}

// Collect emits artifacts whose content is new on every run (it carries a
// random salt), so that every run writes object files too.
//
// With AIMSVAULT_E2E_KILL_AFTER=N:MICROS in the environment, once N
// artifacts are emitted a goroutine waits MICROS microseconds and SIGKILLs
// the process, wherever the collection then is (mid-object, mid-commit,
// signing): the crash tests' kill points, independent of the machine's speed.
func (c *e2eFlood) Collect(ctx context.Context, emit func(connectors.Artifact) error) error {
	killAt, killDelay := -1, 0
	if spec := os.Getenv("AIMSVAULT_E2E_KILL_AFTER"); spec != "" {
		n, d, _ := strings.Cut(spec, ":")
		killAt, _ = strconv.Atoi(n)
		killDelay, _ = strconv.Atoi(d)
	}
	kill := func() {
		go func() {
			time.Sleep(time.Duration(killDelay) * time.Microsecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}()
	}
	if killAt == 0 {
		kill()
	}
	salt := rand.Text()
	for i := range c.cfg.Artifacts {
		subject := fmt.Sprintf("%s/doc-%05d.md", c.deps.Name, i)
		body := fmt.Sprintf("# %s\nrun salt %s\n", subject, salt)
		if c.cfg.BigEvery > 0 && i%c.cfg.BigEvery == 0 {
			body += strings.Repeat(fmt.Sprintf("%08d padding line of a large document\n", i), 2500) // ~110 KiB
		} else if len(body) < c.cfg.Pad {
			body += strings.Repeat("-", c.cfg.Pad-len(body))
		}
		err := emit(connectors.Artifact{
			Kind: "file.document", Subject: subject, MediaType: "text/markdown",
			Attributes: map[string]string{"file.ext": ".md"},
			Provenance: connectors.Provenance{Method: "read", Endpoint: subject, Complete: true},
			Content:    strings.NewReader(body),
		})
		if err != nil {
			return err
		}
		if i+1 == killAt {
			kill()
		}
	}
	return nil
}
