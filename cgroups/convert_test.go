package cgroups

import (
	"errors"
	"testing"
)

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{0: 0, 1: 1, 2: 1, 1024: 100, 262144: 10000, 300000: 10000} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
	prev := uint64(0)
	for s := uint64(2); s <= 262144; s *= 2 {
		w := SharesToWeight(s)
		if w < prev || w < 1 || w > 10000 {
			t.Fatalf("SharesToWeight(%d) = %d, not monotonic in [1, 10000]", s, w)
		}
		prev = w
	}
}

func TestBlkioWeightToIOWeight(t *testing.T) {
	for w, want := range map[uint16]uint64{0: 0, 10: 1, 500: 4950, 1000: 10000} {
		if got := BlkioWeightToIOWeight(w); got != want {
			t.Errorf("BlkioWeightToIOWeight(%d) = %d, want %d", w, got, want)
		}
	}
}

func TestSwapToV2(t *testing.T) {
	cases := []struct {
		swap, limit, want int64
		bad               bool
	}{
		{0, 0, 0, false},
		{0, -1, -1, false},
		{-1, 100, -1, false},
		{300, 100, 200, false},
		{100, 100, 0, false},
		{500, -1, 500, false},
		{50, 100, 0, true},
		{100, 0, 0, true},
	}
	for _, c := range cases {
		got, err := SwapToV2(c.swap, c.limit)
		if c.bad {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("SwapToV2(%d, %d) error = %v, want ErrInvalid", c.swap, c.limit, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("SwapToV2(%d, %d) = %d, %v; want %d", c.swap, c.limit, got, err, c.want)
		}
	}
}

func TestCPUMax(t *testing.T) {
	cases := []struct {
		quota  int64
		period uint64
		want   string
	}{
		{0, 0, ""},
		{50000, 100000, "50000 100000"},
		{-1, 100000, "max 100000"},
		{20000, 0, "20000"},
		{-1, 0, "max"},
	}
	for _, c := range cases {
		if got := CPUMax(c.quota, c.period); got != c.want {
			t.Errorf("CPUMax(%d, %d) = %q, want %q", c.quota, c.period, got, c.want)
		}
	}
	if pidsMax(0) != "max" || pidsMax(-1) != "max" || pidsMax(10) != "10" {
		t.Error("pidsMax")
	}
	if maxOr(-1) != "max" || maxOr(4096) != "4096" {
		t.Error("maxOr")
	}
}

func TestPageSizes(t *testing.T) {
	for s, kb := range map[string]uint64{"2MB": 2048, "1GB": 1 << 20, "64KB": 64} {
		got, ok := pageSizeKB(s)
		if !ok || got != kb {
			t.Errorf("pageSizeKB(%q) = %d, %v", s, got, ok)
		}
		if name := pageSizeName(kb); name != s {
			t.Errorf("pageSizeName(%d) = %q, want %q", kb, name, s)
		}
	}
	for _, s := range []string{"", "MB", "2mb", "0MB", "-2MB", "2 MB", "2M"} {
		if _, ok := pageSizeKB(s); ok {
			t.Errorf("pageSizeKB(%q) accepted", s)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := parseList("0-2,5")
	if err != nil || len(got) != 4 || !got[0] || !got[2] || !got[5] || got[3] {
		t.Fatalf("parseList: %v %v", got, err)
	}
	for _, bad := range []string{"a", "3-1", "1-", "-1", "1,,2"} {
		if _, err := parseList(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("parseList(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if err := checkSubset("cpu.cpus", "0-1", "0-3"); err != nil {
		t.Error(err)
	}
	if err := checkSubset("cpu.cpus", "0-4", "0-3"); !errors.Is(err, ErrInvalid) {
		t.Errorf("offline cpu accepted: %v", err)
	}
}
