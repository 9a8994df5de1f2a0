package awsapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/aimsvault/aimsvault/connectors"
)

// Deps fills in what a connector needs from deps, with the defaults a
// connector built outside the hub (a test) uses: a shared client that
// redacts externalID, a discarding logger, the wall clock.
func Deps(deps connectors.Deps, externalID string) (*http.Client, *slog.Logger, func() time.Time) {
	hc, log, now := deps.HTTP, deps.Logger, deps.Now
	if hc == nil {
		hc = connectors.NewHTTPClient(connectors.HTTPOptions{Secrets: []string{externalID}})
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return hc, log, now
}

// CollectRegions asks STS who the caller is, then runs collect for each
// region in order. A region's failure does not stop the others: failures are
// joined into the returned error. An emit error (collect's first result), or
// ctx ending, stops the run at once.
func CollectRegions(ctx context.Context, s Settings, o Options, collect func(ctx context.Context, ss *Session, region string) (emitErr, err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ss, err := Open(ctx, s, o)
	if err != nil {
		return err
	}
	var errs []error
	for _, region := range s.Regions {
		emitErr, err := collect(ctx, ss, region)
		if emitErr != nil {
			return emitErr
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return errors.Join(append(errs, ctxErr)...)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RunFamilies collects each family of calls of one region in turn, each even
// when another failed, joining the failures. It stops when stopped reports
// an emit error or ctx ends, and skips the rest of the region when the
// service is not available there: every other call would fail the same way.
func RunFamilies(ctx context.Context, log *slog.Logger, service, region string, stopped func() bool, families ...func(context.Context) error) error {
	var errs []error
	for _, family := range families {
		err := family(ctx)
		if stopped() || ctx.Err() != nil {
			return err
		}
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, ErrRegionUnavailable) {
				log.Warn("service not available in region", "service", service, "region", region)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// Family gathers the errors of one family of calls, going on past each
// until the run must stop.
type Family struct {
	stopped func() bool
	errs    []error
}

// NewFamily starts a family; stopped reports that the run must stop (emit
// failed).
func NewFamily(stopped func() bool) *Family { return &Family{stopped: stopped} }

// Add records err and reports whether the family must stop: the run stops,
// or every later call would fail alike (see Stops).
func (f *Family) Add(err error) (stop bool) {
	if f.stopped() {
		return true
	}
	f.errs = append(f.errs, err)
	return Stops(err)
}

// Err joins the recorded errors.
func (f *Family) Err() error { return errors.Join(f.errs...) }

// CapturedRaw returns the captured body of a call's answer; a missing one
// means the capture middleware did not run, a programming error reported as
// such.
func CapturedRaw(service, region, what string, md middleware.Metadata) (Raw, error) {
	raw, ok := RawOf(md)
	if !ok {
		return raw, fmt.Errorf("%s %s: %s: %w: response body not captured", service, region, what, connectors.ErrBadResponse)
	}
	return raw, nil
}
