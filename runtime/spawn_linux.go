package runtime

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/phase"
	"github.com/berth-dev/berth/runtime/proto"
)

// nsFlags maps namespace types to their clone flags.
var nsFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// spawnOpts describes how to start a berth-init.
type spawnOpts struct {
	// newNS are the namespaces to create; join maps the ones to enter to
	// their paths.
	newNS map[specs.LinuxNamespaceType]bool
	join  map[specs.LinuxNamespaceType]string
	// uid/gid mappings for a new user namespace.
	uidMap, gidMap []specs.LinuxIDMapping
	stdio          Stdio
	preserveFDs    int
	fifo           *os.File // O_PATH descriptor of the exec fifo, or nil
	cgroupFD       *os.File // cgroup2 directory for CLONE_INTO_CGROUP, or nil
	pdeathsig      syscall.Signal
	// exe is the sealed copy of berth-init, made ahead by the caller
	// (sealInit) while it did other work; nil makes one here.
	exe *sealedInit
}

// initProc is a started berth-init. A goroutine of its own watches for
// its exit without reaping it: only a caller that waits for it (run and
// exec in the foreground, a failed create) reaps it. Once detached, its
// status belongs to the caller's subreaper (containerd's shim, conmon),
// which it reaches only if we leave the zombie to them.
type initProc struct {
	cmd    *exec.Cmd
	proc   *os.Process // berth-init: cmd's process, or the one it handed over
	conn   *proto.Conn
	exited chan struct{} // closed once the process has exited, before it is reaped
	reaped sync.Once
	state  *os.ProcessState
	err    error
}

func (p *initProc) pid() int { return p.proc.Pid }

// wait waits until the process has exited, reaps it and returns its status.
func (p *initProc) wait() (*os.ProcessState, error) {
	<-p.exited
	p.reaped.Do(func() {
		if p.proc != p.cmd.Process {
			// A handed-over process: ours once its first parent exited.
			p.state, p.err = p.proc.Wait()
			p.err = ignoreExit(p.err)
		} else {
			p.err = ignoreExit(p.cmd.Wait())
			p.state = p.cmd.ProcessState
		}
	})
	return p.state, p.err
}

// watch blocks until the process has exited, leaving it unreaped (WNOWAIT);
// run by the goroutine that owns it.
func (p *initProc) watch() {
	var info unix.Siginfo
	for {
		if err := unix.Waitid(unix.P_PID, p.proc.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != unix.EINTR {
			break
		}
	}
	close(p.exited)
}

// kill kills and reaps a berth-init that is still our child.
func (p *initProc) kill() {
	_ = p.proc.Kill()
	_, _ = p.wait()
	p.conn.Close()
}

// spawn starts berth-init from a sealed copy in the namespaces o asks for.
// Namespaces to join are entered by a locked OS thread that starts the
// child and then dies with its namespaces; the mount namespace is joined
// by berth-init itself (setns into a mount namespace needs unshared
// filesystem attributes), and a user namespace cannot be joined by a Go
// process at all.
func (r *Runtime) spawn(o spawnOpts) (*initProc, error) {
	if o.exe == nil {
		o.exe = r.sealInit()
		defer o.exe.close()
	}
	exe, err := o.exe.get()
	phase.Mark("sealed init copied")
	if err != nil {
		return nil, err
	}
	parent, child, err := proto.Pair()
	if err != nil {
		return nil, err
	}
	defer child.Close()
	l, err := newInitLaunch(&o, exe, child)
	if err != nil {
		parent.Close()
		return nil, err
	}
	defer l.close()
	ip := &initProc{cmd: l.cmd, conn: proto.NewConn(parent), exited: make(chan struct{})}
	if err := ip.start(l, o, child); err != nil {
		parent.Close()
		return nil, fmt.Errorf("start berth-init: %w", err)
	}
	if l.helperMaps {
		if err := writeIDMaps(ip.pid(), o.uidMap, o.gidMap); err != nil {
			ip.kill()
			return nil, err
		}
		if err := ip.conn.Send(proto.Message{Kind: proto.MsgMapsReady}); err != nil {
			ip.kill()
			return nil, err
		}
	}
	return ip, nil
}

// initLaunch is how one berth-init is started.
type initLaunch struct {
	cmd *exec.Cmd
	// hop is set when berth-init joins namespaces itself and hands the
	// copy it starts there over to us.
	hop bool
	// helperMaps is set when newuidmap and newgidmap write its id maps
	// once it exists.
	helperMaps bool
	files      []*os.File // ours to close once it has started
}

func (l *initLaunch) close() {
	for _, f := range l.files {
		f.Close()
	}
}

// newInitLaunch builds the command that starts berth-init from exe, with
// the sync socket's child end and the descriptors o passes on.
func newInitLaunch(o *spawnOpts, exe, child *os.File) (*initLaunch, error) {
	var extra []*os.File
	for i := 0; i < o.preserveFDs; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved-"+strconv.Itoa(i)))
	}
	env := []string{}
	if v := os.Getenv("BERTH_TRACE"); v != "" {
		env = append(env, "BERTH_TRACE="+v)
	}
	add := func(name string, f *os.File) {
		env = append(env, name+"="+strconv.Itoa(3+len(extra)))
		extra = append(extra, f)
	}
	l := &initLaunch{}
	add(proto.EnvSyncFD, child)
	exeFD := 3 + len(extra)
	add(proto.EnvExeFD, exe)
	if o.fifo != nil {
		add(proto.EnvFifoFD, o.fifo)
	}
	if p, ok := o.join[specs.MountNamespace]; ok {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("open mount namespace %s: %w", p, err)
		}
		l.files = append(l.files, f)
		add(proto.EnvMntFD, f)
	}
	var flags uintptr
	for t, on := range o.newNS {
		// cgroup and time namespaces are made later: the cgroup one once
		// the init sits in its cgroup, the time one by the spawning thread.
		if on && t != specs.CgroupNamespace && t != specs.TimeNamespace {
			flags |= nsFlags[t]
		}
	}
	if _, ok := o.join[specs.PIDNamespace]; ok {
		// In a joined pid namespace the child sees no parent (getppid is
		// 0), which Go's parent-death check takes for a dead parent.
		o.pdeathsig = 0
	}
	l.cmd = &exec.Cmd{
		Path:       "/proc/self/fd/" + strconv.Itoa(exeFD),
		Args:       []string{"berth-init"},
		Env:        env,
		ExtraFiles: extra,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: flags,
			Setsid:     true,
			Pdeathsig:  o.pdeathsig,
		},
	}
	// A nil *os.File in the command's io interfaces would close the
	// descriptor instead of giving /dev/null: set only the files given.
	if f := o.stdio.Stdin; f != nil {
		l.cmd.Stdin = f
	}
	if f := o.stdio.Stdout; f != nil {
		l.cmd.Stdout = f
	}
	if f := o.stdio.Stderr; f != nil {
		l.cmd.Stderr = f
	}
	if o.cgroupFD != nil {
		l.cmd.SysProcAttr.UseCgroupFD = true
		l.cmd.SysProcAttr.CgroupFD = int(o.cgroupFD.Fd())
	}
	if o.newNS[specs.UserNamespace] {
		l.mapIDs(o)
	}
	if err := l.joinNamespaces(o); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// mapIDs gives the init's new user namespace its id maps.
func (l *initLaunch) mapIDs(o *spawnOpts) {
	rootless := os.Geteuid() != 0
	if rootless && needsIDMapHelpers(o.uidMap, o.gidMap) {
		// Only newuidmap/newgidmap may write these maps for us, after
		// the child exists: it waits for them, then re-executes itself
		// to gain the namespace root's capabilities.
		l.helperMaps = true
		l.cmd.Env = append(l.cmd.Env, proto.EnvWaitMaps+"=1")
		return
	}
	a := l.cmd.SysProcAttr
	a.UidMappings = idMaps(o.uidMap)
	a.GidMappings = idMaps(o.gidMap)
	// An unprivileged writer of gid_map must deny setgroups.
	a.GidMappingsEnableSetgroups = !rootless
	// Become the namespace's root (or the first mapped id), so init keeps
	// its capabilities in the namespace across execve.
	a.Credential = &syscall.Credential{Uid: nsRoot(o.uidMap), Gid: nsRoot(o.gidMap), NoSetGroups: rootless}
}

// joinNamespaces arranges for the namespaces the spawning thread cannot
// enter: berth-init hops into some itself, and nsenter enters a user
// namespace. It takes those out of o.join.
func (l *initLaunch) joinNamespaces(o *spawnOpts) error {
	hops := hopNamespaces(o.join)
	if _, ok := o.join[specs.UserNamespace]; ok && l.cmd.SysProcAttr.Cloneflags != 0 {
		// Namespaces made by nsenter's clone would belong to the host's
		// user namespace, not the joined one: berth-init's hop makes
		// them once nsenter has entered it.
		for t, on := range o.newNS {
			if on && t != specs.CgroupNamespace && t != specs.TimeNamespace {
				hops = append(hops, string(t)+"=")
			}
		}
		l.cmd.SysProcAttr.Cloneflags = 0
	}
	if len(hops) > 0 {
		// berth-init joins these and starts itself once more; it hands
		// that copy over to us, its subreaper.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("become a subreaper: %w", err)
		}
		l.hop = true
		l.cmd.Env = append(l.cmd.Env, proto.EnvHopNS+"="+strings.Join(hops, ","))
	}
	userns, ok := o.join[specs.UserNamespace]
	if !ok {
		return nil
	}
	// A Go process cannot join a user namespace (it has threads): nsenter
	// joins it, becomes its root and execs berth-init.
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("joining user namespace %s needs nsenter (util-linux): %w", userns, err)
	}
	creds := []string{"--setuid", strconv.Itoa(int(nsRoot(o.uidMap))), "--setgid", strconv.Itoa(int(nsRoot(o.gidMap)))}
	if os.Geteuid() != 0 {
		// Our own ids are the mapped ones (setgroups may be denied).
		creds = []string{"--preserve-credentials"}
	}
	l.cmd.Args = append(append([]string{"nsenter", "--user=" + userns}, creds...), "--", l.cmd.Path)
	l.cmd.Path = nsenter
	return nil
}

// start starts berth-init, or the hop that hands one over, from a thread
// in the namespaces to join when there are any.
func (p *initProc) start(l *initLaunch, o spawnOpts, child *os.File) error {
	run := func() error {
		if err := p.cmd.Start(); err != nil {
			return err
		}
		if l.hop {
			// Only the hop may hold the other end, or its exit would go
			// unnoticed.
			child.Close()
			return p.handOver()
		}
		p.proc = p.cmd.Process
		return nil
	}
	if len(o.join) == 0 {
		err := run()
		if err == nil && !l.hop {
			go p.watch()
		}
		return err
	}
	started := make(chan error, 1)
	go func() {
		// This thread is left in the container's namespaces: never unlock
		// it, so that it exits with the goroutine. The parent death
		// signal fires when the forking thread exits, so the thread lives,
		// watching the child (or until the hop has handed its copy over),
		// until the child is gone.
		runtime.LockOSThread()
		err := enterNamespaces(o)
		if err == nil {
			err = run()
		}
		started <- err
		if err == nil && !l.hop {
			p.watch()
		}
	}()
	return <-started
}

// hopNamespaces takes out of join the namespaces berth-init must join
// itself, and returns them as "type=path" items. A pid namespace always
// is one: setns gives it only to children, and a child of ours would be a
// fork of the runtime binary inside the container until it execs; the
// child of berth-init is berth-init, running from its sealed copy, so
// nothing of the host's is ever visible in the container. Without
// privilege, the namespaces owned by a joined user namespace can only be
// joined from inside it (nsenter enters it), so all but the mount
// namespace go the same way.
func hopNamespaces(join map[specs.LinuxNamespaceType]string) []string {
	_, inUserNS := join[specs.UserNamespace]
	unprivileged := inUserNS && os.Geteuid() != 0
	var hops []string
	for t, path := range join {
		if t == specs.PIDNamespace || (unprivileged && t != specs.UserNamespace && t != specs.MountNamespace) {
			hops = append(hops, string(t)+"="+path)
			delete(join, t)
		}
	}
	return hops
}

// handOver reads the pid of the berth-init the hop started, waits for the
// hop to exit, and adopts the orphan (we are its subreaper).
func (p *initProc) handOver() error {
	var m proto.Message
	_, err := p.conn.Recv(&m)
	_ = p.cmd.Wait() // the hop exits as soon as it has reported
	if err != nil {
		return fmt.Errorf("berth-init joining the container's namespaces: %w", err)
	}
	if m.Kind != proto.MsgHandOver || m.Pid <= 0 {
		return fmt.Errorf("berth-init joining the container's namespaces: %s", m.Error)
	}
	proc, err := os.FindProcess(m.Pid)
	if err != nil {
		return err
	}
	p.proc = proc
	go p.watch()
	return nil
}

// needsIDMapHelpers reports whether an unprivileged user needs the setuid
// helpers for these maps: it may write only a single line mapping its own
// ids.
func needsIDMapHelpers(uids, gids []specs.LinuxIDMapping) bool {
	single := func(m []specs.LinuxIDMapping, own int) bool {
		return len(m) == 1 && m[0].Size == 1 && int(m[0].HostID) == own
	}
	return !single(uids, os.Geteuid()) || !single(gids, os.Getegid())
}

// writeIDMaps writes a child's id maps with newuidmap and newgidmap, which
// check them against /etc/subuid and /etc/subgid.
func writeIDMaps(pid int, uids, gids []specs.LinuxIDMapping) error {
	for _, m := range []struct {
		tool string
		ids  []specs.LinuxIDMapping
	}{{"newuidmap", uids}, {"newgidmap", gids}} {
		args := []string{strconv.Itoa(pid)}
		for _, x := range m.ids {
			args = append(args, strconv.FormatUint(uint64(x.ContainerID), 10), strconv.FormatUint(uint64(x.HostID), 10), strconv.FormatUint(uint64(x.Size), 10))
		}
		out, err := exec.Command(m.tool, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %v (needs the uidmap package and ranges in /etc/sub[ug]id): %w: %s", m.tool, args, err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// enterNamespaces moves the calling (locked) thread into the namespaces to
// join, except mount and user.
func enterNamespaces(o spawnOpts) error {
	for _, t := range []specs.LinuxNamespaceType{specs.CgroupNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace, specs.PIDNamespace, specs.TimeNamespace} {
		p, ok := o.join[t]
		if !ok {
			continue
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s namespace %s: %w", t, p, err)
		}
		err = unix.Setns(fd, int(nsFlags[t]))
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("join %s namespace %s: %w", t, p, err)
		}
	}
	return nil
}

// nsRoot is the id init takes in a new user namespace: 0 when mapped,
// else the lowest mapped id.
func nsRoot(m []specs.LinuxIDMapping) uint32 {
	low := ^uint32(0)
	for _, x := range m {
		if x.ContainerID == 0 {
			return 0
		}
		low = min(low, x.ContainerID)
	}
	return low
}

func idMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, x := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(x.ContainerID), HostID: int(x.HostID), Size: int(x.Size)}
	}
	return out
}
