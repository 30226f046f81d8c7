// Command lifecycle measures OCI runtimes the way a shim drives them:
// create → start → wait4 on the container's init → delete of /bin/true,
// N times after a warm-up, plus the latency of `exec /bin/true` into a
// running container and of `events --stats`. It prints mean and median per
// runtime, each runtime's peak RSS per subcommand (ru_maxrss from wait4),
// the ratios of the first runtime to the others, and machine-readable
// RESULT/RSS lines for bench/lifecycle.sh.
//
//	lifecycle -setting cgroups -n 100 \
//	    -runtime berth=bin/berth-runtime -runtime runc=/usr/sbin/runc \
//	    -runtime 'crun=/usr/bin/crun --cgroup-manager=disabled'
//
// It must run as root. It makes itself a child subreaper so each
// container init is re-parented to it and can be reaped by PID.
package main

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berth-dev/berth/seccomp"

	"github.com/berth-dev/berth/internal/imagetest"
	"golang.org/x/sys/unix"
)

// metrics are what is measured per runtime, in output order.
var metrics = []string{"lifecycle", "exec", "events"}

// result holds one runtime's samples and failures.
type result struct {
	name    string
	samples map[string]sample
	errs    map[string]error
	rss     map[string]int64
}

func main() {
	var rts runtimeList
	n := flag.Int("n", 100, "measured iterations of the lifecycle")
	warm := flag.Int("warmup", 5, "unmeasured iterations first")
	execN := flag.Int("exec-n", 0, "exec iterations (default: -n)")
	eventsN := flag.Int("events-n", 0, "events --stats iterations (default: -n)")
	setting := flag.String("setting", "default", "label for this run's setting in the output")
	work := flag.String("workdir", "", "directory for bundles and state (default: a new temp dir, removed at the end)")
	flag.BoolVar(&withSeccomp, "seccomp", true, "give every container Docker's default seccomp profile (and default capabilities), as a real engine would")
	makeBundle := flag.String("make-bundle", "", "only write a /bin/true busybox bundle to this directory and exit (for hyperfine)")
	cgroupsPath := flag.String("cgroups-path", "", "with -make-bundle: linux.cgroupsPath of the bundle")
	flag.Var(&rts, "runtime", "name=/path/to/runtime [global flags]; repeatable; the first is compared to the others")
	summary := flag.Bool("summarize", false, "only summarize the RESULT lines of the files named as arguments, one round each: medians and their spread over rounds")
	flag.Parse()
	if *summary {
		if err := summarizeFiles(os.Stdout, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "lifecycle:", err)
			os.Exit(1)
		}
		return
	}
	if *makeBundle != "" {
		spec := imagetest.Spec(imagetest.SpecOptions{Args: []string{"/bin/true"}, CgroupsPath: *cgroupsPath})
		addSeccomp(spec)
		if err := imagetest.NewBundle(*makeBundle, spec); err != nil {
			fmt.Fprintln(os.Stderr, "lifecycle:", err)
			os.Exit(1)
		}
		return
	}
	if *execN == 0 {
		*execN = *n
	}
	if *eventsN == 0 {
		*eventsN = *n
	}
	if len(rts) == 0 || *n <= 0 || *warm < 0 || *execN < 0 || *eventsN < 0 {
		fmt.Fprintln(os.Stderr, "lifecycle: need at least one -runtime and positive -n (see -h)")
		os.Exit(2)
	}
	if err := run(rts, *setting, *n, *warm, *execN, *eventsN, *work); err != nil {
		fmt.Fprintln(os.Stderr, "lifecycle:", err)
		os.Exit(1)
	}
}

func run(rts runtimeList, setting string, n, warm, execN, eventsN int, work string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("must run as root")
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become child subreaper: %w", err)
	}
	if work == "" {
		d, err := os.MkdirTemp("", "berth-test-bench-")
		if err != nil {
			return fmt.Errorf("work dir: %w", err)
		}
		defer os.RemoveAll(d)
		work = d
	}
	rootfs := filepath.Join(work, "rootfs")
	if err := imagetest.BuildRootfs(rootfs); err != nil {
		return err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer devnull.Close()

	var results []*result
	for _, rt := range rts {
		if _, err := os.Stat(rt.path); err != nil {
			fmt.Printf("# %s: skipped, %s not found\n", rt.name, rt.path)
			continue
		}
		r, err := newRunner(rt, work, rootfs, devnull)
		if err != nil {
			return err
		}
		res := measure(r, n, warm, execN, eventsN)
		r.close()
		res.rss = r.peakRSS
		results = append(results, res)
		// Leave no cgroup behind even if the runtime did.
		for _, c := range cgroupLeftovers(r.cgroup) {
			fmt.Printf("# %s: left cgroup %s (removing)\n", rt.name, c)
			_ = unix.Rmdir(c)
		}
	}
	report(setting, n, results)
	return nil
}

// measure runs the three measurements for one runtime; a failing metric
// is reported and skipped, the others still run.
func measure(r *runner, n, warm, execN, eventsN int) *result {
	res := &result{name: r.rt.name, samples: map[string]sample{}, errs: map[string]error{}}
	fmt.Fprintf(os.Stderr, "# %s: lifecycle x%d (+%d warm-up)\n", r.rt.name, n, warm)
	for i := 0; i < warm+n; i++ {
		d, err := r.lifecycle()
		if err != nil {
			res.errs["lifecycle"] = err
			break
		}
		if i >= warm {
			res.samples["lifecycle"] = append(res.samples["lifecycle"], d)
		}
	}
	id, stop, err := r.running()
	if err != nil {
		res.errs["exec"], res.errs["events"] = err, err
		return res
	}
	fmt.Fprintf(os.Stderr, "# %s: exec x%d, events --stats x%d\n", r.rt.name, execN, eventsN)
	for i := 0; i < warm+execN; i++ {
		d, err := r.cmd("exec", id, "/bin/true")
		if err != nil {
			res.errs["exec"] = err
			break
		}
		if i >= warm {
			res.samples["exec"] = append(res.samples["exec"], d)
		}
	}
	for i := 0; i < warm+eventsN; i++ {
		d, err := r.cmd("events", "--stats", id)
		if err != nil {
			res.errs["events"] = err
			break
		}
		if i >= warm {
			res.samples["events"] = append(res.samples["events"], d)
		}
	}
	if err := stop(); err != nil {
		fmt.Printf("# %s: stopping the exec container: %v\n", r.rt.name, err)
	}
	return res
}

// cgroupLeftovers lists the runner's cgroup in every hierarchy that still
// has it.
func cgroupLeftovers(rel string) []string {
	var left []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, root := range roots {
		p := filepath.Join(root, rel)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			left = append(left, p)
		}
	}
	return left
}

func report(setting string, n int, results []*result) {
	var machine []string
	fmt.Printf("\n== setting %s (n=%d) ==\n", setting, n)
	fmt.Printf("%-8s %-10s %10s %10s %6s\n", "runtime", "metric", "mean ms", "median ms", "runs")
	for _, r := range results {
		for _, m := range metrics {
			s := r.samples[m]
			if err := r.errs[m]; err != nil && len(s) == 0 {
				fmt.Printf("%-8s %-10s %10s %10s %6d  (%s)\n", r.name, m, "n/a", "n/a", 0, firstLine(err.Error()))
				continue
			}
			fmt.Printf("%-8s %-10s %10.2f %10.2f %6d\n", r.name, m, ms(s.mean()), ms(s.median()), len(s))
			machine = append(machine, fmt.Sprintf("RESULT %s %s %s %.3f %.3f %d", setting, r.name, m, ms(s.mean()), ms(s.median()), len(s)))
			if err := r.errs[m]; err != nil {
				fmt.Printf("# %s %s stopped early: %s\n", r.name, m, firstLine(err.Error()))
			}
		}
	}
	fmt.Printf("\npeak RSS (MiB, ru_maxrss of each runtime command):\n")
	for _, r := range results {
		var subs []string
		for s := range r.rss {
			subs = append(subs, s)
		}
		sort.Strings(subs)
		var parts []string
		var peak int64
		for _, s := range subs {
			parts = append(parts, fmt.Sprintf("%s %.1f", s, float64(r.rss[s])/1024))
			machine = append(machine, fmt.Sprintf("RSS %s %s %s %d", setting, r.name, s, r.rss[s]))
			peak = max(peak, r.rss[s])
		}
		fmt.Printf("%-8s peak %.1f  (%s)\n", r.name, float64(peak)/1024, strings.Join(parts, ", "))
	}
	if len(results) > 1 {
		first := results[0]
		fmt.Printf("\nratios (mean, %s / other):\n", first.name)
		for _, other := range results[1:] {
			for _, m := range metrics {
				a, b := first.samples[m].mean(), other.samples[m].mean()
				if a == 0 || b == 0 {
					continue
				}
				fmt.Printf("%s/%s %-10s %.2f\n", first.name, other.name, m, float64(a)/float64(b))
			}
		}
	}
	fmt.Printf("\n# machine-readable: RESULT setting runtime metric mean_ms median_ms runs / RSS setting runtime subcommand KiB\n%s\n", strings.Join(machine, "\n"))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// withSeccomp gives every bundle Docker's default seccomp profile.
var withSeccomp = true

// addSeccomp adds the default profile to spec when asked to.
func addSeccomp(spec *specs.Spec) {
	if withSeccomp {
		spec.Linux.Seccomp = seccomp.DefaultProfile(spec)
	}
}
