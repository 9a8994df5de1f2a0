package main

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/mapping"
)

// ruleView is the `rules --format json` shape.
type ruleView struct {
	Kind       string            `json:"kind"`
	Attributes map[string]string `json:"attributes"`
	Controls   []string          `json:"controls"`
	Freshness  string            `json:"freshness"`
	Source     string            `json:"source"` // "builtin" or "config"
}

func (a *app) rulesCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "The mapping rules in force: evidence kind and attributes -> controls, freshness",
		Long: `The mapping rules in force: the built-in ones, then those of mapping.rules in
the config. A rule maps evidence of a kind (and attributes) to the controls it
evidences, and says how recent it must be to count as covered. A record also
counts for the controls its "controls" attribute declares (document front
matter, evidence add --control).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The built-in rules need no config; with one, its rules follow.
			builtins := len(mapping.BuiltinRules())
			rules := mapping.BuiltinRules()
			if _, err := a.loadConfig(); err == nil {
				rules = a.mapper.Rules()
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			views := make([]ruleView, len(rules))
			for i, r := range rules {
				src := "builtin"
				if i >= builtins {
					src = "config"
				}
				f := r.Freshness
				if f == 0 {
					f = mapping.DefaultFreshness
				}
				views[i] = ruleView{Kind: r.Kind, Attributes: r.Attributes, Controls: r.Controls, Freshness: days(f), Source: src}
				if views[i].Attributes == nil {
					views[i].Attributes = map[string]string{}
				}
				if views[i].Controls == nil {
					views[i].Controls = []string{}
				}
			}
			switch format {
			case "json":
				return writeJSON(a.stdout, views)
			case "markdown":
				fmt.Fprintln(a.stdout, "| kind | attributes | controls | freshness |")
				fmt.Fprintln(a.stdout, "| --- | --- | --- | --- |")
				for _, v := range views {
					ctl := strings.Join(v.Controls, ", ")
					if ctl == "" {
						ctl = "none by itself"
					}
					fmt.Fprintf(a.stdout, "| `%s` | %s | %s | %s |\n", v.Kind, attrText(v.Attributes, "`"), ctl, v.Freshness)
				}
				return nil
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "KIND\tATTRIBUTES\tCONTROLS\tFRESHNESS\tSOURCE")
			for _, v := range views {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Kind, dash(attrText(v.Attributes, "")), dash(strings.Join(v.Controls, ",")), v.Freshness, v.Source)
			}
			return tw.Flush()
		},
	}
	formatFlag(cmd, &format, "table", "json", "markdown")
	return cmd
}

func attrText(attrs map[string]string, quote string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		parts = append(parts, quote+k+"="+attrs[k]+quote)
	}
	return strings.Join(parts, " ")
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
