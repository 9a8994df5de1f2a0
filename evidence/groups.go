package evidence

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Group is the records that share a kind, controls and the values of some
// attributes, as Groups counts them: what coverage needs without decoding
// every leaf.
type Group struct {
	Kind     string
	Controls []string
	// Attributes holds the asked-for keys the records have (a key the
	// records lack is absent).
	Attributes map[string]string
	Count      int
	// Newest is the newest evidence time (effective_at, else collected_at);
	// NewestAsOf the newest not after Groups' asOf, zero when none is.
	Newest, NewestAsOf time.Time
}

// Groups aggregates every record in SQL, by kind, controls and the values of
// the attributes keys, from the mirror columns, and calls fn for each group
// in no particular order. The mirror columns are what verify checks against
// the signed leaves.
func (v *Vault) Groups(ctx context.Context, keys []string, asOf time.Time, fn func(Group) error) error {
	const t = "COALESCE(effective_at, collected_at)"
	// One json_extract with every path parses each row's attributes once
	// and gives a JSON array of the values (null where a key is absent:
	// attribute values are always strings).
	attrs := "attributes"
	args := []any{FormatTime(asOf)}
	if len(keys) > 0 && !slices.ContainsFunc(keys, func(k string) bool { return strings.ContainsAny(k, "\"\\") }) {
		// Most records hold none of the keys: a substring test for each
		// key, as the column encodes it, skips parsing those (a false
		// positive only costs the parse).
		var has []string
		for _, k := range keys {
			has = append(has, "instr(attributes, ?)")
			args = append(args, string(appendString(nil, k)))
		}
		extract := "json_extract(attributes" + strings.Repeat(", ?", len(keys)) + ")"
		if len(keys) == 1 {
			extract = "json_array(" + extract + ")"
		}
		for _, k := range keys {
			args = append(args, `$."`+k+`"`)
		}
		attrs = "CASE WHEN " + strings.Join(has, " OR ") + " THEN " + extract + " END"
	} else {
		keys = nil // a JSON path cannot quote '"' or '\': group by the whole object
	}
	q := "SELECT COUNT(*), MAX(" + t + "), MAX(CASE WHEN " + t + " <= ? THEN " + t + " END), kind, controls, " +
		attrs + " FROM records GROUP BY 4, 5, 6"
	rows, err := v.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("group records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			g             Group
			newest, asOfT sql.NullString
			controls      string
			attrsCol      sql.NullString // NULL: none of keys is present
		)
		if err := rows.Scan(&g.Count, &newest, &asOfT, &g.Kind, &controls, &attrsCol); err != nil {
			return fmt.Errorf("group records: %w", err)
		}
		if err := json.Unmarshal([]byte(controls), &g.Controls); err != nil {
			return fmt.Errorf("group records: controls %q: %w", controls, err)
		}
		if g.Newest, err = ParseTime(newest.String); err != nil {
			return fmt.Errorf("group records: %w", err)
		}
		if asOfT.Valid {
			if g.NewestAsOf, err = ParseTime(asOfT.String); err != nil {
				return fmt.Errorf("group records: %w", err)
			}
		}
		g.Attributes = map[string]string{}
		attrsJSON := attrsCol.String
		if !attrsCol.Valid {
			attrsJSON = "{}"
		}
		if keys == nil || !attrsCol.Valid {
			err = json.Unmarshal([]byte(attrsJSON), &g.Attributes)
		} else {
			var vals []*string
			if err = json.Unmarshal([]byte(attrsJSON), &vals); err == nil && len(vals) != len(keys) {
				err = fmt.Errorf("%d values for %d keys", len(vals), len(keys))
			}
			for i, k := range keys {
				if err == nil && vals[i] != nil {
					g.Attributes[k] = *vals[i]
				}
			}
		}
		if err != nil {
			return fmt.Errorf("group records: attributes %q: %w", attrsJSON, err)
		}
		if err := fn(g); err != nil {
			return err
		}
	}
	return rows.Err()
}
