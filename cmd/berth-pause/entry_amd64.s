// berth-pause's whole program on linux/amd64, entered straight from the
// kernel (the Makefile links it with -E main.entry): the Go runtime is in
// the file but never runs, so a paused pod costs a few pages of stack
// and page tables instead of a Go runtime's heap and threads (about
// 690 kB of PSS each). main.go is the same program in Go, for builds
// without the entry flag.

#include "textflag.h"

#define SYS_write 1
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_rt_sigtimedwait 128
#define SYS_exit_group 231

// waitset is the signal set {SIGINT, SIGTERM}: bits 1 and 14.
DATA ·waitset+0(SB)/8, $0x4002
GLOBL ·waitset(SB), RODATA|NOPTR, $8

// ignore is a kernel struct sigaction of SIG_IGN (handler 1, no flags,
// no restorer, empty mask).
DATA ·ignore+0(SB)/8, $1
DATA ·ignore+8(SB)/8, $0
DATA ·ignore+16(SB)/8, $0
DATA ·ignore+24(SB)/8, $0
GLOBL ·ignore(SB), RODATA|NOPTR, $32

DATA ·usage+0(SB)/8, $"berth-pa"
DATA ·usage+8(SB)/8, $"use: tak"
DATA ·usage+16(SB)/8, $"es no ar"
DATA ·usage+24(SB)/8, $"guments\n"
GLOBL ·usage(SB), RODATA|NOPTR, $32

// entry: argc is at 0(SP). Any argument is a usage error (exit 2). Then
// SIGCHLD is ignored, so the kernel reaps every child, orphans that land
// on the pause as a pod's PID 1 included; SIGINT and SIGTERM are blocked
// and waited for, and either ends the process with status 0. Blocked
// signals reach even a PID 1 without handlers. A failed set-up exits 1.
TEXT ·entry(SB), NOSPLIT|NOFRAME, $0
	MOVQ 0(SP), AX
	CMPQ AX, $1
	JLE  setup
	MOVQ $SYS_write, AX
	MOVQ $2, DI
	LEAQ ·usage(SB), SI
	MOVQ $32, DX
	SYSCALL
	MOVQ $2, DI
	JMP  exit

setup:
	MOVQ $SYS_rt_sigaction, AX
	MOVQ $17, DI // SIGCHLD
	LEAQ ·ignore(SB), SI
	XORQ DX, DX
	MOVQ $8, R10
	SYSCALL
	TESTQ AX, AX
	JNE  fail
	MOVQ $SYS_rt_sigprocmask, AX
	XORQ DI, DI // SIG_BLOCK
	LEAQ ·waitset(SB), SI
	XORQ DX, DX
	MOVQ $8, R10
	SYSCALL
	TESTQ AX, AX
	JNE  fail

wait:
	MOVQ $SYS_rt_sigtimedwait, AX
	LEAQ ·waitset(SB), DI
	XORQ SI, SI
	XORQ DX, DX
	MOVQ $8, R10
	SYSCALL
	CMPQ AX, $0
	JLT  wait // interrupted (a stop and continue): wait again
	XORQ DI, DI
	JMP  exit

fail:
	MOVQ $1, DI

exit:
	MOVQ $SYS_exit_group, AX
	SYSCALL
	JMP  exit
