package aws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
)

// Environment of a scan worker process (see TestAWSScanWorker).
const (
	envWorkerURL      = "NHISCAN_AWS_WORKER_URL"
	envWorkerAccounts = "NHISCAN_AWS_WORKER_ACCOUNTS"
)

// scanResult is what a worker process prints.
type scanResult struct {
	Identities int     `json:"identities"`
	Gaps       int     `json:"gaps"`
	Accounts   int     `json:"accounts"`
	WallS      float64 `json:"wall_s"`
	Err        string  `json:"err,omitempty"`
	// cpu is the worker process's user and system CPU time.
	cpu time.Duration
}

// BenchmarkScanWorkers scans an AWS organisation of 1,000 accounts × 500
// identities (500,000 identities) through one fake with 20 ms of latency
// per call, first with one worker process collecting every account, then
// with four worker processes each collecting a quarter of them. The fake
// (the cloud) runs in the benchmark process; each worker is this test
// binary re-executed (TestAWSScanWorker), a separate OS process with its
// own collector at the default concurrency of 16 accounts and one IAM
// call at a time per account. Reported per case: wall-s (from starting the
// workers until the last finished), calls, floor-s (the critical path:
// waves of 16 accounts per worker × calls per account × 20 ms, about
// accounts × calls per account × 20 ms ÷ (16 × workers)), x-floor, and for
// four workers speedup (the one-worker wall time over this one); and the
// CPU time the workers (worker-cpu-s) and the fake (fake-cpu-s) used, for
// the two cores of the machine are shared by both.
//
// A run takes several minutes, so it runs only when named:
//
//	go test -run '^$' -bench BenchmarkScanWorkers -benchtime 1x -timeout 60m ./collectors/aws/
//
// NHISCAN_SCAN_ACCOUNTS=200 runs a fraction of the organisation.
func BenchmarkScanWorkers(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "BenchmarkScanWorkers") {
		b.Skip("run with -bench BenchmarkScanWorkers")
	}
	const (
		identities = 500
		latency    = 20 * time.Millisecond
	)
	accounts := 1000
	if v := os.Getenv("NHISCAN_SCAN_ACCOUNTS"); v != "" {
		if _, err := fmt.Sscan(v, &accounts); err != nil {
			b.Fatal(err)
		}
	}
	seed := awsfake.Synthetic(accounts, identities, now)
	ids := make([]string, len(seed.Accounts))
	for i, a := range seed.Accounts {
		ids[i] = a.ID
	}
	var oneWorker float64
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				srv := awsfake.New(seed)
				srv.SetLatency(latency)
				fakeCPU := processCPU()
				b.StartTimer()
				wall, res := runWorkers(b, srv.URL, ids, workers)
				b.StopTimer()
				fakeCPU = processCPU() - fakeCPU
				total, workerCPU := 0, time.Duration(0)
				for _, r := range res {
					if r.Err != "" || r.Gaps != 0 {
						b.Fatalf("worker: %+v", r)
					}
					total += r.Identities
					workerCPU += r.cpu
				}
				if total != accounts*identities {
					b.Fatalf("identities %d, want %d", total, accounts*identities)
				}
				calls := srv.CallCount("")
				// Each account is a chain of calls one at a time; each worker
				// runs its accounts in waves of 16.
				perAccount := float64(calls) / float64(accounts)
				waves := (accounts/workers + awscol.DefaultConcurrency - 1) / awscol.DefaultConcurrency
				floor := float64(max(waves, 1)) * perAccount * latency.Seconds()
				b.ReportMetric(float64(calls), "calls")
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(floor, "floor-s")
				b.ReportMetric(wall.Seconds()/floor, "x-floor")
				b.ReportMetric(float64(total), "identities")
				b.ReportMetric(workerCPU.Seconds(), "worker-cpu-s")
				b.ReportMetric(fakeCPU.Seconds(), "fake-cpu-s")
				if workers == 1 {
					oneWorker = wall.Seconds()
				} else if oneWorker > 0 {
					b.ReportMetric(oneWorker/wall.Seconds(), "speedup")
				}
				srv.Close()
				b.StartTimer()
			}
		})
	}
}

// processCPU is the user and system CPU time of this process (the fake).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runWorkers starts n worker processes, each scanning an nth of the
// accounts (round robin), and waits for all of them.
func runWorkers(b *testing.B, url string, accounts []string, n int) (time.Duration, []scanResult) {
	b.Helper()
	parts := make([][]string, n)
	for i, a := range accounts {
		parts[i%n] = append(parts[i%n], a)
	}
	start := time.Now()
	res := make([]scanResult, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestAWSScanWorker$", "-test.count", "1", "-test.v")
		cmd.Env = append(os.Environ(), envWorkerURL+"="+url, envWorkerAccounts+"="+strings.Join(parts[i], ","))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if line, ok := strings.CutPrefix(sc.Text(), "scan-result: "); ok {
					if err := json.Unmarshal([]byte(line), &res[i]); err != nil {
						res[i].Err = err.Error()
					}
				}
			}
			if err := cmd.Wait(); err != nil && res[i].Err == "" {
				res[i].Err = err.Error()
			}
			if st := cmd.ProcessState; st != nil {
				res[i].cpu = st.UserTime() + st.SystemTime()
			}
		})
	}
	wg.Wait()
	return time.Since(start), res
}

// TestAWSScanWorker is one worker process of BenchmarkScanWorkers: it
// collects the accounts it is given from the fake at the URL it is given
// and prints what it found. Without its environment it does nothing.
func TestAWSScanWorker(t *testing.T) {
	url, list := os.Getenv(envWorkerURL), os.Getenv(envWorkerAccounts)
	if url == "" || list == "" {
		t.Skip("a worker process of BenchmarkScanWorkers")
	}
	accounts := strings.Split(list, ",")
	cfg := awscol.Config{
		Accounts:           accounts,
		RoleName:           awsfake.DemoRoleName,
		EndpointURL:        url,
		HTTPClient:         &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * awscol.DefaultConcurrency}},
		Credentials:        (&awsfake.Server{}).CredentialsProvider(),
		MaxRetries:         3,
		MaxRetryDelay:      2 * time.Millisecond,
		ReportPollInterval: time.Millisecond,
		Now:                fixedNow,
	}
	c, err := awscol.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	inv, err := c.Collect(context.Background())
	r := scanResult{Identities: len(inv.Identities), Gaps: len(inv.Gaps), Accounts: len(accounts), WallS: time.Since(start).Seconds()}
	if err != nil {
		r.Err = err.Error()
	}
	line, _ := json.Marshal(r)
	fmt.Printf("scan-result: %s\n", line)
}
