package testutil

import "testing"

func TestSkeletonKeepsContainerRules(t *testing.T) {
	for _, l := range []string{
		"-N CNI-HOSTPORT-DNAT",
		"-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
		`-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ`,
		"-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
		`-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000`,
		`-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN`,
		`-A CNI-ISOLATION-STAGE-1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN`,
	} {
		if !skeleton.MatchString(l) {
			t.Errorf("shared rule counted as a leak: %s", l)
		}
	}
	for _, l := range []string{
		"-N CNI-DN-1234",
		`-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"n\" id: \"c\"" -m multiport --dports 80 -j CNI-DN-1234`,
		`-A CNI-ISOLATION-STAGE-2 -o br0 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP`,
		"-A CNI-FORWARD -d 10.1.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"-A POSTROUTING -s 10.1.0.0/24 -j MASQUERADE",
	} {
		if skeleton.MatchString(l) {
			t.Errorf("container rule not compared: %s", l)
		}
	}
}
