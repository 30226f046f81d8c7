package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containernetworking/cni/pkg/invoke"
)

// ipv4PathDir is the directory, under the state directory, whose only
// entry is a link named iptables to the host's iptables.
const ipv4PathDir = "ipv4-path"

// pluginExec runs CNI plugins as libcni's default does, with one
// difference: portmap's DEL of an attachment that has no IPv6 address
// runs with PATH set to ipv4Path, where ip6tables cannot be found.
// portmap 1.1 tears down its chains for both families on every DEL,
// whatever the ADD made; for an IPv4-only attachment the ip6tables half
// (eight ip6tables runs removing chains that were never made) is pure
// cost, and the plugin skips a family whose tool it cannot find.
type pluginExec struct {
	invoke.DefaultExec
	ipv4Path string // "" when the host has no iptables: nothing changes
}

// newPluginExec makes stateDir's ipv4-path link, replacing a stale one.
func newPluginExec(stateDir string) (*pluginExec, error) {
	e := &pluginExec{DefaultExec: invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}}}
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		return e, nil // portmap cannot run either; its error says so
	}
	if ipt, err = filepath.Abs(ipt); err != nil {
		return nil, err
	}
	dir := filepath.Join(stateDir, ipv4PathDir)
	link := filepath.Join(dir, "iptables")
	if cur, err := os.Readlink(link); err == nil && cur == ipt {
		e.ipv4Path = dir
		return e, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.Symlink(ipt, link); err != nil {
		return nil, fmt.Errorf("iptables link: %w", err)
	}
	e.ipv4Path = dir
	return e, nil
}

// ExecPlugin runs the plugin at pluginPath.
func (e *pluginExec) ExecPlugin(ctx context.Context, pluginPath string, stdin []byte, environ []string) ([]byte, error) {
	if e.ipv4Path != "" && filepath.Base(pluginPath) == "portmap" && slices.Contains(environ, "CNI_COMMAND=DEL") && ipv4Only(stdin) {
		environ = withPath(environ, e.ipv4Path)
	}
	return e.DefaultExec.ExecPlugin(ctx, pluginPath, stdin, environ)
}

// ipv4Only reports whether a plugin's input has a previous result whose
// addresses are all IPv4 (at least one).
func ipv4Only(stdin []byte) bool {
	var conf struct {
		PrevResult *struct {
			IPs []struct {
				Address string `json:"address"`
			} `json:"ips"`
		} `json:"prevResult"`
	}
	if json.Unmarshal(stdin, &conf) != nil || conf.PrevResult == nil || len(conf.PrevResult.IPs) == 0 {
		return false
	}
	for _, ip := range conf.PrevResult.IPs {
		a, _, err := net.ParseCIDR(ip.Address)
		if err != nil || a.To4() == nil {
			return false
		}
	}
	return true
}

// withPath returns environ with PATH set to dir.
func withPath(environ []string, dir string) []string {
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	return append(out, "PATH="+dir)
}
