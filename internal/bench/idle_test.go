package bench

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkIdleWatcher: `coda rotate --watch --all-profiles` watching two
// profiles whose Gemini CLI goes through their proxies (two listeners), left
// alone for a quiet window (CODA_BENCH_QUIET, default 10s; the target is
// stated for a minute). Reports the resident memory (target ≤ 30 MiB) and
// the context switches the process made in the window: its schedule wakes
// it once a minute per profile at most, so anything beyond is the Go
// runtime's own housekeeping. Linux only (/proc).
func BenchmarkIdleWatcher(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc")
	}
	quiet := 10 * time.Second
	if v := os.Getenv("CODA_BENCH_QUIET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		quiet = d
	}
	coda, _ := build(b)
	e := loggedIn(b, coda)
	pat, _ := e.srv.IssuePAT(benchUser, "bench-idle", 24*time.Hour)
	for _, profile := range []string{"default", "work"} {
		if profile != "default" {
			login := exec.Command(coda, "login", "-p", profile, "--host", e.srv.URL(), "--token-stdin")
			login.Env, login.Stdin = e.environ, strings.NewReader(pat)
			if out, err := login.CombinedOutput(); err != nil {
				b.Fatalf("login: %v\n%s", err, out)
			}
		}
		setup := exec.Command(coda, "setup", "-p", profile, "gemini", "--endpoint", "serving")
		setup.Env = e.environ
		if out, err := setup.CombinedOutput(); err != nil {
			b.Fatalf("setup: %v\n%s", err, out)
		}
	}
	b.ResetTimer()
	var rss, switches []float64
	for i := 0; i < b.N; i++ {
		w := exec.Command(coda, "rotate", "--watch", "--all-profiles")
		w.Env = e.environ
		if err := w.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Second) // start-up: both proxies listening, first schedule set
		before := taskSwitches(b, w.Process.Pid)
		time.Sleep(quiet)
		after := taskSwitches(b, w.Process.Pid)
		status := procStatus(b, "/proc/"+strconv.Itoa(w.Process.Pid)+"/status")
		_ = w.Process.Signal(os.Interrupt)
		_ = w.Wait()
		rss = append(rss, status["VmRSS"]/1024)
		switches = append(switches, after-before)
	}
	b.StopTimer()
	b.ReportMetric(rss[len(rss)/2], "rss-MiB")
	b.ReportMetric(switches[len(switches)/2], "ctxsw-per-window")
	b.ReportMetric(quiet.Seconds(), "window-s")
}

// taskSwitches sums the context switches of every thread of pid.
func taskSwitches(b *testing.B, pid int) float64 {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, t := range tasks {
		st := procStatus(b, dir+"/"+t.Name()+"/status")
		n += st["voluntary_ctxt_switches"] + st["nonvoluntary_ctxt_switches"]
	}
	return n
}

// procStatus reads the numeric fields of a /proc status file (kB for sizes).
func procStatus(b *testing.B, path string) map[string]float64 {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		if n, err := strconv.ParseFloat(fields[0], 64); err == nil {
			out[k] = n
		}
	}
	return out
}
