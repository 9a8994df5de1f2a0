package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/scheduler"
)

func (a *app) collectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "collect [NAME...]",
		Short: "Run the named connectors (all if none) once, now",
		Long: `Run the named connectors (all if none) once, now. Each run is recorded
(see ` + "`aimsvault runs`" + `) and ends with a signed checkpoint. Runs left running by
a killed collect or serve are first marked failed (interrupted), unless
another aimsvault process is running connectors. Exits 1 if any run failed.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			cfg := a.cfg
			selected, err := selectConnectors(cfg, names)
			if err != nil {
				return err
			}
			// Runs a killed collect or serve left running are failed
			// (interrupted), unless another process is running connectors.
			if err := v.MarkInterrupted(cmd.Context()); err != nil {
				return err
			}
			r := a.runner()
			failed := 0
			for _, cc := range selected {
				run, err := r.Run(cmd.Context(), cc, scheduler.TriggerCollect)
				if run == nil {
					return err
				}
				line := fmt.Sprintf("%-20s %-8s %d artifacts (%d new) run %s", cc.Name, run.Status, run.Artifacts, run.NewBlobs, run.ID)
				if err != nil {
					failed++
					line += "\n  error: " + strings.ReplaceAll(run.Error, "\n", "\n  error: ")
				}
				fmt.Fprintln(a.stdout, line)
			}
			if cp, err := v.LatestCheckpoint(cmd.Context()); err == nil && cp != nil {
				fmt.Fprintf(a.stdout, "checkpoint: %d records signed\n", cp.Size)
			}
			if failed > 0 {
				fmt.Fprintf(a.stderr, "aimsvault: %d of %d runs failed: see `aimsvault logs RUN_ID`\n", failed, len(selected))
				return exitError{1}
			}
			return nil
		},
	}
}

// selectConnectors returns the configured connectors named, in config order,
// or all of them when names is empty.
func selectConnectors(cfg *config.Config, names []string) ([]config.Connector, error) {
	if len(names) == 0 {
		if len(cfg.Connectors) == 0 {
			return nil, fmt.Errorf("%s configures no connectors: add one under connectors:", cfg.File)
		}
		return cfg.Connectors, nil
	}
	byName := map[string]config.Connector{}
	var all []string
	for _, c := range cfg.Connectors {
		byName[c.Name] = c
		all = append(all, c.Name)
	}
	var out []config.Connector
	for _, n := range names {
		c, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("no connector named %q in %s: configured are %s", n, cfg.File, strings.Join(all, ", "))
		}
		out = append(out, c)
	}
	return out, nil
}
