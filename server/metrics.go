package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// VaultStats is what the vault collector reads: *evidence.Vault implements
// it.
type VaultStats interface {
	// Stats returns the number of records and the bytes of distinct content.
	Stats(ctx context.Context) (records, bytes int64, err error)
}

var (
	vaultRecordsDesc = prometheus.NewDesc("aimsvault_vault_records",
		"Evidence records in the vault (every observation, also of unchanged content).", nil, nil)
	vaultBytesDesc = prometheus.NewDesc("aimsvault_vault_bytes",
		"Bytes of distinct content stored in the vault, inline and in objects/.", nil, nil)
)

// vaultStatsTimeout bounds the vault query of one scrape.
const vaultStatsTimeout = 5 * time.Second

// NewVaultCollector returns a collector that reads the vault's totals at
// each scrape, so it counts what other processes (a `collect` run, an
// upload) added too. A failed read is reported to the scrape as an error.
func NewVaultCollector(v VaultStats) prometheus.Collector { return vaultCollector{v} }

type vaultCollector struct{ v VaultStats }

func (c vaultCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- vaultRecordsDesc
	ch <- vaultBytesDesc
}

func (c vaultCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), vaultStatsTimeout)
	defer cancel()
	records, bytes, err := c.v.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(vaultRecordsDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(vaultRecordsDesc, prometheus.GaugeValue, float64(records))
	ch <- prometheus.MustNewConstMetric(vaultBytesDesc, prometheus.GaugeValue, float64(bytes))
}
