//go:build aimsvault_e2e

package main

// This file is built only into the binary the end-to-end tests drive
// (go build -tags aimsvault_e2e). It adds a connector type whose runs block
// until canceled, so that the tests can signal and kill `serve` mid-run at a
// moment they know, with no sleeps. Release builds never contain it.

import (
	"context"
	"fmt"
	"os"
	"strings"

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
