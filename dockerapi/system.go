package dockerapi

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/version"
	"github.com/moby/moby/api/types/build"
	dcontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
	"golang.org/x/sys/unix"
)

func (s *Server) routeSystem(mux *http.ServeMux) {
	mux.HandleFunc("GET /_ping", ping)
	mux.HandleFunc("HEAD /_ping", ping)
	mux.HandleFunc("GET /version", s.version)
	mux.HandleFunc("GET /info", s.info)
	mux.HandleFunc("GET /system/df", s.systemDF)
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

// diskUsage is GET /system/df's body in the shape API versions before
// 1.52 (the Docker CLI 28's 1.50 among them) read, made of Docker's own
// types. A kind the type filter leaves out is null.
type diskUsage struct {
	LayersSize int64
	Images     []*image.Summary
	Containers []*dcontainer.Summary
	Volumes    []*volume.Volume
	BuildCache []*build.CacheRecord
}

// systemDF serves GET /system/df (docker system df): the images, the
// containers with their writable layers' sizes, the volumes with their
// sizes and users, and an empty build cache (berthd builds nothing);
// from API 1.42 the type query parameters choose among them.
func (s *Server) systemDF(w http.ResponseWriter, r *http.Request) {
	kinds, err := dfKinds(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var du diskUsage
	if kinds[system.ImageObject] || kinds[system.ContainerObject] {
		if err := s.dfImagesAndContainers(r, kinds, &du); err != nil {
			writeError(w, err)
			return
		}
	}
	if kinds[system.VolumeObject] {
		if du.Volumes, err = s.dfVolumes(r.Context()); err != nil {
			writeError(w, err)
			return
		}
	}
	if kinds[system.BuildCacheObject] {
		du.BuildCache = []*build.CacheRecord{}
	}
	writeJSON(w, http.StatusOK, du)
}

// dfKinds are the kinds of objects a system df request asks for: those
// its type parameters name (API 1.42 and later), else all.
func dfKinds(r *http.Request) (map[system.DiskUsageObject]bool, error) {
	all := []system.DiskUsageObject{system.ContainerObject, system.ImageObject, system.VolumeObject, system.BuildCacheObject}
	kinds := map[system.DiskUsageObject]bool{}
	if compareVersions(versionOf(r), "1.42") >= 0 {
		for _, t := range r.URL.Query()["type"] {
			k := system.DiskUsageObject(t)
			if !slices.Contains(all, k) {
				return nil, invalid("unknown object type: %s", t)
			}
			kinds[k] = true
		}
	}
	if len(kinds) == 0 {
		for _, k := range all {
			kinds[k] = true
		}
	}
	return kinds, nil
}

// dfImagesAndContainers fills du's images (with how many containers use
// each, and their sizes as LayersSize) and containers (with the sizes of
// their writable layers and root filesystems), as kinds asks.
func (s *Server) dfImagesAndContainers(r *http.Request, kinds map[system.DiskUsageObject]bool, du *diskUsage) error {
	ctx := r.Context()
	ctrs, err := s.e.Containers(ctx, Namespace, true)
	if err != nil {
		return err
	}
	list, err := s.e.List(ctx, Namespace)
	if err != nil {
		return err
	}
	users := map[string]int64{}
	for _, c := range ctrs {
		users[c.ImageID]++
	}
	imageSize := map[string]int64{}
	for _, sum := range s.imageSummaries(ctx, list, func(string) bool { return true }) {
		imageSize[sum.ID] = sum.Size
		if kinds[system.ImageObject] {
			// Layers shared between images are not told apart: each
			// image counts all of its own.
			sum.Containers, sum.SharedSize = users[sum.ID], 0
			du.LayersSize += sum.Size
			du.Images = append(du.Images, sum)
		}
	}
	if kinds[system.ImageObject] && du.Images == nil {
		du.Images = []*image.Summary{}
	}
	if kinds[system.ContainerObject] {
		du.Containers = []*dcontainer.Summary{}
		for _, c := range ctrs {
			sum := summaryOf(c)
			sum.SizeRw = int64(s.writableSize(r, c))
			sum.SizeRootFs = sum.SizeRw + imageSize[c.ImageID]
			du.Containers = append(du.Containers, &sum)
		}
	}
	return nil
}

// dfVolumes are the volumes with their sizes and how many containers use
// each.
func (s *Server) dfVolumes(ctx context.Context) ([]*volume.Volume, error) {
	vols, err := s.e.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*volume.Volume, 0, len(vols))
	for _, v := range vols {
		dv := volumeOf(v)
		dv.UsageData = &volume.UsageData{RefCount: int64(len(v.Users)), Size: engine.VolumeSize(v)}
		out = append(out, &dv)
	}
	return out, nil
}
