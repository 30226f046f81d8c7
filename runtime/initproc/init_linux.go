package initproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/capabilities"
	"github.com/berth-dev/berth/internal/fds"
	"github.com/berth-dev/berth/internal/phase"
	"github.com/berth-dev/berth/rootfs"
	"github.com/berth-dev/berth/runtime/hooks"
	"github.com/berth-dev/berth/runtime/proto"
	"github.com/berth-dev/berth/seccomp/load"
	"github.com/berth-dev/berth/sysctl"
)

// Main runs berth-init. The caller must have locked the main goroutine to
// the main thread (runtime.LockOSThread in an init function). It only
// returns by exiting: on success the process image is replaced.
func Main() {
	if os.Getenv(proto.EnvWaitMaps) != "" {
		waitMapsAndReexec()
	}
	if hops := os.Getenv(proto.EnvHopNS); hops != "" {
		hop(hops)
	}
	conn, err := openSync()
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-init:", err)
		os.Exit(1)
	}
	err = run(conn)
	// run only returns on failure. The runtime reports the error; print
	// it here only when the runtime can no longer hear it.
	if conn.Send(proto.Message{Kind: proto.MsgError, Error: err.Error()}) != nil {
		fmt.Fprintln(os.Stderr, "berth-init:", err)
	}
	os.Exit(1)
}

func envFD(name string) int {
	v := os.Getenv(name)
	if v == "" {
		return -1
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return -1
	}
	return fd
}

func openSync() (*proto.Conn, error) {
	fd := envFD(proto.EnvSyncFD)
	if fd < 0 {
		return nil, errors.New("berth-init runs only as a container's init, started by berth-runtime")
	}
	unix.CloseOnExec(fd)
	return proto.NewConn(os.NewFile(uintptr(fd), "sync")), nil
}

// run sets the container (or an exec'd process) up stage by stage and
// execs the user's program; it returns only on failure.
func run(conn *proto.Conn) error {
	name := []byte(proto.InitName + "\x00")
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0) // cosmetic
	if fd := envFD(proto.EnvExeFD); fd >= 0 {
		unix.Close(fd)
	}
	phase.SetName("init")
	phase.Mark("started")
	cfg, err := readConfig(conn)
	if err != nil {
		return err
	}
	if err := enterContainer(conn, cfg); err != nil {
		return err
	}
	path, env, err := prepareProcess(cfg.Process)
	if err != nil {
		return err
	}
	if err := reportReady(conn, cfg); err != nil {
		return err
	}
	prog, err := decodeSeccomp(cfg.Seccomp)
	if err != nil {
		return err
	}
	// A notify filter's listener must reach the runtime before create
	// returns, so that filter goes in before the start wait; without
	// no_new_privs installing a filter needs CAP_SYS_ADMIN, so it goes in
	// before the capabilities are dropped; otherwise as late as possible.
	// The soft rlimits go in after the last of init's own work that could
	// trip them (allocations, opens: see setRlimits), which is after the
	// identity switch, unless the filter may deny prlimit64 and comes
	// first: then just before the filter.
	notify := prog != nil && prog.NeedsNotify
	late := prog != nil && !notify && cfg.Process.NoNewPrivileges
	softLast := prog == nil || late || filterAllows(cfg.Spec.Linux.Seccomp, "prlimit64")
	if notify {
		if err := loadFilter(conn, cfg, prog, !softLast); err != nil {
			return err
		}
	}
	if !cfg.Exec {
		if err := awaitStart(conn, cfg, env); err != nil {
			return err
		}
	}
	// execve's arguments are built before anything that may run under
	// the soft rlimits (an early filter takes them along).
	execve, err := prepareExec(path, cfg.Process.Args, env)
	if err != nil {
		return err
	}
	if prog != nil && !notify && !late {
		if err := loadFilter(conn, cfg, prog, !softLast); err != nil {
			return err
		}
	}
	if err := applyIdentity(cfg.Process, env); err != nil {
		return err
	}
	closeExtraFDs(cfg.PreserveFDs)
	phase.Mark("exec")
	if softLast {
		if err := lowerSoftRlimits(cfg.Process.Rlimits); err != nil {
			return err
		}
	}
	if late {
		if err := loadSeccomp(conn, prog); err != nil {
			return err
		}
	}
	if cfg.Exec {
		conn.Close()
	}
	return fmt.Errorf("exec %s: %w", cfg.Process.Args[0], execve())
}

// prepareExec builds execve's arguments now, so that the exec itself
// allocates nothing: it runs under the process's soft rlimits, which a
// Go program's address space may already exceed (see setRlimits).
func prepareExec(path string, args, env []string) (func() error, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", path, err)
	}
	argv, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		return nil, fmt.Errorf("exec %s: arguments: %w", path, err)
	}
	envv, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, fmt.Errorf("exec %s: environment: %w", path, err)
	}
	return func() error {
		_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(p)),
			uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
		return errno
	}, nil
}

// readConfig reads the runtime's config and the descriptors sent with it.
func readConfig(conn *proto.Conn) (*proto.Config, error) {
	var cfg proto.Config
	fds, err := conn.Recv(&cfg)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(fds) != len(cfg.IDMapped)+len(cfg.BindSources)+cfg.CgroupJoin {
		return nil, fmt.Errorf("config came with %d descriptors for %d idmapped mounts, %d bind sources and %d cgroup tasks files",
			len(fds), len(cfg.IDMapped), len(cfg.BindSources), cfg.CgroupJoin)
	}
	if err := joinCgroup(fds[len(fds)-cfg.CgroupJoin:]); err != nil {
		return nil, err
	}
	idMapped, bindSources = map[int]*os.File{}, map[int]*os.File{}
	for i, idx := range cfg.IDMapped {
		idMapped[idx] = os.NewFile(uintptr(fds[i]), "idmapped")
	}
	for i, idx := range cfg.BindSources {
		bindSources[idx] = os.NewFile(uintptr(fds[len(cfg.IDMapped)+i]), "bind-source")
	}
	if cfg.Debug {
		phase.To(proto.DebugWriter(conn))
	}
	phase.Mark("config read")
	if cfg.Spec == nil || cfg.Process == nil {
		return nil, errors.New("config without spec or process")
	}
	return &cfg, nil
}

// joinCgroup moves this thread, the one that will execve, into the
// container's cgroup v1 hierarchies through their tasks files, open at
// fds, and closes them. A thread moving itself does not take the kernel's
// global threadgroup lock, whose write side waits for an RCU grace period;
// init's other Go threads stay behind and end at execve.
func joinCgroup(fds []int) error {
	var err error
	for _, fd := range fds {
		if _, werr := unix.Write(fd, []byte("0")); werr != nil && err == nil {
			err = fmt.Errorf("join cgroup: %w", werr)
		}
		unix.Close(fd)
	}
	return err
}

// enterContainer joins the container's mount namespace and, for its first
// process, sets the container up: rootfs, console, sysctls, OOM score and
// session keyring.
func enterContainer(conn *proto.Conn, cfg *proto.Config) error {
	if cfg.Exec {
		// Processes of the container already run: none may reach into
		// ours through /proc (our executable is a sealed memfd anyway).
		if err := setNonDumpable(); err != nil {
			return err
		}
	}
	if fd := envFD(proto.EnvMntFD); fd >= 0 {
		if err := joinMountNS(fd); err != nil {
			return err
		}
	}
	if !cfg.Exec {
		if err := setupContainer(conn, cfg); err != nil {
			return err
		}
	}
	p := cfg.Process
	if p.Terminal && cfg.Console {
		if err := setupConsole(conn, p, cfg.SetupRootfs && !cfg.Exec, cfg.NoONLCR); err != nil {
			return err
		}
	}
	if cfg.Exec {
		return nil
	}
	if err := sysctl.Apply(cfg.Spec.Linux.Sysctl, sysctl.FromSpec(cfg.Spec.Linux)); err != nil {
		return err
	}
	if err := setOOMScoreAdj(p.OOMScoreAdj); err != nil {
		return err
	}
	if !cfg.NoNewKeyring {
		joinSessionKeyring(cfg.ID)
	}
	return nil
}

// loadFilter installs prog, setting the process's soft rlimits first
// when soft says so.
func loadFilter(conn *proto.Conn, cfg *proto.Config, prog *load.Program, soft bool) error {
	if soft {
		if err := lowerSoftRlimits(cfg.Process.Rlimits); err != nil {
			return err
		}
	}
	return loadSeccomp(conn, prog)
}

// prepareProcess sets the process's limits, working directory, LSM
// labels and umask, and finds its program. It returns the program's path
// and environment.
func prepareProcess(p *specs.Process) (path string, env []string, err error) {
	// Read now what switching identity needs, while /proc is reachable
	// and before the soft rlimits apply.
	_, _ = capabilities.HostLastCap()
	if err := setRlimits(p.Rlimits); err != nil {
		return "", nil, err
	}
	env = processEnv(p)
	if p.Cwd != "" {
		if err := unix.Chdir(p.Cwd); err != nil {
			return "", nil, fmt.Errorf("chdir to cwd %q set in config.json: %w", p.Cwd, err)
		}
	}
	if err := checkCwd(); err != nil {
		return "", nil, err
	}
	if len(p.Args) == 0 {
		return "", nil, errors.New("process.args must not be empty")
	}
	if path, err = lookPath(p.Args[0], env); err != nil {
		return "", nil, err
	}
	if err := applyLSM(p); err != nil {
		return "", nil, err
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	}
	return path, env, nil
}

// reportReady tells the runtime the process is ready to run, once an
// exec'd process is in the container's cgroup.
func reportReady(conn *proto.Conn, cfg *proto.Config) error {
	if cfg.Exec && cfg.WaitCgroup {
		// The runtime is moving us into the container's cgroup; nothing
		// of the user's may run before that is done.
		if err := awaitMsg(conn, proto.MsgCgroupReady); err != nil {
			return err
		}
	}
	phase.Mark("ready")
	return conn.Send(proto.Message{Kind: proto.MsgReady})
}

// awaitStart ends create and waits for start, then runs the
// startContainer hooks.
func awaitStart(conn *proto.Conn, cfg *proto.Config, env []string) error {
	// Closing the socket tells the runtime that create succeeded. The
	// fifo is reopened through /proc/self/fd, which a non-dumpable
	// process can do only before it leaves root: wait for start first,
	// then switch identity.
	conn.Close()
	if err := waitStart(); err != nil {
		return err
	}
	phase.Mark("started by start")
	// Until now only we ran in the container, holding every capability,
	// which no container process could ptrace. From here on we give them
	// up: no process may reach into ours.
	if err := setNonDumpable(); err != nil {
		return err
	}
	if h := cfg.Spec.Hooks; h != nil && len(h.StartContainer) > 0 {
		return hooks.RunWithEnv("startContainer", h.StartContainer, startedState(cfg.StateJSON), env)
	}
	return nil
}

// setupContainer does what only a container's first process does: the
// hostname, the rootfs and the createContainer hooks.
func setupContainer(conn *proto.Conn, cfg *proto.Config) error {
	s := cfg.Spec
	// A cgroup namespace must be rooted at the container's cgroup. Born
	// there (cgroup v2), init makes it now and the rootfs gets native
	// cgroup mounts; while the runtime is still moving init in (v1, where
	// that waits for an RCU grace period), the rootfs binds the container's
	// cgroup directories instead, which shows the same tree, and the
	// namespace is made at the end, so the wait overlaps the set-up.
	lateCgroupNS := cfg.CgroupNS && cfg.WaitCgroup
	if cfg.CgroupNS && !lateCgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("create cgroup namespace: %w", err)
		}
	}
	if cfg.TimeNS {
		if err := newTimeNamespace(s.Linux.TimeOffsets); err != nil {
			return err
		}
	}
	if cfg.SetHostname {
		if s.Hostname != "" {
			if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
				return fmt.Errorf("set hostname %q: %w", s.Hostname, err)
			}
		}
		if s.Domainname != "" {
			if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
				return fmt.Errorf("set domainname %q: %w", s.Domainname, err)
			}
		}
	}
	rc := &rootfs.Config{
		Spec:        s,
		Rootfs:      cfg.Rootfs,
		BundleDir:   cfg.Bundle,
		NoPivot:     cfg.NoPivot,
		CgroupPaths: cfg.CgroupPaths,
		CgroupNS:    cfg.CgroupNS && !lateCgroupNS,
		IDMapped:    idMapped,
		BindSources: bindSources,
		UserNS:      cfg.UserNS,
	}
	if cfg.SetupRootfs {
		phase.Mark("prepare rootfs")
		if err := rootfs.Prepare(rc); err != nil {
			return err
		}
		phase.Mark("rootfs prepared")
	}
	if h := s.Hooks; h != nil && (len(h.Prestart) > 0 || len(h.CreateRuntime) > 0) { //nolint:staticcheck // prestart is deprecated, still honoured
		if err := conn.Send(proto.Message{Kind: proto.MsgHooks}); err != nil {
			return err
		}
		if err := awaitMsg(conn, proto.MsgContinue); err != nil {
			return err
		}
	}
	if h := s.Hooks; h != nil && len(h.CreateContainer) > 0 {
		if err := hooks.Run("createContainer", h.CreateContainer, cfg.StateJSON); err != nil {
			return err
		}
	}
	if !cfg.SetupRootfs {
		// No mount namespace: the container shares the host's mounts, so
		// nothing is mounted; it only gets the rootfs as its root (runc
		// does the same). The rootfs may have no /proc: keep the host's to
		// reopen the exec fifo through; it is closed before execve.
		fd, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /proc: %w", err)
		}
		hostProc = fd
		if err := unix.Chroot(cfg.Rootfs); err != nil {
			return fmt.Errorf("chroot to %s: %w", cfg.Rootfs, err)
		}
		if err := unix.Chdir("/"); err != nil {
			return fmt.Errorf("chdir to the new root: %w", err)
		}
	}
	if cfg.SetupRootfs {
		if err := rootfs.Pivot(rc); err != nil {
			return err
		}
		if err := rootfs.Finalize(rc); err != nil {
			return err
		}
		phase.Mark("rootfs finalized")
	}
	if lateCgroupNS {
		if err := awaitMsg(conn, proto.MsgCgroupReady); err != nil {
			return err
		}
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("create cgroup namespace: %w", err)
		}
	}
	return nil
}

// cgroupReady records a MsgCgroupReady that came while init waited for
// another message: the runtime's cgroup mover sends it whenever the move
// is done, which may be while the hooks run.
var cgroupReady bool

// awaitMsg waits for the runtime's message of kind want. Any other
// message but an early MsgCgroupReady means the runtime gave up.
func awaitMsg(conn *proto.Conn, want proto.Kind) error {
	for want != proto.MsgCgroupReady || !cgroupReady {
		var m proto.Message
		if _, err := conn.Recv(&m); err != nil {
			return fmt.Errorf("wait for %s: %w", want, err)
		}
		switch m.Kind {
		case want:
			return nil
		case proto.MsgCgroupReady:
			cgroupReady = true
		default:
			return fmt.Errorf("runtime aborted: %s", m.Error)
		}
	}
	return nil
}

// joinMountNS moves this thread into the mount namespace open at fd. The
// thread first stops sharing its filesystem attributes with the other Go
// threads, which setns requires.
func joinMountNS(fd int) error {
	defer unix.Close(fd)
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare fs attributes: %w", err)
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("join mount namespace: %w", err)
	}
	return nil
}

// idMapped holds the idmapped mount trees the runtime sent, by mount index;
// bindSources the bind sources it opened for us.
var idMapped, bindSources map[int]*os.File

// hostProc is a descriptor of the host's /proc, kept only when the
// container has no mount namespace of its own (see setupContainer).
var hostProc = -1

// waitStart blocks until `start` opens the exec fifo, then tells it we are
// going ahead.
func waitStart() error {
	fd := envFD(proto.EnvFifoFD)
	if fd < 0 {
		return errors.New("no exec fifo")
	}
	dir, name := unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd)
	if hostProc >= 0 {
		dir, name = hostProc, "self/fd/"+strconv.Itoa(fd)
		defer func() { unix.Close(hostProc); hostProc = -1 }()
	}
	w, err := unix.Openat(dir, name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	unix.Close(fd)
	if _, err := unix.Write(w, []byte{0}); err != nil {
		unix.Close(w)
		return fmt.Errorf("write exec fifo: %w", err)
	}
	return unix.Close(w)
}

// startedState rewrites the state given to hooks for after start.
func startedState(b []byte) []byte {
	return specsStateWithStatus(b, specs.StateRunning)
}

// closeExtraFDs marks every descriptor above stdio and the preserved ones
// close-on-exec, so no host descriptor reaches the container (the
// CVE-2024-21626 class).
func closeExtraFDs(preserve int) { fds.CloseOnExecFrom(3 + preserve) }

// newTimeNamespace makes a time namespace with the given clock offsets; it
// takes effect for this process at execve (and for any child).
func newTimeNamespace(offs map[string]specs.LinuxTimeOffset) error {
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("create time namespace: %w", err)
	}
	if len(offs) == 0 {
		return nil
	}
	var b []byte
	for clock, off := range offs {
		if clock != "monotonic" && clock != "boottime" {
			return fmt.Errorf("time offset for unknown clock %q", clock)
		}
		b = fmt.Appendf(b, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
	}
	// Our thread is the thread group leader (main is locked to it), whose
	// offsets /proc/self names.
	if err := os.WriteFile("/proc/self/timens_offsets", b, 0); err != nil {
		return fmt.Errorf("set time offsets: %w", err)
	}
	return nil
}

func setNonDumpable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("set non-dumpable: %w", err)
	}
	return nil
}

// waitMapsAndReexec waits until the runtime has had newuidmap/newgidmap
// write our id maps, then executes ourselves again: capabilities are worked
// out at execve, and only now are we the user namespace's root.
func waitMapsAndReexec() {
	fd := envFD(proto.EnvSyncFD)
	if fd < 0 {
		os.Exit(1)
	}
	var m proto.Message
	f := os.NewFile(uintptr(fd), "sync")
	defer runtime.KeepAlive(f) // a finalizer must not close it before execve
	if _, err := proto.NewConn(f).Recv(&m); err != nil || m.Kind != proto.MsgMapsReady {
		fmt.Fprintln(os.Stderr, "berth-init: waiting for id maps:", err)
		os.Exit(1)
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, proto.EnvWaitMaps+"=") {
			env = append(env, e)
		}
	}
	if err := unix.Exec("/proc/self/exe", []string{"berth-init"}, env); err != nil {
		fmt.Fprintln(os.Stderr, "berth-init: re-exec after id maps:", err)
		os.Exit(1)
	}
}

// nsTypes maps the runtime spec's namespace names to setns flags.
var nsTypes = map[string]int{
	"network": unix.CLONE_NEWNET, "ipc": unix.CLONE_NEWIPC, "uts": unix.CLONE_NEWUTS,
	"cgroup": unix.CLONE_NEWCGROUP, "time": unix.CLONE_NEWTIME, "pid": unix.CLONE_NEWPID,
	"mount": unix.CLONE_NEWNS,
}

// hop joins the namespaces the runtime left to it on this thread: a pid
// namespace (so that no fork of the runtime binary ever enters it), and,
// where an unprivileged runtime could only join a container's user
// namespace (nsenter did), the container's other namespaces from inside
// it. An item without a path ("mount=") is a namespace to make: in a
// joined user namespace, the new namespaces must be made from inside it
// to belong to it. It starts berth-init once more (the copy is in the pid
// namespace, which setns gives only to children, and in the new
// namespaces), tells the runtime the copy's pid and exits, leaving the
// copy to the runtime.
func hop(list string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "berth-init:", err)
		os.Exit(1)
	}
	sync := envFD(proto.EnvSyncFD)
	if sync < 0 {
		fail(errors.New("no sync socket"))
	}
	var clone uintptr
	for _, item := range strings.Split(list, ",") {
		typ, path, _ := strings.Cut(item, "=")
		flag, ok := nsTypes[typ]
		if !ok {
			fail(fmt.Errorf("unknown namespace type %q", typ))
		}
		if path == "" {
			clone |= uintptr(flag)
			continue
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			fail(fmt.Errorf("open %s namespace %s: %w", typ, path, err))
		}
		err = unix.Setns(fd, flag)
		unix.Close(fd)
		if err != nil {
			fail(fmt.Errorf("join %s namespace %s: %w", typ, path, err))
		}
	}
	// Pass on every descriptor the runtime gave us, at the same numbers.
	last := sync
	for _, name := range []string{proto.EnvExeFD, proto.EnvFifoFD, proto.EnvMntFD} {
		last = max(last, envFD(name))
	}
	var extra []*os.File
	for fd := 3; fd <= last; fd++ {
		extra = append(extra, os.NewFile(uintptr(fd), "fd"))
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, proto.EnvHopNS+"=") {
			env = append(env, e)
		}
	}
	cmd := &exec.Cmd{
		Path: "/proc/self/exe", Args: []string{"berth-init"}, Env: env,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, ExtraFiles: extra,
		SysProcAttr: &unix.SysProcAttr{Setsid: true, Cloneflags: clone},
	}
	if err := cmd.Start(); err != nil {
		fail(fmt.Errorf("start berth-init in the container's namespaces: %w", err))
	}
	conn := proto.NewConn(os.NewFile(uintptr(sync), "sync"))
	if err := conn.Send(proto.Message{Kind: proto.MsgHandOver, Pid: cmd.Process.Pid}); err != nil {
		_ = cmd.Process.Kill()
		fail(err)
	}
	os.Exit(0)
}
