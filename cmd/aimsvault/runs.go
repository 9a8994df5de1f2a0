package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/evidence"
)

func (a *app) runsCommand() *cobra.Command {
	var (
		format, connector string
		limit             int
	)
	cmd := &cobra.Command{
		Use:   "runs [--connector NAME]",
		Short: "Connector run history, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			runs, err := v.Runs(cmd.Context(), connector, limit)
			if err != nil {
				return err
			}
			if format == "json" {
				if runs == nil {
					runs = []evidence.Run{}
				}
				return writeJSON(a.stdout, runs)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "ID\tCONNECTOR\tTRIGGER\tSTARTED\tFINISHED\tSTATUS\tARTIFACTS\tNEW\tERROR")
			for _, r := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", r.ID, r.Connector, r.Trigger, shortTime(&r.StartedAt),
					shortTime(r.FinishedAt), r.Status, r.Artifacts, r.NewBlobs, firstLine(r.Error))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&connector, "connector", "", "only runs of this connector")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many runs (0: all)")
	formatFlag(cmd, &format, "table", "json")
	return cmd
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

func (a *app) logsCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "logs RUN_ID",
		Short: "One run's log lines",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := v.GetRun(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, evidence.ErrNotFound) {
					return fmt.Errorf("%w: list runs with `aimsvault runs`", err)
				}
				return err
			}
			lines, err := v.RunLogs(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				if lines == nil {
					lines = []evidence.LogLine{}
				}
				return writeJSON(a.stdout, lines)
			}
			for _, l := range lines {
				fmt.Fprintf(a.stdout, "%s %-5s %s %s\n", l.Time.UTC().Format("2006-01-02T15:04:05.000Z"), l.Level, l.Msg, l.Attrs)
			}
			return nil
		},
	}
	formatFlag(cmd, &format, "text", "json")
	return cmd
}
