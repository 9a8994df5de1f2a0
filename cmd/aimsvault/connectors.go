package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// connectorView is the `connectors --format json` shape.
type connectorView struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Schedule  string  `json:"schedule"`
	LastRun   *string `json:"last_run"`
	LastState string  `json:"last_status"`
}

func (a *app) connectorsCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "connectors",
		Short: "Configured connectors: type, schedule, last run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			var out []connectorView
			for _, c := range a.cfg.Connectors {
				cv := connectorView{Name: c.Name, Type: c.Type, Schedule: c.Schedule, LastState: "never run"}
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
			fmt.Fprintln(tw, "NAME\tTYPE\tSCHEDULE\tLAST RUN\tSTATUS")
			for _, c := range out {
				last := "-"
				if c.LastRun != nil {
					last = *c.LastRun
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.Type, c.Schedule, last, c.LastState)
			}
			return tw.Flush()
		},
	}
	formatFlag(cmd, &format, "table", "json")
	return cmd
}
