package capabilities

import "testing"

func TestHostLastCap(t *testing.T) {
	fromFile, err := HostLastCap()
	if err != nil {
		t.Fatal(err)
	}
	probed, err := probeLastCap()
	if err != nil {
		t.Fatal(err)
	}
	if fromFile != probed {
		t.Errorf("cap_last_cap says %d, probing says %d", fromFile, probed)
	}
	if fromFile < 36 {
		t.Errorf("implausible last capability %d", fromFile)
	}
}
