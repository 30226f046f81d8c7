// Command mkimage makes a small busybox image and bundle from the host's
// /bin/busybox (busybox-static), for the demo and for benchmarks: an OCI
// bundle directory and an OCI archive that `berth load` reads.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/imagetest"
)

func main() {
	bundle := flag.String("bundle", "", "write an OCI bundle (busybox rootfs + config.json) to this directory")
	archive := flag.String("oci-archive", "", "write a one-layer OCI archive to this file")
	ref := flag.String("ref", "busybox:latest", "image name recorded in the archive")
	flag.Parse()
	if *bundle == "" && *archive == "" {
		fmt.Fprintln(os.Stderr, "mkimage: give --bundle DIR and/or --oci-archive FILE")
		os.Exit(2)
	}
	if *bundle != "" {
		spec := imagetest.Spec(imagetest.SpecOptions{Args: []string{"sh", "-c", "echo hello from a berth container: $(hostname), pid $$, $(uname -s)"}})
		if err := imagetest.NewBundle(*bundle, spec); err != nil {
			fmt.Fprintln(os.Stderr, "mkimage:", err)
			os.Exit(1)
		}
	}
	if *archive != "" {
		dir, err := os.MkdirTemp("", "mkimage-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "mkimage:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		rootfs := filepath.Join(dir, "rootfs")
		err = imagetest.BuildRootfs(rootfs)
		if err == nil {
			err = imagetest.WriteOCIArchive(*archive, rootfs, *ref)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "mkimage:", err)
			os.Exit(1)
		}
	}
}
