package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ParseSchedule parses a connector's schedule, the one syntax shared by the
// config check, the scheduler and `aimsvault connectors`:
//
//   - five cron fields, minute hour day-of-month month day-of-week
//     ("0 3 * * *", "*/15 9-17 * * 1-5"), as robfig/cron's ParseStandard reads
//     them;
//   - a descriptor: @yearly, @monthly, @weekly, @daily (@midnight), @hourly, or
//     @every DURATION ("@every 6h", "@every 90s"), at least one second;
//   - either form after CRON_TZ=Zone (an IANA zone, "CRON_TZ=Europe/Paris 0 3 * * *").
//
// Without CRON_TZ= times are in the daemon's local time zone. @every counts
// from when the schedule was installed, in whole seconds.
func ParseSchedule(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty schedule")
	}
	body := spec
	if strings.HasPrefix(body, "CRON_TZ=") || strings.HasPrefix(body, "TZ=") {
		if _, rest, ok := strings.Cut(body, " "); ok {
			body = strings.TrimSpace(rest)
		}
	}
	// cron.Every quietly turns 0, a negative or a sub-second interval into 1s;
	// say so instead of hammering a source once a second.
	if d, ok := strings.CutPrefix(body, "@every "); ok {
		if v, err := time.ParseDuration(strings.TrimSpace(d)); err == nil && v < time.Second {
			return nil, fmt.Errorf("@every needs an interval of at least 1s, got %s", v)
		}
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// scheduleHelp says what a schedule may be, for config messages.
const scheduleHelp = `want five cron fields such as "0 3 * * *", @daily, @every 6h, optionally after CRON_TZ=Zone`
