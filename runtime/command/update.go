package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

func updateCmd(rt rtFunc) *cobra.Command {
	var resFile string
	vals := make([]string, len(updateFlags))
	cmd := &cobra.Command{
		Use:   "update [flags] CONTAINER_ID",
		Short: "change the resource limits of a container",
		Long: "Change the resource limits of a created, running or paused container.\n" +
			"-r FILE (or -r - for stdin) reads a linux.resources JSON object of the\n" +
			"runtime spec; unknown fields are refused. Flags are applied over it.\n" +
			"Nothing is changed when any value is invalid.",
		Args: idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := readResources(resFile)
			if err != nil {
				return err
			}
			for i, f := range updateFlags {
				if !cmd.Flags().Changed(f.name) {
					continue
				}
				if err := f.set(res, vals[i]); err != nil {
					if errors.Is(err, runtime.ErrNotSupported) {
						return fmt.Errorf("--%s: %w", f.name, err)
					}
					return fmt.Errorf("%w: --%s %q: %w", runtime.ErrInvalidConfig, f.name, vals[i], err)
				}
			}
			r, err := rt()
			if err != nil {
				return err
			}
			return r.Update(args[0], res)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&resFile, "resources", "r", "", "file with the resources to set as JSON, or - for stdin")
	for i, f := range updateFlags {
		fl.StringVar(&vals[i], f.name, "", f.usage)
	}
	for _, n := range []string{"kernel-memory", "kernel-memory-tcp", "l3-cache-schema", "mem-bw-schema"} {
		_ = fl.MarkHidden(n)
	}
	return cmd
}

// updateFlag is one of runc's update flags: how it is parsed and where in
// the resources it goes.
type updateFlag struct {
	name, usage string
	set         func(res *specs.LinuxResources, v string) error
}

// updateFlags are runc's update flags (plus --cpu-burst and --cpu-idle of
// newer runc releases).
var updateFlags = []updateFlag{
	{"memory", "memory limit in bytes (k, m, g suffixes; -1 for unlimited)", func(r *specs.LinuxResources, v string) error {
		return setSize(v, &memOf(r).Limit)
	}},
	{"memory-swap", "memory plus swap limit in bytes; -1 for unlimited swap", func(r *specs.LinuxResources, v string) error {
		return setSize(v, &memOf(r).Swap)
	}},
	{"memory-reservation", "memory soft limit in bytes", func(r *specs.LinuxResources, v string) error {
		return setSize(v, &memOf(r).Reservation)
	}},
	{"kernel-memory", "kernel memory limit (ignored: current kernels have none)", func(r *specs.LinuxResources, v string) error {
		return setSize(v, &memOf(r).Kernel) //nolint:staticcheck // accepted like runc, then ignored
	}},
	{"kernel-memory-tcp", "kernel TCP buffer memory limit in bytes", func(r *specs.LinuxResources, v string) error {
		return setSize(v, &memOf(r).KernelTCP) //nolint:staticcheck // accepted like runc
	}},
	{"cpu-share", "CPU shares (relative weight, 2-262144)", func(r *specs.LinuxResources, v string) error {
		return setUint(v, &cpuOf(r).Shares)
	}},
	{"cpu-quota", "CPU CFS quota in microseconds per period (-1 for none)", func(r *specs.LinuxResources, v string) error {
		return setInt(v, &cpuOf(r).Quota)
	}},
	{"cpu-period", "CPU CFS period in microseconds", func(r *specs.LinuxResources, v string) error {
		return setUint(v, &cpuOf(r).Period)
	}},
	{"cpu-burst", "CPU CFS burst in microseconds", func(r *specs.LinuxResources, v string) error {
		return setUint(v, &cpuOf(r).Burst)
	}},
	{"cpu-rt-runtime", "CPU realtime runtime in microseconds per period", func(r *specs.LinuxResources, v string) error {
		return setInt(v, &cpuOf(r).RealtimeRuntime)
	}},
	{"cpu-rt-period", "CPU realtime period in microseconds", func(r *specs.LinuxResources, v string) error {
		return setUint(v, &cpuOf(r).RealtimePeriod)
	}},
	{"cpu-idle", "1 makes the container's CPU scheduling idle, 0 normal", func(r *specs.LinuxResources, v string) error {
		return setInt(v, &cpuOf(r).Idle)
	}},
	{"cpuset-cpus", "CPUs the container may use (e.g. 0-1,3)", func(r *specs.LinuxResources, v string) error {
		cpuOf(r).Cpus = v
		return nil
	}},
	{"cpuset-mems", "memory nodes the container may use", func(r *specs.LinuxResources, v string) error {
		cpuOf(r).Mems = v
		return nil
	}},
	{"pids-limit", "maximum number of processes (-1 or 0 for unlimited)", func(r *specs.LinuxResources, v string) error {
		var n *int64
		if err := setInt(v, &n); err != nil {
			return err
		}
		r.Pids = &specs.LinuxPids{Limit: n}
		return nil
	}},
	{"blkio-weight", "block I/O weight (10-1000)", func(r *specs.LinuxResources, v string) error {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return errors.New("not a number from 10 to 1000")
		}
		w := uint16(n)
		if r.BlockIO == nil {
			r.BlockIO = &specs.LinuxBlockIO{}
		}
		r.BlockIO.Weight = &w
		return nil
	}},
	{"l3-cache-schema", "Intel RDT L3 cache schema (not supported)", func(*specs.LinuxResources, string) error {
		return fmt.Errorf("%w: Intel RDT (resctrl) is not supported by berth-runtime", runtime.ErrNotSupported)
	}},
	{"mem-bw-schema", "Intel RDT memory bandwidth schema (not supported)", func(*specs.LinuxResources, string) error {
		return fmt.Errorf("%w: Intel RDT (resctrl) is not supported by berth-runtime", runtime.ErrNotSupported)
	}},
}

// readResources reads the -r file (stdin for "-"): exactly one JSON
// object of the runtime spec's linux.resources, without unknown fields.
// An empty name gives empty resources.
func readResources(name string) (*specs.LinuxResources, error) {
	res := &specs.LinuxResources{}
	if name == "" {
		return res, nil
	}
	var in io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read resources: %w", err)
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("read resources %s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(res); err != nil {
		return nil, fmt.Errorf("%w: resources %s: %s", runtime.ErrInvalidConfig, name, jsonErr(data, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: resources %s: unexpected data after the JSON object", runtime.ErrInvalidConfig, name)
	}
	return res, nil
}

// jsonErr makes a decoding error one line that says where it happened.
func jsonErr(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if len(bytes.TrimSpace(data)) == 0 {
			return "empty input, want a JSON object"
		}
		return "malformed JSON: unexpected end of input"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: cannot use a JSON %s as %s", te.Field, te.Value, te.Type)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func memOf(r *specs.LinuxResources) *specs.LinuxMemory {
	if r.Memory == nil {
		r.Memory = &specs.LinuxMemory{}
	}
	return r.Memory
}

func cpuOf(r *specs.LinuxResources) *specs.LinuxCPU {
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	return r.CPU
}

func setSize(v string, dst **int64) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*dst = &n
	return nil
}

func setInt(v string, dst **int64) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	*dst = &n
	return nil
}

func setUint(v string, dst **uint64) error {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return errors.New("not a non-negative integer")
	}
	*dst = &n
	return nil
}

// parseSize parses a byte count: a number with an optional unit
// (b, k, m, g, t, with an optional "b" or "ib": 4m, 4MB, 4MiB are 4<<20),
// or -1 for unlimited.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "-1" {
		return -1, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	shift := 0
	if n := len(t); n > 0 {
		if i := strings.IndexByte("kmgt", t[n-1]); i >= 0 {
			shift, t = 10*(i+1), t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a size (a number of bytes with an optional k, m, g or t suffix, or -1)")
	}
	if n > (1<<63-1)>>shift {
		return 0, errors.New("size too large")
	}
	return n << shift, nil
}
