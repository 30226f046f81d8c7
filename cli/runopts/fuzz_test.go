package runopts

import (
	"path"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// FuzzParseRunFlags feeds run flags (NUL-separated arguments) through
// the parser: it must never panic, errors are one line, and an accepted
// configuration holds only clean absolute mount targets and valid names.
func FuzzParseRunFlags(f *testing.F) {
	for _, seed := range []string{
		"-v\x00data:/d:ro,z", "--mount\x00type=tmpfs,target=/t,tmpfs-size=1m",
		"--memory\x001.5g\x00--cpus\x000.25", "--ulimit\x00nofile=1:2",
		"--device\x00/dev/null:/dev/n:rw", "--restart\x00on-failure:2\x00--rm",
		"--name\x00web\x00-e\x00A=1", "--tmpfs\x00/run:size=1m,mode=1777",
		"--log-opt\x00max-size=1k,max-file=2", "--stop-signal\x00SIGRTMIN+1",
		"--security-opt\x00no-new-privileges:true", "--cap-add\x00all",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.Contains(in, "-file") || strings.Contains(in, "seccomp") {
			t.Skip("file-reading flags are covered by TestConfigValid/Invalid")
		}
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		fs.SetOutput(discard{})
		o := AddFlags(fs)
		if fs.Parse(strings.Split(in, "\x00")) != nil {
			return // pflag's own errors
		}
		c, err := o.Config("img", fs.Args())
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error over several lines: %q", err)
			}
			return
		}
		for _, m := range c.Mounts {
			if !path.IsAbs(m.Target) || path.Clean(m.Target) != m.Target || m.Target == "/" {
				t.Fatalf("mount target %q accepted", m.Target)
			}
		}
		if c.Name != "" && !validName(c.Name) {
			t.Fatalf("name %q accepted", c.Name)
		}
		if c.AutoRemove && c.Restart.Name != "no" {
			t.Fatalf("--rm with restart %q accepted", c.Restart.Name)
		}
	})
}
