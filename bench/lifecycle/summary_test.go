package main

import (
	"strings"
	"testing"
)

func TestSummaryMedianAndSpreadOverRounds(t *testing.T) {
	// Three rounds; the lifecycle ratios berth/crun are 0.5, 0.6, 0.9:
	// the median round is 0.6, not the best (0.5) nor the mean.
	in := []string{
		"RESULT cgroup2ns berth lifecycle 99 10.0 80\nRESULT cgroup2ns crun lifecycle 99 20.0 80\nRESULT cgroup2ns runc lifecycle 99 25.0 80\n",
		"noise\nRESULT cgroup2ns berth lifecycle 99 12.0 80\nRESULT cgroup2ns crun lifecycle 99 20.0 80\nRESULT cgroup2ns runc lifecycle 99 30.0 80\n",
		"RESULT cgroup2ns berth lifecycle 99 18.0 80\nRESULT cgroup2ns crun lifecycle 99 20.0 80\nRESULT cgroup2ns runc lifecycle 99 36.0 80\nRESULT cgroup2ns berth run 9 3.0 30\n",
	}
	var rounds []round
	for _, s := range in {
		r, err := readRound(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		rounds = append(rounds, r)
	}
	var b strings.Builder
	summarize(&b, rounds)
	out := b.String()
	want := []string{
		"3 round(s)",
		"cgroup2ns  lifecycle      12.00     30.00     20.00 0.40 [0.40-0.50]     0.60 [0.50-0.90]",
		"cgroup2ns  run             3.00         -         - -                    -",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
}

func TestSummaryBadMedian(t *testing.T) {
	if _, err := readRound(strings.NewReader("RESULT s berth lifecycle 1 x 3\n")); err == nil {
		t.Fatal("a RESULT line with a bad median was accepted")
	}
}
