package archive

import (
	"os"
	"strings"
	"sync"
)

// inUserNS reports whether this process runs in a user namespace other
// than the initial one (where the uid map is not the identity map of
// all ids).
var inUserNS = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) != 3 || f[0] != "0" || f[1] != "0" || f[2] != "4294967295"
})
