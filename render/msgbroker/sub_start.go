package msgbroker

import (
	"errors"
	"log/slog"
	"time"
)

// startSub starts a command subscriber's connection loop and waits up to
// timer for its first attempt. A refused login fails Start (a wrong
// password does not get better by retrying); any other failure, or no
// answer in time, is logged and left to the loop's retries with backoff.
// It reports whether the first attempt connected.
func startSub(log *slog.Logger, name string, timer *time.Timer, run func(first chan<- error)) (bool, error) {
	first := make(chan error, 1)
	go run(first)
	select {
	case err := <-first:
		var ae *authError
		if errors.As(err, &ae) {
			return false, err
		}
		if err != nil {
			log.Warn("command broker not reachable yet; retrying in the background", "broker", name, "err", err)
			return false, nil
		}
		return true, nil
	case <-timer.C:
		log.Warn("command broker not connected yet; retrying in the background", "broker", name)
		return false, nil
	}
}
