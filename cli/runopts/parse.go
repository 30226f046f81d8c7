package runopts

// ParseBytes reads a size as --memory does (64m, 1.5g, 1024).
func ParseBytes(s string) (int64, error) { return parseBytes(s) }

// ParseNanoCPUs reads a CPU count as --cpus does, in billionths.
func ParseNanoCPUs(s string) (int64, error) { return parseNanoCPUs(s) }
