package evidence

import (
	"context"
	"fmt"
)

// Stats returns how many records the vault holds and how many bytes of
// distinct content (inline and in objects/) they point at. It reads only
// committed data, costs one index lookup for the records and a scan of the
// content sizes, and is meant for metrics.
func (v *Vault) Stats(ctx context.Context) (records, bytes int64, err error) {
	err = v.r.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(MAX(idx)+1, 0) FROM records),
		(SELECT COALESCE(SUM(size), 0) FROM content)`).Scan(&records, &bytes)
	if err != nil {
		return 0, 0, fmt.Errorf("read vault totals: %w", err)
	}
	return records, bytes, nil
}
