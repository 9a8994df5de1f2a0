package scheduler

import (
	"errors"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
)

func TestScheduler_TriggerAndStatus(t *testing.T) {
	t.Parallel()
	e := newSchedEnv(t)
	b := newBlocker()
	s := e.start(t, 2, probe("slow", "@every 1h", b.collect("slow")), probe("quick", "@every 1h", okCollect))
	recv(t, b.started) // the start-up run of slow is in progress
	waitFor(t, "quick's start-up run finished", func() bool { return len(finished(e.runs(t, "quick"))) == 1 })

	st := s.Status()
	if len(st) != 2 || st[0].Connector.Name != "slow" || !st[0].Busy || st[1].Busy || st[1].Next.Before(time.Now().Add(59*time.Minute)) {
		t.Errorf("status: %+v", st)
	}
	if _, err := s.Trigger("slow"); !errors.Is(err, ErrBusy) {
		t.Errorf("trigger while running: %v, want ErrBusy", err)
	}
	if _, err := s.Trigger("nope"); !errors.Is(err, ErrUnknownConnector) {
		t.Errorf("trigger unknown: %v, want ErrUnknownConnector", err)
	}
	id, err := s.Trigger("quick")
	if err != nil {
		t.Fatal(err)
	}
	// The id handed out is the id of the run that happens.
	waitFor(t, "the triggered run finished", func() bool {
		r, err := e.vault.GetRun(t.Context(), id)
		return err == nil && r.Status == evidence.RunOK && r.Trigger == TriggerAPI
	})
	close(b.release)
}
