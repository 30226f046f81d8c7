package dockerapi

import (
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/berth-dev/berth/version"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"
)

func (s *Server) routeSystem(mux *http.ServeMux) {
	mux.HandleFunc("GET /_ping", ping)
	mux.HandleFunc("HEAD /_ping", ping)
	mux.HandleFunc("GET /version", s.version)
	mux.HandleFunc("GET /info", s.info)
}

// ping answers version negotiation: clients read API-Version from its
// headers (HEAD or GET).
func ping(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Builder-Version", "1")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	_, _ = w.Write([]byte("OK"))
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	v := system.VersionResponse{
		Platform:      struct{ Name string }{Name: "Berth"},
		Version:       version.Version,
		APIVersion:    MaxAPIVersion,
		MinAPIVersion: MinAPIVersion,
		GitCommit:     version.Commit,
		GoVersion:     runtime.Version(),
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		KernelVersion: kernelVersion(),
		Components: []system.ComponentVersion{{
			Name: "Engine", Version: version.Version,
			Details: map[string]string{"ApiVersion": MaxAPIVersion, "MinAPIVersion": MinAPIVersion, "Os": runtime.GOOS, "Arch": runtime.GOARCH},
		}},
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ctrs, err := s.e.Containers(ctx, Namespace, true)
	if err != nil {
		writeError(w, err)
		return
	}
	imgs, err := s.e.List(ctx, Namespace)
	if err != nil {
		writeError(w, err)
		return
	}
	host, _ := os.Hostname()
	in := system.Info{
		ID: "berth", Images: len(imgs), Containers: len(ctrs),
		Driver: "overlayfs", LoggingDriver: "json-file", CgroupDriver: "cgroupfs",
		MemoryLimit: true, CPUCfsPeriod: true, CPUCfsQuota: true, CPUShares: true, PidsLimit: true,
		SystemTime: time.Now().Format(time.RFC3339Nano), KernelVersion: kernelVersion(),
		OperatingSystem: "linux", OSType: "linux", Architecture: runtime.GOARCH,
		NCPU: runtime.NumCPU(), MemTotal: memTotal(), DockerRootDir: s.e.Root(), Name: host,
		ServerVersion: version.Version, RegistryConfig: &registry.ServiceConfig{},
		Runtimes: map[string]system.RuntimeWithStatus{}, DefaultRuntime: "berth-runtime",
		InitBinary: "berth-reaper", SecurityOptions: []string{"name=seccomp,profile=builtin"},
	}
	for _, c := range ctrs {
		switch c.Status.State {
		case "running":
			in.ContainersRunning++
		case "paused":
			in.ContainersPaused++
		default:
			in.ContainersStopped++
		}
	}
	for _, rt := range s.e.Runtimes() {
		in.Runtimes[rt] = system.RuntimeWithStatus{Runtime: system.Runtime{Path: rt}}
	}
	writeJSON(w, http.StatusOK, in)
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func memTotal() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
