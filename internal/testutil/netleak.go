package testutil

import (
	"bufio"
	"io/fs"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// CNIIPAMDir is host-local's default store of IP reservations.
const CNIIPAMDir = "/var/lib/cni/networks"

// CheckNetLeaks does what CheckLeaks does and also records the host's
// network interfaces (bridges and veths included), the iptables and
// ip6tables filter/nat/mangle rules (and nft's ruleset where nft exists),
// the mounts and files under each of dirs (netns bind mounts, IPAM
// reservations, CNI cache entries) and the files under CNIIPAMDir; when
// the test ends it fails it if any of these is new. Call it first in a
// test, with the state directories the test's code uses.
//
// The empty chains CNI plugins create once and share between all their
// users (CNI-FORWARD, CNI-HOSTPORT-DNAT, ...) and the jumps into them are
// host setup, not leaks, and are not compared; every rule that names a
// container, address or bridge is. Lock files and host-local's
// last_reserved_ip files are not reservations and are not compared.
func CheckNetLeaks(t testing.TB, dirs ...string) {
	t.Helper()
	CheckLeaks(t)
	before := takeNet(dirs)
	t.Cleanup(func() {
		after := takeNet(dirs)
		for what, a := range after {
			var extra []string
			for k := range a {
				if !before[what][k] {
					extra = append(extra, k)
				}
			}
			sort.Strings(extra)
			if len(extra) > 0 {
				t.Errorf("leaked %s:\n  %s", what, strings.Join(extra, "\n  "))
			}
		}
	})
}

func takeNet(dirs []string) map[string]map[string]bool {
	s := map[string]map[string]bool{
		"interfaces":              interfaces(),
		"firewall rules":          firewallRules(),
		"files":                   {},
		"mounts under state dirs": {},
	}
	for _, d := range append([]string{CNIIPAMDir}, dirs...) {
		filesUnder(d, s["files"])
	}
	for m := range mounts() {
		for _, d := range dirs {
			if m == d || strings.HasPrefix(m, d+"/") {
				s["mounts under state dirs"][m] = true
			}
		}
	}
	return s
}

func interfaces() map[string]bool {
	m := map[string]bool{}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		m[i.Name] = true
	}
	return m
}

func filesUnder(dir string, m map[string]bool) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		// The network Manager's lock and its fixed link to iptables
		// (ipv4-path/iptables) belong to the state directory, not to a
		// network or container.
		if n := d.Name(); n == "lock" || strings.HasPrefix(n, "last_reserved_ip") ||
			n == "iptables" && filepath.Base(filepath.Dir(p)) == "ipv4-path" {
			return nil
		}
		m[p] = true
		return nil
	})
}

// sharedChain matches the chains CNI plugins share between all users.
var sharedChain = `CNI-(FORWARD|ADMIN|HOSTPORT-DNAT|HOSTPORT-SETMARK|HOSTPORT-MASQ|ISOLATION-STAGE-[12])`

// skeleton matches the shared chains' definitions, the jumps from the
// built-in chains into them, and their fixed rules that name nothing
// of one container or network.
var skeleton = regexp.MustCompile(`^(-N ` + sharedChain + `|` +
	`-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING|` + sharedChain + `)( -m (comment --comment "[^"]*"|addrtype --dst-type LOCAL|mark --mark \S+))* -j (` + sharedChain + `|MARK --set-xmark \S+|MASQUERADE|RETURN))$`)

var nftCounter = regexp.MustCompile(`counter packets \d+ bytes \d+ ?`)

func firewallRules() map[string]bool {
	m := map[string]bool{}
	for _, tool := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		for _, table := range []string{"filter", "nat", "mangle"} {
			out, _ := exec.Command(tool, "-w", "-t", table, "-S").Output()
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if l := sc.Text(); !skeleton.MatchString(l) {
					m[tool+" "+table+" "+l] = true
				}
			}
		}
	}
	if _, err := exec.LookPath("nft"); err == nil {
		out, _ := exec.Command("nft", "list", "ruleset").Output()
		for _, l := range strings.Split(string(out), "\n") {
			// iptables-nft's own tables are compared through iptables.
			l = nftCounter.ReplaceAllString(strings.TrimSpace(l), "")
			if l != "" && !strings.Contains(l, "CNI-") {
				m["nft "+l] = true
			}
		}
	}
	return m
}
