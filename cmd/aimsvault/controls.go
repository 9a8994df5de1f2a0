package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/mapping"
)

func (a *app) controlsCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "controls",
		Short: "The ISO/IEC 42001:2023 catalog with crosswalks (IDs and short titles only)",
		Long: `The ISO/IEC 42001:2023 catalog: clauses 4.1-10.2 and Annex A controls
A.2.2-A.10.4, with IDs and short titles only (the standard's text is
copyrighted), what evidence each needs, which sources can supply it, and
crosswalks to NIST AI RMF 1.0, the EU AI Act and ISO/IEC 27001:2022 with the
basis of each (a published crosswalk, or our judgment). Needs no config.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat := mapping.Catalog()
			if format == "json" {
				out := make([]mapping.ControlView, len(cat))
				for i, e := range cat {
					out[i] = mapping.View(e)
				}
				return writeJSON(a.stdout, out)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "ID\tTITLE\tSOURCES\tNIST AI RMF\tEU AI ACT\tISO 27001")
			for _, e := range cat {
				title := e.Title
				if e.Heading {
					title += " (heading)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, title, strings.Join(e.Sources, ","),
					dash(strings.Join(e.NISTAIRMF, ", ")), dash(strings.Join(e.EUAIAct, ", ")), dash(strings.Join(e.ISO27001, ", ")))
			}
			return tw.Flush()
		},
	}
	formatFlag(cmd, &format, "table", "json")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
