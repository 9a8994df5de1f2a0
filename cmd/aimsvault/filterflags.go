package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/aimsvault/aimsvault/evidence"
)

// filterFlags are the record-selecting flags that `evidence list` and
// `bundle export` share.
type filterFlags struct {
	controls, connectors []string
	since, until         string
	system               string
}

func (ff *filterFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&ff.controls, "control", nil, "only evidence for this control (repeatable; A.6 selects its controls)")
	cmd.Flags().StringSliceVar(&ff.connectors, "connector", nil, "only evidence from this connector (repeatable)")
	cmd.Flags().StringVar(&ff.since, "since", "", "only evidence collected at or after this time (date or RFC 3339)")
	cmd.Flags().StringVar(&ff.until, "until", "", "only evidence collected before this time (RFC 3339; a date includes that day)")
	cmd.Flags().StringVar(&ff.system, "system", "", "only evidence of this AI system (an ai_systems id; membership is computed from the config's matchers)")
}

// systemFilter adds --system to f: a read-time test of each record's
// membership. It returns the scanner that links records, for callers that
// also show each record's systems.
func (a *app) systemFilter(ctx context.Context, v *evidence.Vault, ff *filterFlags, f *evidence.Filter) (*scanner, error) {
	s, err := a.newScanner(v)
	if err != nil {
		return nil, err
	}
	if err := checkSystem(s.inv, ff.system); err != nil {
		return nil, err
	}
	if err := s.prime(ctx); err != nil {
		return nil, err
	}
	if ff.system != "" {
		f.Match = s.matchSystem(ff.system)
	}
	return s, nil
}

// filter checks the flags and returns the filter they select.
func (ff *filterFlags) filter() (evidence.Filter, error) {
	f := evidence.Filter{Connectors: ff.connectors}
	var err error
	if f.Controls, err = expandControls(ff.controls); err != nil {
		return f, err
	}
	if f.Since, err = parseTimeFlag("since", ff.since); err != nil {
		return f, err
	}
	f.Until, err = parseTimeFlag("until", ff.until)
	return f, err
}

// record opens the vault and finds one record by id or unique prefix.
func (a *app) record(ctx context.Context, id string) (*evidence.Vault, *evidence.Record, error) {
	v, err := a.openVault(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := v.Record(ctx, id)
	if err != nil {
		return nil, nil, notFoundHint(err)
	}
	return v, r, nil
}
