package github_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/config"
	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/connectors/github"
	"github.com/aimsvault/aimsvault/connectors/github/githubfake"
)

// BenchmarkCollect_1000Repos runs an owner with 1,000 repositories (copies
// of model-training) twice against the fake and reports API calls per
// repository on each run, the share of the second run's calls answered 304,
// and artifacts per second of the first run.
//
//	go test -run '^$' -bench Collect_1000Repos -benchtime 1x ./connectors/github/
func BenchmarkCollect_1000Repos(b *testing.B) {
	for range b.N {
		f := githubfake.New(b)
		f.Clones = 999
		f.RateRemaining = 1 << 30
		cfg := *github.Type.NewConfig().(*github.Config)
		cfg.BaseURL, cfg.Token, cfg.Owner = f.URL, githubfake.Token, githubfake.Owner
		cfg.Repos = []string{"model-training", "clone-*"}
		cfg.CacheDir = config.Path(b.TempDir())
		run := func() (int, time.Duration) {
			c, err := github.New(cfg, connectors.Deps{Name: "bench", HTTP: connectors.NewHTTPClient(connectors.HTTPOptions{}), Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			start := time.Now()
			err = c.Collect(b.Context(), func(a connectors.Artifact) error {
				io.Copy(io.Discard, a.Content)
				if cl, ok := a.Content.(io.Closer); ok {
					cl.Close()
				}
				n++
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			return n, time.Since(start)
		}
		arts, d := run()
		first := f.Count(0)
		run()
		second := f.Count(0) - first
		notMod := f.Count(http.StatusNotModified)
		const repos = 1000
		b.ReportMetric(float64(first)/repos, "calls/repo-run1")
		b.ReportMetric(float64(second)/repos, "calls/repo-run2")
		b.ReportMetric(100*float64(notMod)/float64(second), "%304-run2")
		b.ReportMetric(float64(arts)/d.Seconds(), "artifacts/s")
	}
}
