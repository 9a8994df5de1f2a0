package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/config"
)

// connectorView is the `connectors --format json` shape.
type connectorView struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Schedule  string  `json:"schedule"`
	LastRun   *string `json:"last_run"`
	LastState string  `json:"last_status"`
	// NextRun is when the schedule next fires (before any jitter); serve
	// also runs a connector at start-up when it missed a run.
	NextRun *string `json:"next_run"`
	// Error says why the connector cannot run (an unset ${VAR}).
	Error string `json:"error,omitempty"`
}

func (a *app) connectorsCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "connectors",
		Short: "Configured connectors: type, schedule, last and next run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			var out []connectorView
			now := time.Now()
			for _, c := range a.cfg.Connectors {
				cv := connectorView{Name: c.Name, Type: c.Type, Schedule: c.Schedule, LastState: "never run"}
				if sc, err := config.ParseSchedule(c.Schedule); err == nil {
					s := sc.Next(now).UTC().Format("2006-01-02T15:04:05Z")
					cv.NextRun = &s
				}
				if c.Err != nil {
					cv.Error = userMessage(c.Err)
				}
				runs, err := v.Runs(cmd.Context(), c.Name, 1)
				if err != nil {
					return err
				}
				if len(runs) == 1 {
					s := runs[0].StartedAt.UTC().Format("2006-01-02T15:04:05Z")
					cv.LastRun, cv.LastState = &s, runs[0].Status
				}
				out = append(out, cv)
			}
			if format == "json" {
				if out == nil {
					out = []connectorView{}
				}
				return writeJSON(a.stdout, out)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "NAME\tTYPE\tSCHEDULE\tLAST RUN\tSTATUS\tNEXT RUN")
			for _, c := range out {
				last, next := "-", "-"
				if c.LastRun != nil {
					last = *c.LastRun
				}
				if c.NextRun != nil {
					next = *c.NextRun
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Type, c.Schedule, last, c.LastState, next)
			}
			for _, c := range out {
				if c.Error != "" {
					fmt.Fprintf(a.stderr, "aimsvault: connector %s cannot run: %s\n", c.Name, c.Error)
				}
			}
			return tw.Flush()
		},
	}
	formatFlag(cmd, &format, "table", "json")
	return cmd
}
