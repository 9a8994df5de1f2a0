package api

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/server/access"
)

// BenchmarkEvidenceList measures GET /api/v1/evidence pages on a large vault
// (AIMSVAULT_BENCH_RECORDS, default 200,000 records), reporting p50 and p99
// latency per request. Each request includes authentication and its durable
// access log append (one fsync). Run with `make bench` or:
//
//	go test -run '^$' -bench EvidenceList -benchtime 2000x ./server/api/
func BenchmarkEvidenceList(b *testing.B) {
	n := 200_000
	if s := os.Getenv("AIMSVAULT_BENCH_RECORDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	e := newEnv(b)
	start := time.Now()
	ctx := b.Context()
	for i := range n {
		ctl := "A.2.2"
		if i%100 == 0 {
			ctl = "A.6.2.8" // 1% of records: a filter that must skip
		}
		if _, _, err := e.vault.Append(ctx, evidence.Input{
			Run: e.run, Connector: "docs", Type: "files", Kind: "file.document", Subject: fmt.Sprintf("doc-%07d.md", i),
			MediaType: "text/markdown", Controls: []string{ctl}, Content: bytes.NewReader([]byte(strconv.Itoa(i))),
		}); err != nil {
			b.Fatal(err)
		}
	}
	e.sign()
	b.Logf("built a vault of %d records in %s", n, time.Since(start).Round(time.Millisecond))
	tok := e.token(access.NewToken{Name: "bench", Role: access.Compliance})
	mux := http.NewServeMux()
	e.api.Register(mux)

	for _, c := range []struct {
		name  string
		query func() string
	}{
		{"first-page", func() string { return "limit=100" }},
		{"deep-page", func() string {
			return "limit=100&cursor=" + *encodeCursor("e", strconv.Itoa(rand.IntN(n-100)))
		}},
		{"control-filter-1pct", func() string {
			return "limit=100&control=A.6.2.8&cursor=" + *encodeCursor("e", strconv.Itoa(rand.IntN(n/2)))
		}},
	} {
		b.Run(fmt.Sprintf("%s/records=%d", c.name, n), func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				req := httptest.NewRequest("GET", "/api/v1/evidence?"+c.query(), nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				w := httptest.NewRecorder()
				t := time.Now()
				mux.ServeHTTP(w, req)
				lat = append(lat, time.Since(t))
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
