package cri

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math/big"
	"os/exec"
	"strings"
	"sync"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/lsm"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The deprecated apparmor_profile field's values.
const (
	appArmorRuntimeDefault = "runtime/default"
	appArmorLocalhost      = "localhost/"
)

// appArmorProfile is the AppArmor profile of a container (or sandbox)
// with profile sp, else the deprecated field's value, as containerd
// decides it:
//   - on a host without AppArmor nothing is enforced, and a Localhost
//     profile, which the pod cannot do without, is refused;
//   - Unconfined is none;
//   - RuntimeDefault, and no profile at all, is Berth's default profile
//     (def), but none for a privileged container;
//   - Localhost is the named profile, which must be loaded (the engine
//     checks).
func appArmorProfile(sp *runtimeapi.SecurityProfile, deprecated string, privileged, enabled bool, def string) (string, error) {
	if sp == nil && deprecated != "" {
		switch {
		case deprecated == appArmorRuntimeDefault:
			sp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
		case deprecated == lsm.AppArmorUnconfined:
			sp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
		case strings.HasPrefix(deprecated, appArmorLocalhost):
			sp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: deprecated}
		default:
			return "", fmt.Errorf("%w: apparmor profile %q (want runtime/default, unconfined or localhost/NAME)", errdefs.ErrInvalidArgument, deprecated)
		}
	}
	switch sp.GetProfileType() {
	case runtimeapi.SecurityProfile_RuntimeDefault:
		if !enabled || privileged {
			return "", nil
		}
		return def, nil
	case runtimeapi.SecurityProfile_Unconfined:
		return "", nil
	case runtimeapi.SecurityProfile_Localhost:
		name := strings.TrimPrefix(sp.GetLocalhostRef(), appArmorLocalhost)
		switch {
		case name == "":
			return "", fmt.Errorf("%w: apparmor profile Localhost names no profile", errdefs.ErrInvalidArgument)
		case !enabled:
			return "", fmt.Errorf("%w: apparmor profile %q: AppArmor is not enabled on this host", errdefs.ErrInvalidArgument, name)
		}
		return name, nil
	}
	return "", fmt.Errorf("%w: apparmor profile type %v", errdefs.ErrInvalidArgument, sp.GetProfileType())
}

// setAppArmor sets cfg's AppArmor profile (appArmorProfile), loading
// the default one when it is first asked for.
func (s *Server) setAppArmor(cfg *container.Config, sp *runtimeapi.SecurityProfile, deprecated string, privileged bool) error {
	p, err := appArmorProfile(sp, deprecated, privileged, lsm.AppArmorEnabled(), appArmorDefaultName)
	if err != nil {
		return err
	}
	if p == appArmorDefaultName {
		if p, err = s.appArmor.name(); err != nil {
			return err
		}
	}
	cfg.AppArmorProfile = p
	return nil
}

// containerLSM sets a container's AppArmor profile and, on a host with
// SELinux, its labels: its own options over its sandbox's label. A
// privileged container gets neither, as containerd runs it.
func (s *Server) containerLSM(cfg *container.Config, pod container.Config, sc *runtimeapi.LinuxContainerSecurityContext) error {
	deprecated := sc.GetApparmorProfile() //nolint:staticcheck // older kubelets and critest still send it
	if err := s.setAppArmor(cfg, sc.GetApparmor(), deprecated, sc.GetPrivileged()); err != nil {
		return err
	}
	if !lsm.SELinuxEnabled() || sc.GetPrivileged() {
		return nil
	}
	var err error
	cfg.SELinuxLabel, cfg.MountLabel, err = selinuxLabels(pod.SELinuxLabel, sc.GetSelinuxOptions())
	return err
}

// sandboxLSM sets a sandbox's AppArmor profile and, on a host with
// SELinux, its labels, at the pod's own level (podSELinuxLevel), which
// its containers keep.
func (s *Server) sandboxLSM(cfg *container.Config, sc *runtimeapi.LinuxSandboxSecurityContext) error {
	if err := s.setAppArmor(cfg, sc.GetApparmor(), "", sc.GetPrivileged()); err != nil {
		return err
	}
	if !lsm.SELinuxEnabled() || sc.GetPrivileged() {
		return nil
	}
	level, err := podSELinuxLevel(sc.GetSelinuxOptions())
	if err != nil {
		return err
	}
	base := strings.Join([]string{selinuxUser, selinuxRole, selinuxType, level}, ":")
	cfg.SELinuxLabel, cfg.MountLabel, err = selinuxLabels(base, sc.GetSelinuxOptions())
	return err
}

// defaultAppArmor is Berth's profile for RuntimeDefault, loaded into
// the kernel on first use.
type defaultAppArmor struct {
	mu     sync.Mutex
	loaded bool
}

// name returns the default profile's name once it is loaded.
func (d *defaultAppArmor) name() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.loaded || lsm.ValidateAppArmor(appArmorDefaultName) == nil {
		d.loaded = true
		return appArmorDefaultName, nil
	}
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		return "", fmt.Errorf("%w: load apparmor profile %s: apparmor_parser is not installed", errdefs.ErrFailedPrecondition, appArmorDefaultName)
	}
	cmd := exec.Command(parser, "-Kr")
	cmd.Stdin = bytes.NewReader(appArmorDefaultProfile(appArmorDefaultName))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("load apparmor profile %s: %w: %s", appArmorDefaultName, err, bytes.TrimSpace(out))
	}
	d.loaded = true
	return appArmorDefaultName, nil
}

// appArmorDefaultName names Berth's default AppArmor profile.
const appArmorDefaultName = "berth-default"

// appArmorDefaultProfile is the text of Berth's default profile: what a
// container usually does is allowed; mounting, the kernel's writable
// knobs and the host's firmware and security interfaces are not, and its
// processes signal and trace only each other.
func appArmorDefaultProfile(name string) []byte {
	return []byte(`#include <tunables/global>

profile ` + name + ` flags=(attach_disconnected,mediate_deleted) {
  #include <abstractions/base>

  network,
  capability,
  file,
  umount,
  signal (receive) peer=unconfined,
  signal (send,receive) peer=` + name + `,
  ptrace (trace,read,tracedby,readby) peer=` + name + `,

  deny mount,
  deny pivot_root,
  deny @{PROC}/sys/** wklx,
  deny @{PROC}/sysrq-trigger rwklx,
  deny @{PROC}/kcore rwklx,
  deny @{PROC}/kmem rwklx,
  deny @{PROC}/mem rwklx,
  deny /sys/firmware/** rwklx,
  deny /sys/kernel/security/** rwklx,
  deny /sys/kernel/debug/** rwklx,
}
`)
}

// SELinux defaults of a container's process and files, as container
// policies (container-selinux) name them.
const (
	selinuxUser     = "system_u"
	selinuxRole     = "system_r"
	selinuxType     = "container_t"
	selinuxFileRole = "object_r"
	selinuxFileType = "container_file_t"
)

// selinuxLabels are the process and mount labels of a process whose
// label starts as base ("user:role:type:level"; "" for the defaults at
// level s0) with o's parts over it. The mount label has the process's
// user and level.
func selinuxLabels(base string, o *runtimeapi.SELinuxOption) (process, mount string, err error) {
	parts := []string{selinuxUser, selinuxRole, selinuxType, "s0"}
	if base != "" {
		p := strings.SplitN(base, ":", 4)
		if len(p) != 4 {
			return "", "", fmt.Errorf("%w: selinux label %q", errdefs.ErrInvalidArgument, base)
		}
		parts = p
	}
	for i, v := range []string{o.GetUser(), o.GetRole(), o.GetType(), o.GetLevel()} {
		if v == "" {
			continue
		}
		if i < 3 && strings.Contains(v, ":") || strings.ContainsAny(v, "\"\n\x00 ") {
			return "", "", fmt.Errorf("%w: selinux option %q", errdefs.ErrInvalidArgument, v)
		}
		parts[i] = v
	}
	return strings.Join(parts, ":"), strings.Join([]string{parts[0], selinuxFileRole, selinuxFileType, parts[3]}, ":"), nil
}

// podSELinuxLevel is a pod's MCS level: its own, else two random
// categories, which set its processes and files apart from other pods'.
func podSELinuxLevel(o *runtimeapi.SELinuxOption) (string, error) {
	if o.GetLevel() != "" {
		return o.GetLevel(), nil
	}
	var c [2]int64
	for c[0] == c[1] {
		for i := range c {
			n, err := rand.Int(rand.Reader, big.NewInt(1024))
			if err != nil {
				return "", err
			}
			c[i] = n.Int64()
		}
	}
	return fmt.Sprintf("s0:c%d,c%d", min(c[0], c[1]), max(c[0], c[1])), nil
}
