package atomicfile

import "time"

// retry runs op until it succeeds, fails with an error transient rejects,
// or budget has passed (then op's last error is returned). Waits start at
// a millisecond and double up to 100ms. Only Windows uses it (see
// replace_windows.go); it is built everywhere so its test runs everywhere.
func retry(op func() error, transient func(error) bool, budget time.Duration) error {
	deadline := time.Now().Add(budget)
	wait := time.Millisecond
	for {
		err := op()
		if err == nil || !transient(err) || !time.Now().Add(wait).Before(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}
