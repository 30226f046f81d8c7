package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// round is one run's per-iteration medians in ms, by setting, metric and
// runtime, read from its RESULT lines.
type round map[[3]string]float64

// readRound parses the RESULT lines of one run's output:
// "RESULT setting runtime metric mean_ms median_ms runs".
func readRound(r io.Reader) (round, error) {
	out := round{}
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) != 7 || f[0] != "RESULT" {
			continue
		}
		med, err := strconv.ParseFloat(f[5], 64)
		if err != nil {
			return nil, fmt.Errorf("RESULT line %q: median: %w", s.Text(), err)
		}
		out[[3]string{f[1], f[3], f[2]}] = med
	}
	return out, s.Err()
}

// spread is the median and range of a set of values.
type spread struct {
	med, min, max float64
	n             int
}

func spreadOf(v []float64) spread {
	if len(v) == 0 {
		return spread{}
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	m := c[len(c)/2]
	if len(c)%2 == 0 {
		m = (c[len(c)/2-1] + c[len(c)/2]) / 2
	}
	return spread{med: m, min: c[0], max: c[len(c)-1], n: len(c)}
}

func (s spread) String() string {
	if s.n == 0 {
		return "-"
	}
	if s.n == 1 {
		return fmt.Sprintf("%.2f", s.med)
	}
	return fmt.Sprintf("%.2f [%.2f-%.2f]", s.med, s.min, s.max)
}

// summarize writes, for each setting and metric, each runtime's median
// time (the median over rounds of each round's per-iteration median) and
// the ratios berth/runc and berth/crun as the median over rounds of each
// round's ratio, with their range across rounds in brackets.
func summarize(w io.Writer, rounds []round) {
	type key struct{ setting, metric string }
	var keys []key
	seen := map[key]bool{}
	for _, r := range rounds {
		for k := range r {
			if kk := (key{k[0], k[1]}); !seen[kk] {
				seen[kk] = true
				keys = append(keys, kk)
			}
		}
	}
	order := map[string]int{"lifecycle": 0, "run": 1, "exec": 2, "events": 3}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].setting != keys[j].setting {
			return keys[i].setting < keys[j].setting
		}
		return order[keys[i].metric] < order[keys[j].metric]
	})
	fmt.Fprintf(w, "%d round(s); per round the median of the iterations; here the median over rounds [min-max]\n", len(rounds))
	fmt.Fprintf(w, "%-10s %-10s %9s %9s %9s %-20s %-20s\n", "setting", "metric", "berth ms", "runc ms", "crun ms", "berth/runc", "berth/crun")
	for _, k := range keys {
		times := map[string][]float64{}
		ratios := map[string][]float64{}
		for _, r := range rounds {
			for _, rt := range []string{"berth", "runc", "crun"} {
				if v, ok := r[[3]string{k.setting, k.metric, rt}]; ok {
					times[rt] = append(times[rt], v)
				}
			}
			b, ok := r[[3]string{k.setting, k.metric, "berth"}]
			for _, other := range []string{"runc", "crun"} {
				if o, ok2 := r[[3]string{k.setting, k.metric, other}]; ok && ok2 && o > 0 {
					ratios[other] = append(ratios[other], b/o)
				}
			}
		}
		med := func(rt string) string {
			if len(times[rt]) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", spreadOf(times[rt]).med)
		}
		fmt.Fprintf(w, "%-10s %-10s %9s %9s %9s %-20s %-20s\n", k.setting, k.metric, med("berth"), med("runc"), med("crun"),
			spreadOf(ratios["runc"]), spreadOf(ratios["crun"]))
	}
}

// summarizeFiles reads one round from each file and summarizes them.
func summarizeFiles(w io.Writer, files []string) error {
	var rounds []round
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		r, err := readRound(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("summary of %s: %w", p, err)
		}
		rounds = append(rounds, r)
	}
	summarize(w, rounds)
	return nil
}
