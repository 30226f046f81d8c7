package runopts

import "github.com/berth-dev/berth/container"

// ParseBytes reads a size as --memory does (64m, 1.5g, 1024).
func ParseBytes(s string) (int64, error) { return parseBytes(s) }

// ParseNanoCPUs reads a CPU count as --cpus does, in billionths.
func ParseNanoCPUs(s string) (int64, error) { return parseNanoCPUs(s) }

// ParseVolume reads a mount as -v does ([source:]target[:options]).
func ParseVolume(s string) (container.Mount, error) { return parseVolume(s) }

// ParseTmpfs reads a mount as --tmpfs does (target[:options]).
func ParseTmpfs(s string) (container.Mount, error) { return parseTmpfs(s) }

// ParseRestart reads a restart policy as --restart does.
func ParseRestart(s string) (container.RestartPolicy, error) { return parseRestart(s) }

// ParseSignal checks a signal as --stop-signal does.
func ParseSignal(s string) (string, error) { return parseSignal(s) }
