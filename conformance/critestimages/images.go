package main

import (
	"archive/tar"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/berth-dev/berth/internal/registrytest"
)

// image is one stand-in: the names critest pulls and how it is made.
type image struct {
	// Refs are the upstream names critest uses; every one must map to
	// Repo in the loopback registry through the mirror configuration
	// (registry.k8s.io/X and k8s.gcr.io/X to X, gcr.io/X to X).
	Refs []string
	// Repo and Tags are where it is pushed in the loopback registry.
	Repo string
	Tags []string
	// User, Entrypoint, Cmd go into the image config.
	User       string
	Entrypoint []string
	Cmd        []string
	// Extra entries on top of the busybox root filesystem.
	Extra []registrytest.Entry
	// Passwd and Group replace the default /etc/passwd and /etc/group.
	Passwd, Group string
}

const (
	e2e   = "registry.k8s.io/e2e-test-images/"
	stage = "gcr.io/k8s-staging-cri-tools/"

	defaultPasswd = "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
	defaultGroup  = "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n"
)

// unavailable lists what critest pulls that no stand-in can be: the
// reference pins a digest of upstream bytes.
var unavailable = []string{
	stage + "test-image-digest@sha256:9700f9a2f5bf2c45f2f605a0bd3bce7cf37420ec9d3ed50ac2758413308766bf",
}

// images returns every stand-in; testbin is the static helper's bytes.
func images(testbin []byte) []image {
	marker := func(name string) []registrytest.Entry {
		return []registrytest.Entry{{Name: name, Data: []byte(name + "\n")}}
	}
	web := func(dir, prog string, mode int64) []registrytest.Entry {
		return []registrytest.Entry{
			{Name: dir + "/", Type: tar.TypeDir, Mode: 0o755},
			{Name: dir + "/index.html", Data: []byte("<html><body>berth critest stand-in</body></html>\n")},
			{Name: prog, Mode: mode, Data: testbin},
		}
	}
	imgs := []image{
		{Refs: []string{e2e + "busybox:1.29-2"}, Repo: "e2e-test-images/busybox", Tags: []string{"1.29-2"}},
		{Refs: []string{e2e + "nginx:1.14-2"}, Repo: "e2e-test-images/nginx", Tags: []string{"1.14-2"},
			Entrypoint: []string{"/usr/sbin/nginx"}, Extra: web("usr/share/nginx/html", "usr/sbin/nginx", 0o755)},
		{Refs: []string{stage + "hostnet-nginx-amd64"}, Repo: "k8s-staging-cri-tools/hostnet-nginx-amd64", Tags: []string{"latest"},
			Entrypoint: []string{"/usr/sbin/nginx", "-listen", ":12003"}, Extra: web("usr/share/nginx/html", "usr/sbin/nginx", 0o755)},
		{Refs: []string{e2e + "httpd:2.4.39-4"}, Repo: "e2e-test-images/httpd", Tags: []string{"2.4.39-4"},
			Entrypoint: []string{"/usr/local/bin/httpd"}, Extra: web("usr/local/apache2/htdocs", "usr/local/bin/httpd", 0o755)},
		{Refs: []string{e2e + "nonewprivs:1.3"}, Repo: "e2e-test-images/nonewprivs", Tags: []string{"1.3"},
			Entrypoint: []string{"/usr/local/bin/nnp"}, Extra: []registrytest.Entry{{Name: "usr/local/bin/nnp", Mode: 0o4755, Data: testbin}}},
		{Refs: []string{"registry.k8s.io/pause:3.9", "k8s.gcr.io/pause:3.9"}, Repo: "pause", Tags: []string{"3.9"},
			Entrypoint: []string{"/pause"}, Extra: []registrytest.Entry{{Name: "pause", Mode: 0o755, Data: testbin}}},
		{Refs: []string{stage + "test-image-predefined-group"}, Repo: "k8s-staging-cri-tools/test-image-predefined-group", Tags: []string{"latest"},
			User:   "1000",
			Passwd: defaultPasswd + "default-user:x:1000:1000::/home/default-user:/bin/sh\n",
			Group:  defaultGroup + "default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n"},
		{Refs: []string{stage + "test-image-tag:test", stage + "test-image-tag:all"}, Repo: "k8s-staging-cri-tools/test-image-tag",
			Tags: []string{"test", "all"}, Extra: marker("test-image-tag")},
		{Refs: []string{stage + "test-image-latest"}, Repo: "k8s-staging-cri-tools/test-image-latest", Tags: []string{"latest"},
			Extra: marker("test-image-latest")},
		{Refs: []string{stage + "test-image-tags:1", stage + "test-image-tags:2", stage + "test-image-tags:3"},
			Repo: "k8s-staging-cri-tools/test-image-tags", Tags: []string{"1", "2", "3"}, Extra: marker("same-image")},
	}
	for i := 1; i <= 3; i++ {
		n := fmt.Sprintf("test-image-%d", i)
		imgs = append(imgs, image{Refs: []string{stage + n + ":latest"}, Repo: "k8s-staging-cri-tools/" + n,
			Tags: []string{"latest"}, Extra: marker(n)})
	}
	users := []struct{ name, user string }{
		{"test-image-user-uid", "1002"},
		{"test-image-user-username", "www-data"},
		{"test-image-user-uid-group", "1003:1004"},
		{"test-image-user-username-group", "www-data:1004"},
	}
	for _, u := range users {
		imgs = append(imgs, image{Refs: []string{stage + u.name}, Repo: "k8s-staging-cri-tools/" + u.name,
			Tags: []string{"latest"}, User: u.user})
	}
	return imgs
}

// rootfs is the busybox root filesystem every stand-in starts from: the
// host's static /bin/busybox with a hard link for each of its applets (as
// in the busybox image: masking /bin/ls must not mask busybox itself;
// a link's mode is busybox's, as unpackers chmod the target to it),
// and testbin as /usr/bin/ipcs and /usr/bin/pgrep, which Debian's
// busybox lacks.
func rootfs(passwd, group string, testbin []byte) ([]registrytest.Entry, error) {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("read busybox (busybox-static): %w", err)
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	dirs := []string{"bin", "etc", "dev", "proc", "sys", "root", "home", "run", "usr", "usr/bin", "usr/sbin", "usr/local", "usr/local/bin", "var", "var/run", "var/www"}
	var e []registrytest.Entry
	for _, d := range dirs {
		e = append(e, registrytest.Entry{Name: d + "/", Type: tar.TypeDir, Mode: 0o755})
	}
	e = append(e, registrytest.Entry{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		registrytest.Entry{Name: "bin/busybox", Mode: 0o755, Data: bb})
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" {
			e = append(e, registrytest.Entry{Name: "bin/" + a, Type: tar.TypeLink, Mode: 0o755, Linkname: "bin/busybox"})
		}
	}
	if passwd == "" {
		passwd, group = defaultPasswd, defaultGroup
	}
	return append(e,
		registrytest.Entry{Name: "usr/bin/ipcs", Mode: 0o755, Data: testbin},
		registrytest.Entry{Name: "usr/bin/pgrep", Type: tar.TypeLink, Mode: 0o755, Linkname: "usr/bin/ipcs"},
		registrytest.Entry{Name: "etc/passwd", Data: []byte(passwd)},
		registrytest.Entry{Name: "etc/group", Data: []byte(group)},
		registrytest.Entry{Name: "etc/hostname", Data: []byte("critest\n")},
	), nil
}
