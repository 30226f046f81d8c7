package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on every
// Linux architecture Berth runs on).
const clockTicks = 100

// TopTitles are the columns of TopContainer's rows.
var TopTitles = []string{"UID", "PID", "PPID", "STIME", "TIME", "CMD"}

// TopContainer lists a running container's processes: without psArgs,
// one row per host pid read from /proc under TopTitles; with them, the
// host's ps output (titles first) restricted to the container's pids.
func (e *Engine) TopContainer(ctx context.Context, ns, ref string, psArgs []string) (titles []string, rows [][]string, err error) {
	_, t, err := e.running(ctx, ns, ref)
	if err != nil {
		return nil, nil, err
	}
	pids, err := t.client.Pids(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("processes of %s: %w", ref, err)
	}
	if len(psArgs) > 0 {
		return psRows(ctx, psArgs, pids)
	}
	for _, pid := range pids {
		if row, err := procRow(pid); err == nil { // gone meanwhile: skipped
			rows = append(rows, row)
		}
	}
	return TopTitles, rows, nil
}

// psRows runs the host's ps with args and keeps the rows whose PID
// column is one of pids. The last column (the command) may hold spaces.
func psRows(ctx context.Context, args []string, pids []int) ([]string, [][]string, error) {
	out, err := exec.CommandContext(ctx, "ps", args...).Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: ps %s: %w", errdefs.ErrInvalidArgument, strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	titles := strings.Fields(lines[0])
	col := slices.Index(titles, "PID")
	if col < 0 {
		return nil, nil, fmt.Errorf("%w: ps %s prints no PID column", errdefs.ErrInvalidArgument, strings.Join(args, " "))
	}
	var rows [][]string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < len(titles) {
			continue
		}
		if pid, err := strconv.Atoi(f[col]); err != nil || !slices.Contains(pids, pid) {
			continue
		}
		last := len(titles) - 1
		rows = append(rows, append(f[:last:last], strings.Join(f[last:], " ")))
	}
	return titles, rows, nil
}

// procRow reads one process's TopTitles columns from /proc.
func procRow(pid int) ([]string, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil, err
	}
	// The command (field 2) is in parentheses and may hold spaces.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return nil, fmt.Errorf("malformed %s/stat", dir)
	}
	f := strings.Fields(string(stat[end+1:])) // f[0] is field 3 (state)
	if len(f) < 20 {
		return nil, fmt.Errorf("malformed %s/stat", dir)
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	start, _ := strconv.ParseUint(f[19], 10, 64)
	cpu := time.Duration(utime+stime) * time.Second / clockTicks
	cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	args := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	if args == "" {
		args = "[" + string(stat[bytes.IndexByte(stat, '(')+1:end]) + "]"
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return nil, err
	}
	uid := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(uid); err == nil {
		uid = u.Username
	}
	return []string{uid, strconv.Itoa(pid), f[1], bootTime().Add(time.Duration(start) * time.Second / clockTicks).Format("15:04"),
		fmt.Sprintf("%02d:%02d:%02d", int(cpu.Hours()), int(cpu.Minutes())%60, int(cpu.Seconds())%60), args}, nil
}

// bootTime is when the host booted, the origin of /proc's start times.
func bootTime() time.Time {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return time.Now().Add(-time.Duration(ts.Nano()))
}

// StatsSample is one reading of a container's usage counters.
type StatsSample struct {
	Namespace, ID, Name, Image string
	// CPUTotal is the container's CPU time, SystemCPU the host's, in
	// nanoseconds; their changes between two samples give the CPU share.
	CPUTotal, SystemCPU uint64
	OnlineCPUs          uint32
	// MemoryLimit is the host's memory when the cgroup has no limit.
	MemoryUsage, MemoryLimit uint64
	Pids                     uint64
	NetRx, NetTx             uint64
	BlockRead, BlockWrite    uint64
}

// ContainerStats samples a running container's usage from its cgroup,
// and its network counters from /proc.
func (e *Engine) ContainerStats(ctx context.Context, ns, ref string) (StatsSample, error) {
	c, _, err := e.running(ctx, ns, ref)
	if err != nil {
		return StatsSample{}, err
	}
	return cgroupSample(ns, c)
}

// RunningStats samples every running container of every namespace, as
// ContainerStats does one; a container that stops meanwhile is left out.
func (e *Engine) RunningStats(ctx context.Context) []StatsSample {
	e.ctrMu.Lock()
	keys := make([]string, 0, len(e.tasks))
	for k := range e.tasks {
		keys = append(keys, k)
	}
	e.ctrMu.Unlock()
	slices.Sort(keys)
	var out []StatsSample
	for _, k := range keys {
		ns, id, _ := strings.Cut(k, "/")
		c, err := e.meta.Containers().Get(ctx, ns, id)
		if err != nil {
			continue
		}
		if s, err := cgroupSample(ns, c); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// cgroupSample reads c's counters from the cgroup containerSpec gives
// it (/berth-<id>), without exec'ing its runtime.
func cgroupSample(ns string, c Container) (StatsSample, error) {
	cg, err := cgroups.New(cgroups.Config{Path: recordedCgroup(c)})
	if err != nil {
		return StatsSample{}, fmt.Errorf("cgroup of %.12s: %w", c.ID, err)
	}
	s, err := cg.Stats()
	if err != nil {
		return StatsSample{}, fmt.Errorf("stats of %.12s: %w", c.ID, err)
	}
	sample := StatsSample{Namespace: ns, ID: c.ID, Name: c.Name, Image: c.Image, CPUTotal: s.CPU.Usage.Total, SystemCPU: systemCPU(),
		OnlineCPUs: uint32(goruntime.NumCPU()), Pids: s.Pids.Current, MemoryUsage: s.Memory.Usage.Usage, MemoryLimit: s.Memory.Usage.Limit}
	// As Docker does, the inactive page cache is not counted as used.
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := s.Memory.Raw[k]; ok && v < sample.MemoryUsage {
			sample.MemoryUsage -= v
			break
		}
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		if host := si.Totalram * uint64(si.Unit); sample.MemoryLimit == 0 || sample.MemoryLimit > host {
			sample.MemoryLimit = host
		}
	}
	for _, b := range s.Blkio.IoServiceBytesRecursive {
		switch strings.ToLower(b.Op) {
		case "read":
			sample.BlockRead += b.Value
		case "write":
			sample.BlockWrite += b.Value
		}
	}
	// Every process of the container shares its network namespace.
	if pids, err := cg.Pids(); err == nil && len(pids) > 0 {
		sample.NetRx, sample.NetTx = netIO(pids[0])
	}
	return sample, nil
}

// systemCPU is the host's CPU time in nanoseconds, from /proc/stat.
func systemCPU() uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var ticks uint64
	for _, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseUint(f, 10, 64)
		ticks += n
	}
	return ticks * uint64(time.Second/clockTicks)
}

// netIO sums the received and sent bytes of every interface but lo in
// pid's network namespace.
func netIO(pid int) (rx, tx uint64) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "net", "dev"))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		fs := strings.Fields(rest)
		if !ok || strings.TrimSpace(name) == "lo" || len(fs) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(fs[0], 10, 64)
		t, _ := strconv.ParseUint(fs[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}

// runtimeCmd runs c's runtime binary with its root and args.
func (e *Engine) runtimeCmd(ctx context.Context, c Container, stdin []byte, args ...string) ([]byte, error) {
	rt, err := e.runtimeFor(c.Runtime)
	if err != nil {
		return nil, err
	}
	full := append(slices.Clone(rt.args), "--root", rt.root)
	cmd := exec.CommandContext(ctx, rt.path, append(full, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(rt.path), args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// ResourceUpdate holds the limits UpdateContainer changes, and the
// restart policy; nil fields are left as they are.
type ResourceUpdate struct {
	Memory, NanoCPUs, PidsLimit *int64
	CPUShares                   *uint64
	// MemorySwap is memory plus swap (-1: unlimited swap).
	MemorySwap             *int64
	CpusetCpus, CpusetMems *string
	Restart                *container.RestartPolicy
}

// UpdateContainer records new limits in a container's configuration,
// first applying them through its runtime's `update` when it runs.
func (e *Engine) UpdateContainer(ctx context.Context, ns, ref string, u ResourceUpdate) error {
	c, unlock, err := e.lockedContainer(ctx, ns, ref)
	if err != nil {
		return err
	}
	defer unlock()
	cfg, err := ContainerConfig(c)
	if err != nil {
		return err
	}
	r := &cfg.Resources
	for _, f := range []struct {
		v   *int64
		dst *int64
	}{{u.Memory, &r.Memory}, {u.NanoCPUs, &r.NanoCPUs}, {u.PidsLimit, &r.PidsLimit}} {
		if f.v != nil {
			if *f.v < 0 {
				return fmt.Errorf("%w: negative limit %d", errdefs.ErrInvalidArgument, *f.v)
			}
			*f.dst = *f.v
		}
	}
	if u.CPUShares != nil {
		r.CPUShares = *u.CPUShares
	}
	if u.MemorySwap != nil {
		r.MemorySwap = *u.MemorySwap
	}
	if u.CpusetCpus != nil {
		r.CpusetCpus = *u.CpusetCpus
	}
	if u.CpusetMems != nil {
		r.CpusetMems = *u.CpusetMems
	}
	if u.Restart != nil {
		cfg.Restart = *u.Restart
	}
	res := resources(*r)
	if err := cgroups.Validate(&res); err != nil {
		return fmt.Errorf("%w: %w", errdefs.ErrInvalidArgument, err)
	}
	if u.PidsLimit != nil && *u.PidsLimit == 0 { // back to unlimited
		unlimited := int64(-1)
		res.Pids = &specs.LinuxPids{Limit: &unlimited}
	}
	data, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if e.task(ns, c.ID) != nil {
		if _, err := e.runtimeCmd(ctx, c, data, "update", "-r", "-", c.ID); err != nil {
			return fmt.Errorf("%w: %w", errdefs.ErrFailedPrecondition, err)
		}
	}
	if err := e.updateBundleSpec(ns, c.ID, res); err != nil {
		return err
	}
	if c.Config, err = json.Marshal(cfg); err != nil {
		return err
	}
	_, err = e.meta.Containers().Update(ctx, ns, c)
	return err
}

// updateBundleSpec sets res's limits in the container's bundle spec, when
// it has one: the next start (or restart) reuses it.
func (e *Engine) updateBundleSpec(ns, id string, res specs.LinuxResources) error {
	path := filepath.Join(e.bundleDir(ns, id), "config.json")
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read bundle spec: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("bundle spec %s: %w", path, err)
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	r := spec.Linux.Resources
	if res.Memory != nil {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		r.Memory.Limit, r.Memory.Swap = res.Memory.Limit, res.Memory.Swap
	}
	if res.CPU != nil {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		r.CPU.Shares, r.CPU.Quota, r.CPU.Period = res.CPU.Shares, res.CPU.Quota, res.CPU.Period
		r.CPU.Cpus, r.CPU.Mems = res.CPU.Cpus, res.CPU.Mems
	}
	if res.Pids != nil {
		r.Pids = res.Pids
	}
	if b, err = json.Marshal(&spec); err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// DiskUsage is one line of `system df`: how many there are, how many are
// in use, their bytes and the bytes removing the unused would free.
type DiskUsage struct {
	Type              string
	Total, Active     int64
	Size, Reclaimable int64
}

// SystemDiskUsage sums ns's images, containers (their writable layers)
// and the volumes.
func (e *Engine) SystemDiskUsage(ctx context.Context, ns string) ([]DiskUsage, error) {
	imgs, err := e.List(ctx, ns)
	if err != nil {
		return nil, err
	}
	ctrs, err := e.Containers(ctx, ns, true)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{} // image names and IDs containers use
	cu := DiskUsage{Type: "Containers", Total: int64(len(ctrs))}
	for _, c := range ctrs {
		used[c.Image], used[c.ImageID] = true, true
		var size int64
		if sn, err := e.Snapshotter(ns); err == nil && c.SnapshotKey != "" {
			if u, err := sn.Usage(ctx, c.SnapshotKey); err == nil {
				size = u.Size
			}
		}
		cu.Size += size
		if e.task(ns, c.ID) != nil {
			cu.Active++
		} else {
			cu.Reclaimable += size
		}
	}
	// An image is counted once however many names it has (its ID, the
	// config digest; a name without content stands for itself).
	iu := DiskUsage{Type: "Images"}
	byID := map[string]ImageInfo{}
	inUse := map[string]bool{}
	for _, img := range imgs {
		key := img.ID
		if key == "" {
			key = img.Name
		}
		byID[key] = img
		inUse[key] = inUse[key] || used[img.Name] || used[key]
	}
	for key, img := range byID {
		iu.Total++
		iu.Size += img.Size
		if inUse[key] {
			iu.Active++
		} else {
			iu.Reclaimable += img.Size
		}
	}
	vols, err := e.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	vu := DiskUsage{Type: "Local Volumes", Total: int64(len(vols))}
	for _, v := range vols {
		size := treeSize(v.Mountpoint)
		vu.Size += size
		if len(v.Users) > 0 {
			vu.Active++
		} else {
			vu.Reclaimable += size
		}
	}
	return []DiskUsage{iu, cu, vu, {Type: "Build Cache"}}, nil
}

// treeSize is the bytes of the regular files under dir.
func treeSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if i, err := d.Info(); err == nil {
				n += i.Size()
			}
		}
		return nil
	})
	return n
}

// oomKilled reports whether the OOM killer killed a process in the
// memory cgroup p of a container; false when that cannot be read.
func oomKilled(p string) bool {
	cg, err := cgroups.New(cgroups.Config{Path: p})
	if err != nil {
		return false
	}
	n, err := cg.OOMKillCount()
	return err == nil && n > 0
}
