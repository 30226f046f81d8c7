package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

func pauseCmd(rt rtFunc) *cobra.Command {
	return &cobra.Command{
		Use: "pause CONTAINER_ID", Short: "freeze every process of a container", Args: idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			return r.Pause(args[0])
		},
	}
}

func resumeCmd(rt rtFunc) *cobra.Command {
	return &cobra.Command{
		Use: "resume CONTAINER_ID", Short: "thaw a paused container", Args: idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			return r.Resume(args[0])
		},
	}
}

func updateCmd(rt rtFunc) *cobra.Command {
	var resFile string
	var memory, memSwap, memRes, kernel, cpuQuota, cpuPeriod, cpuShares, pidsLimit, blkioWeight, cpuRtRuntime, cpuRtPeriod string
	var cpusetCpus, cpusetMems string
	cmd := &cobra.Command{
		Use:   "update [flags] CONTAINER_ID",
		Short: "change the resource limits of a container",
		Args:  idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			res := &specs.LinuxResources{}
			if resFile != "" {
				var in io.Reader = os.Stdin
				if resFile != "-" {
					f, err := os.Open(resFile)
					if err != nil {
						return fmt.Errorf("read resources: %w", err)
					}
					defer f.Close()
					in = f
				}
				dec := json.NewDecoder(in)
				dec.DisallowUnknownFields()
				if err := dec.Decode(res); err != nil {
					return fmt.Errorf("%w: resources %s: %v", runtime.ErrInvalidConfig, resFile, err)
				}
			}
			fl := cmd.Flags()
			num := func(name, v string) (*int64, error) {
				if !fl.Changed(name) {
					return nil, nil
				}
				n, err := parseSize(v)
				if err != nil {
					return nil, fmt.Errorf("--%s %q: %w", name, v, err)
				}
				return &n, nil
			}
			var errs []error
			set64 := func(name, v string, dst **int64) {
				n, err := num(name, v)
				if err != nil {
					errs = append(errs, err)
				} else if n != nil {
					*dst = n
				}
			}
			setU64 := func(name, v string, dst **uint64) {
				n, err := num(name, v)
				if err != nil {
					errs = append(errs, err)
				} else if n != nil {
					u := uint64(*n)
					*dst = &u
				}
			}
			mem := func() *specs.LinuxMemory {
				if res.Memory == nil {
					res.Memory = &specs.LinuxMemory{}
				}
				return res.Memory
			}
			cpu := func() *specs.LinuxCPU {
				if res.CPU == nil {
					res.CPU = &specs.LinuxCPU{}
				}
				return res.CPU
			}
			if fl.Changed("memory") {
				set64("memory", memory, &mem().Limit)
			}
			if fl.Changed("memory-swap") {
				set64("memory-swap", memSwap, &mem().Swap)
			}
			if fl.Changed("memory-reservation") {
				set64("memory-reservation", memRes, &mem().Reservation)
			}
			if fl.Changed("kernel-memory") {
				set64("kernel-memory", kernel, &mem().Kernel) //nolint:staticcheck // still accepted like runc
			}
			if fl.Changed("cpu-quota") {
				set64("cpu-quota", cpuQuota, &cpu().Quota)
			}
			if fl.Changed("cpu-period") {
				setU64("cpu-period", cpuPeriod, &cpu().Period)
			}
			if fl.Changed("cpu-share") {
				setU64("cpu-share", cpuShares, &cpu().Shares)
			}
			if fl.Changed("cpu-rt-runtime") {
				set64("cpu-rt-runtime", cpuRtRuntime, &cpu().RealtimeRuntime)
			}
			if fl.Changed("cpu-rt-period") {
				setU64("cpu-rt-period", cpuRtPeriod, &cpu().RealtimePeriod)
			}
			if fl.Changed("cpuset-cpus") {
				cpu().Cpus = cpusetCpus
			}
			if fl.Changed("cpuset-mems") {
				cpu().Mems = cpusetMems
			}
			if fl.Changed("pids-limit") {
				n, err := num("pids-limit", pidsLimit)
				if err != nil {
					errs = append(errs, err)
				} else {
					res.Pids = &specs.LinuxPids{Limit: n}
				}
			}
			if fl.Changed("blkio-weight") {
				n, err := strconv.ParseUint(blkioWeight, 10, 16)
				if err != nil {
					errs = append(errs, fmt.Errorf("--blkio-weight %q: %w", blkioWeight, err))
				} else {
					w := uint16(n)
					res.BlockIO = &specs.LinuxBlockIO{Weight: &w}
				}
			}
			if len(errs) > 0 {
				return errs[0]
			}
			return r.Update(args[0], res)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&resFile, "resources", "r", "", "path to a resources JSON file, or - for stdin")
	f.StringVar(&memory, "memory", "", "memory limit in bytes")
	f.StringVar(&memSwap, "memory-swap", "", "memory plus swap limit in bytes")
	f.StringVar(&memRes, "memory-reservation", "", "memory soft limit in bytes")
	f.StringVar(&kernel, "kernel-memory", "", "kernel memory limit (ignored by recent kernels)")
	f.StringVar(&cpuQuota, "cpu-quota", "", "CPU CFS quota in microseconds")
	f.StringVar(&cpuPeriod, "cpu-period", "", "CPU CFS period in microseconds")
	f.StringVar(&cpuShares, "cpu-share", "", "CPU shares")
	f.StringVar(&cpuRtRuntime, "cpu-rt-runtime", "", "realtime runtime in microseconds")
	f.StringVar(&cpuRtPeriod, "cpu-rt-period", "", "realtime period in microseconds")
	f.StringVar(&cpusetCpus, "cpuset-cpus", "", "CPUs to use")
	f.StringVar(&cpusetMems, "cpuset-mems", "", "memory nodes to use")
	f.StringVar(&pidsLimit, "pids-limit", "", "maximum number of processes")
	f.StringVar(&blkioWeight, "blkio-weight", "", "block IO weight (10-1000)")
	return cmd
}

// parseSize parses a byte count with an optional k/m/g suffix, or -1.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, s = 1<<20, s[:n-1]
		case 'g', 'G':
			mult, s = 1<<30, s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	return n * mult, nil
}

func eventsCmd(rt rtFunc) *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--stats] [--interval D] CONTAINER_ID",
		Short: "print container events (stats, OOM) as JSON lines",
		Args:  idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			id := args[0]
			if interval <= 0 {
				return fmt.Errorf("--interval must be positive")
			}
			enc := json.NewEncoder(os.Stdout)
			emitStats := func() error {
				s, err := r.Stats(id)
				if err != nil {
					return err
				}
				return enc.Encode(map[string]any{"type": "stats", "id": id, "data": s})
			}
			if stats {
				return emitStats()
			}
			lastOOM, _ := r.OOMKills(id)
			for {
				_, status, err := r.StateOf(id)
				if err != nil {
					return err
				}
				if status == runtime.Stopped {
					return nil
				}
				if n, err := r.OOMKills(id); err == nil && n > lastOOM {
					lastOOM = n
					enc.Encode(map[string]any{"type": "oom", "id": id})
				}
				if err := emitStats(); err != nil {
					return err
				}
				time.Sleep(interval)
			}
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "print the container's stats once and exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "how often to print stats")
	return cmd
}
