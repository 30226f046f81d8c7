// berth-shim's entry on linux/amd64 (the Makefile links it with
// -E main.entry). `berth-shim idle ...` is an idle shim's whole program,
// here, without the Go runtime: a shim that serves nothing hands its
// descriptors to it (shim/idle.go) and a sleeping container's supervisor
// then holds a few pages instead of a Go runtime's heap and threads.
// Every other command goes on to Go's own entry.
//
// The idle program reads, from descriptor 3, the poll set the shim left
// there (struct pollfd entries in its first 512 bytes, each POLLIN on a
// descriptor from 10 up or unused, -1), waits until any
// of them is ready (a connection, the container's output, its init's
// exit), then executes /proc/self/exe, the same berth-shim file, with its
// own arguments and "resume" in place of "idle": the shim in Go takes
// its descriptors back from descriptor 3 and handles the event. An exec
// that fails is retried each second: the descriptors, and with them the
// container's stdio, must not be dropped. shim/idle.go's idleMain is the
// same program in Go, for builds without the entry flag.

#include "textflag.h"

#define SYS_pread64 17
#define SYS_poll 7
#define SYS_nanosleep 35
#define SYS_execve 59
#define SYS_prctl 157
#define PR_SET_NAME 15
#define EINTR 4
#define STATE_FD 3
#define POLL_BYTES 512

DATA ·exePath+0(SB)/8, $"/proc/se"
DATA ·exePath+8(SB)/8, $"lf/exe\x00\x00"
GLOBL ·exePath(SB), RODATA|NOPTR, $16

DATA ·resumeArg+0(SB)/8, $"resume\x00\x00"
GLOBL ·resumeArg(SB), RODATA|NOPTR, $8

// comm is the process name: an exec of /proc/self/exe would name it "exe".
DATA ·comm+0(SB)/8, $"berth-sh"
DATA ·comm+8(SB)/8, $"im\x00\x00\x00\x00\x00\x00"
GLOBL ·comm(SB), RODATA|NOPTR, $16

// entry: argc at 0(SP), argv from 8(SP), then NULL and the environment.
// Stack use below the kernel's frame: 0..511 the poll set, 512 one
// second for nanosleep.
TEXT ·entry(SB), NOSPLIT|NOFRAME, $0
	MOVQ 0(SP), AX
	CMPQ AX, $2
	JLT  gomain
	MOVQ 16(SP), SI // argv[1]
	MOVL 0(SI), BX
	CMPL BX, $0x656c6469 // "idle"
	JNE  gomain
	MOVB 4(SI), BX
	CMPB BX, $0
	JNE  gomain

	LEAQ 8(SP), R14          // argv
	LEAQ 16(SP)(AX*8), R12   // envp: past argv's NULL
	SUBQ $528, SP

	MOVQ $SYS_prctl, AX
	MOVQ $PR_SET_NAME, DI
	LEAQ ·comm(SB), SI
	SYSCALL

	MOVQ $SYS_pread64, AX
	MOVQ $STATE_FD, DI
	MOVQ SP, SI
	MOVQ $POLL_BYTES, DX
	XORQ R10, R10
	SYSCALL
	CMPQ AX, $8
	JLT  resume // no poll set: let the shim look
	SHRQ $3, AX
	MOVQ AX, R13 // entries

	// Each entry must ask for POLLIN on a descriptor from 10 up (the
	// shim's firstPassedFD), as the shim's do, or be unused (descriptor
	// -1, which poll skips), the first always used; anything else is no
	// shim's poll set, and resume says so.
	XORQ CX, CX
check:
	CMPQ CX, R13
	JGE  wait
	MOVL 0(SP)(CX*8), BX
	CMPL BX, $-1
	JNE  used
	TESTQ CX, CX
	JNE  next
used:
	CMPL BX, $10
	JLT  resume
	MOVWLZX 4(SP)(CX*8), BX
	CMPL BX, $1
	JNE  resume
next:
	INCQ CX
	JMP  check

wait:
	MOVQ $SYS_poll, AX
	MOVQ SP, DI
	MOVQ R13, SI
	MOVQ $-1, DX
	SYSCALL
	CMPQ AX, $-EINTR
	JEQ  wait // a stop and continue: wait again

resume:
	LEAQ ·resumeArg(SB), AX
	MOVQ AX, 8(R14) // argv[1]
	MOVQ $SYS_execve, AX
	LEAQ ·exePath(SB), DI
	MOVQ R14, SI
	MOVQ R12, DX
	SYSCALL
	MOVQ $1, 512(SP)
	MOVQ $0, 520(SP)
	MOVQ $SYS_nanosleep, AX
	LEAQ 512(SP), DI
	XORQ SI, SI
	SYSCALL
	JMP  resume

gomain:
	JMP _rt0_amd64_linux(SB)
