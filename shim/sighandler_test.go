package shim

import (
	"syscall"
	"testing"
)

func TestLost(t *testing.T) {
	const (
		// SIGTERM (15) is bit 14: 0x4000; SIGINT (2) is bit 1: 0x2.
		nsInit = "Name:\tpause\nNSpid:\t4242\t1\n"
		host   = "Name:\tsleep\nNSpid:\t4242\n"
		nested = "Name:\tsh\nNSpid:\t4242\t17\n"
	)
	for _, tc := range []struct {
		name, status string
		sig          syscall.Signal
		want         bool
	}{
		{"ns init, default action", nsInit + "SigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n", syscall.SIGTERM, true},
		{"ns init, caught", nsInit + "SigIgn:\t0000000000000000\nSigCgt:\t0000000000004000\n", syscall.SIGTERM, false},
		{"ns init, ignored", nsInit + "SigIgn:\t0000000000004000\nSigCgt:\t0000000000000000\n", syscall.SIGTERM, false},
		{"ns init, another caught", nsInit + "SigIgn:\t0000000000000000\nSigCgt:\t0000000000000002\n", syscall.SIGTERM, true},
		{"ns init, SIGINT caught", nsInit + "SigIgn:\t0000000000000000\nSigCgt:\t0000000000000002\n", syscall.SIGINT, false},
		{"ns init, realtime signal", nsInit + "SigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n", syscall.Signal(64), true},
		{"host PID namespace", host + "SigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n", syscall.SIGTERM, false},
		{"not the namespace's init", nested + "SigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n", syscall.SIGTERM, false},
		{"no signal lines", nsInit, syscall.SIGTERM, false},
		{"bad mask", nsInit + "SigIgn:\t0\nSigCgt:\tzz\n", syscall.SIGTERM, false},
		{"empty", "", syscall.SIGTERM, false},
		{"berth-init, caught", "Name:\tberth-init\nNSpid:\t4242\t1\nSigIgn:\t0000000000000000\nSigCgt:\tfffffffd7fc1feff\n", syscall.SIGTERM, true},
		{"berth-init, host PID namespace", "Name:\tberth-init\nNSpid:\t4242\nSigIgn:\t0000000000000000\nSigCgt:\tfffffffd7fc1feff\n", syscall.SIGTERM, true},
	} {
		if got := lost([]byte(tc.status), tc.sig); got != tc.want {
			t.Errorf("%s: lost = %v, want %v", tc.name, got, tc.want)
		}
	}
}
