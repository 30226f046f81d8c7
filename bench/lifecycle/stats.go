package main

import (
	"sort"
	"time"
)

// sample is a set of durations measured for one runtime and one metric.
type sample []time.Duration

// mean returns the arithmetic mean, or 0 for an empty sample.
func (s sample) mean() time.Duration {
	if len(s) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return sum / time.Duration(len(s))
}

// median returns the middle value (mean of the two middle ones for an
// even count), or 0 for an empty sample.
func (s sample) median() time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := append(sample(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	m := len(c) / 2
	if len(c)%2 == 1 {
		return c[m]
	}
	return (c[m-1] + c[m]) / 2
}

// ms renders a duration in milliseconds with two decimals.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
