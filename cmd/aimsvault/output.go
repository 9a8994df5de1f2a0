package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// formatFlag adds --format with the allowed values, the first the default.
func formatFlag(cmd *cobra.Command, p *string, allowed ...string) {
	cmd.Flags().StringVar(p, "format", allowed[0], "output format: "+strings.Join(allowed, ", "))
	cmd.PreRunE = chain(cmd.PreRunE, func(*cobra.Command, []string) error {
		for _, a := range allowed {
			if *p == a {
				return nil
			}
		}
		return fmt.Errorf("--format %q: use one of %s", *p, strings.Join(allowed, ", "))
	})
}

func chain(fs ...func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		for _, f := range fs {
			if f != nil {
				if err := f(c, args); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonArray streams a JSON array one element at a time, so a listing of any
// length never sits in memory.
type jsonArray struct {
	w     io.Writer
	n     int
	err   error
	ended bool
}

func newJSONArray(w io.Writer) *jsonArray {
	_, err := io.WriteString(w, "[")
	return &jsonArray{w: w, err: err}
}

func (a *jsonArray) add(v any) error {
	if a.err != nil {
		return a.err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sep := "\n  "
	if a.n > 0 {
		sep = ",\n  "
	}
	a.n++
	_, a.err = io.WriteString(a.w, sep+string(b))
	return a.err
}

func (a *jsonArray) close() error {
	if a.err != nil {
		return a.err
	}
	end := "]\n"
	if a.n > 0 {
		end = "\n]\n"
	}
	_, err := io.WriteString(a.w, end)
	return err
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

func shortTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// parseTimeFlag accepts RFC 3339 or a date (midnight UTC). A date given to
// --until includes that whole day, as in --period FROM..TO.
func parseTimeFlag(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if name == "until" {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: use a date (2026-01-31) or RFC 3339 time (2026-01-31T12:00:00Z)", name, s)
}
