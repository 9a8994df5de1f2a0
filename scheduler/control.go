package scheduler

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/aimsvault/aimsvault/config"
)

var (
	// ErrUnknownConnector means no configured connector has the name.
	ErrUnknownConnector = errors.New("no connector of that name")
	// ErrBusy means the connector has a run in progress or waiting to start.
	ErrBusy = errors.New("a run of this connector is already in progress")
	// ErrStopping means the scheduler is shutting down, or not started.
	ErrStopping = errors.New("the scheduler is not running")
)

// Trigger starts a run of the named connector now (trigger "api", no
// jitter) and returns the run's id. The run may still wait for a free slot
// (Options.MaxParallel); its run record appears when it starts. It returns
// an error matching ErrUnknownConnector, ErrBusy or ErrStopping when it
// starts nothing.
func (s *Scheduler) Trigger(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return "", ErrStopping
	}
	for _, e := range s.entries {
		if e.cc.Name != name {
			continue
		}
		id, err := uuid.NewV7()
		if err != nil {
			return "", err
		}
		if err := s.dispatchLocked(e, TriggerAPI, id.String()); err != nil {
			return "", fmt.Errorf("connector %s: %w", name, err)
		}
		return id.String(), nil
	}
	return "", fmt.Errorf("connector %q: %w", name, ErrUnknownConnector)
}

// ConnectorStatus is one scheduled connector as the scheduler sees it.
type ConnectorStatus struct {
	Connector config.Connector
	// Next is when its schedule next fires (before jitter).
	Next time.Time
	// Busy: a run is in progress or waiting for a slot.
	Busy bool
}

// Status returns every scheduled connector, in config order.
func (s *Scheduler) Status() []ConnectorStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ConnectorStatus, len(s.entries))
	for i, e := range s.entries {
		out[i] = ConnectorStatus{Connector: e.cc, Next: e.next, Busy: s.busy[e.cc.Name]}
	}
	return out
}
