package initproc

import (
	"errors"
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/rootfs"
	"github.com/berth-dev/berth/runtime/proto"
)

// setupConsole creates a pty inside the container, makes its slave the
// process's controlling terminal and stdio, binds it over /dev/console and
// sends the master to the runtime; noONLCR clears ONLCR on it first.
func setupConsole(conn *proto.Conn, p *specs.Process, bindConsole, noONLCR bool) error {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/ptmx: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("get pty number: %w", err)
	}
	slavePath := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	slave, err := unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", slavePath, err)
	}
	defer unix.Close(slave)
	if err := chownToUser(slave, p.User.UID); err != nil {
		return fmt.Errorf("chown %s: %w", slavePath, err)
	}
	if noONLCR {
		t, err := unix.IoctlGetTermios(slave, unix.TCGETS)
		if err == nil {
			t.Oflag &^= unix.ONLCR
			err = unix.IoctlSetTermios(slave, unix.TCSETS, t)
		}
		if err != nil {
			return fmt.Errorf("clear ONLCR on %s: %w", slavePath, err)
		}
	}
	if p.ConsoleSize != nil {
		ws := &unix.Winsize{Row: uint16(p.ConsoleSize.Height), Col: uint16(p.ConsoleSize.Width)}
		if err := unix.IoctlSetWinsize(slave, unix.TIOCSWINSZ, ws); err != nil {
			return fmt.Errorf("set console size: %w", err)
		}
	}
	if bindConsole {
		if err := rootfs.BindConsole(slavePath); err != nil {
			return err
		}
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("dup pty onto fd %d: %w", fd, err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	if err := conn.Send(proto.Message{Kind: proto.MsgConsole}, master); err != nil {
		return err
	}
	return nil
}

// chownToUser gives the pty slave to the process's user, as runc does, so
// that it controls its own terminal; the group stays the one devpts chose
// (its gid= option, "tty"). An owner or group not mapped in a user
// namespace, or a read-only /dev, leaves it as it is (runc too).
func chownToUser(fd int, uid uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Uid == uid {
		return nil
	}
	err := unix.Fchown(fd, int(uid), int(st.Gid))
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS) {
		return nil
	}
	return err
}
