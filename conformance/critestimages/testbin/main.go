// Command testbin stands in, inside critest's test images, for the
// programs of the upstream images that busybox cannot play: it is one
// static binary that acts by the name it is run as.
//
//   - nginx: an HTTP server of /usr/share/nginx/html on -listen (default
//     :80) that writes its pid to /var/run/nginx.pid and runs as
//     "nginx: master process nginx", as critest's PID namespace specs
//     look for (they read /proc/1/cmdline and run `pidof nginx`).
//   - httpd: the same server of /usr/local/apache2/htdocs; it logs a line
//     naming httpd, as critest's multi-container log spec expects.
//   - nnp: prints "Effective uid: N"; installed setuid root, it shows
//     whether no_new_privs kept the set-user-ID from taking effect.
//   - ipcs: `ipcs -m` lists the System V shared memory segments the
//     container's IPC namespace holds (Debian's busybox has no ipcs).
//   - pause: the sandbox's process, as the pause image's: it waits for
//     SIGINT or SIGTERM and reaps the orphans a shared PID namespace
//     hands it.
//   - pgrep: `pgrep PATTERN` prints the pids whose name matches the
//     regular expression and exits 1 when none does (Debian's busybox
//     has no pgrep either).
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// masterTitle is the argv[0] real nginx gives its master process.
const masterTitle = "nginx: master process nginx"

func main() {
	name := filepath.Base(os.Args[0])
	if strings.HasPrefix(os.Args[0], masterTitle) {
		name = "nginx"
	}
	var err error
	switch name {
	case "nginx":
		err = nginx()
	case "httpd":
		err = serve("httpd", "/usr/local/apache2/htdocs", ":80")
	case "nnp":
		fmt.Printf("Effective uid: %d\n", os.Geteuid())
	case "ipcs":
		err = ipcs()
	case "pgrep":
		err = pgrep()
	case "pause":
		pause()
	default:
		err = fmt.Errorf("unknown program name %q (want nginx, httpd or nnp)", name)
	}
	if err != nil {
		if err != errNoMatch {
			fmt.Fprintln(os.Stderr, name+":", err)
		}
		os.Exit(1)
	}
}

// nginx re-executes itself under nginx's master process title (the pid
// stays the same), then writes the pid file and serves.
func nginx() error {
	if !strings.HasPrefix(os.Args[0], masterTitle) {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own executable: %w", err)
		}
		argv := append([]string{masterTitle}, os.Args[1:]...)
		return syscall.Exec(exe, argv, os.Environ())
	}
	fs := flag.NewFlagSet("nginx", flag.ContinueOnError)
	listen := fs.String("listen", ":80", "address to serve on")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if err := os.MkdirAll("/var/run", 0o755); err != nil {
		return fmt.Errorf("pid file directory: %w", err)
	}
	if err := os.WriteFile("/var/run/nginx.pid", []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return serve("nginx", "/usr/share/nginx/html", *listen)
}

// ipcs prints /proc/sysvipc/shm in ipcs -m's columns.
func ipcs() error {
	if len(os.Args) != 2 || os.Args[1] != "-m" {
		return errors.New("only ipcs -m is supported")
	}
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return err
	}
	fmt.Println("------ Shared Memory Segments --------")
	fmt.Println("key        shmid      owner      perms      bytes      nattch     status")
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines[1:] {
		// key shmid perms size cpid lpid nattch uid ...
		f := strings.Fields(l)
		if len(f) < 8 {
			continue
		}
		key, _ := strconv.ParseInt(f[0], 10, 64)
		fmt.Printf("0x%08x %-10s %-10s %-10s %-10s %-10s\n", uint32(key), f[1], f[7], f[2], f[3], f[6])
	}
	return nil
}

func pause() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}

// errNoMatch makes pgrep exit 1 without a message.
var errNoMatch = errors.New("")

// pgrep prints the pids of the processes whose comm matches os.Args[1].
func pgrep() error {
	if len(os.Args) != 2 {
		return errors.New("usage: pgrep PATTERN")
	}
	re, err := regexp.Compile(os.Args[1])
	if err != nil {
		return err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	found := false
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && re.MatchString(strings.TrimSpace(string(comm))) {
			fmt.Println(pid)
			found = true
		}
	}
	if !found {
		return errNoMatch
	}
	return nil
}

func serve(name, root, addr string) error {
	fmt.Fprintf(os.Stderr, "%s: serving %s on %s\n", name, root, addr)
	return http.ListenAndServe(addr, http.FileServer(http.Dir(root))) //nolint:gosec // a test server without timeouts
}
