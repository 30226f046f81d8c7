package specgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxDBBytes is how much of an image's /etc/passwd or /etc/group is read.
const maxDBBytes = 4 << 20

// resolveUser turns an image's user into ids. Empty is root; a uid or a
// gid is taken as it is; a name is looked up in rootfs's /etc/passwd or
// /etc/group. Without a group the user's primary group is that of its
// passwd entry (0 without one), and the groups that list the user by
// name are its additional groups.
func resolveUser(user, rootfs string) (specs.User, error) {
	if user == "" {
		return specs.User{}, nil
	}
	u, g, hasGroup := strings.Cut(user, ":")
	if err := checkIDName(u); err != nil {
		return specs.User{}, fmt.Errorf("user %q: %w", user, err)
	}
	if hasGroup {
		if err := checkIDName(g); err != nil {
			return specs.User{}, fmt.Errorf("user %q: group: %w", user, err)
		}
	}
	uid, uidErr := parseID(u)
	_, gidErr := parseID(g)
	needsDB := uidErr != nil || (hasGroup && gidErr != nil)
	if rootfs == "" {
		if needsDB {
			return specs.User{}, fmt.Errorf("user %q: names are resolved only with the root filesystem (WithRootfs): %w", user, ErrInvalid)
		}
		gid, _ := parseID(g)
		return specs.User{UID: uid, GID: gid}, nil
	}
	users, err := readDB(rootfs, "/etc/passwd", 7)
	if err != nil && (uidErr != nil || !errors.Is(err, os.ErrNotExist)) {
		return specs.User{}, dbError(user, err)
	}
	out := specs.User{UID: uid}
	name := u
	if i := slices.IndexFunc(users, func(e []string) bool { return e[0] == u || (uidErr == nil && e[2] == u) }); i >= 0 {
		name = users[i][0]
		out.UID, err = parseID(users[i][2])
		if err == nil {
			out.GID, err = parseID(users[i][3])
		}
		if err != nil {
			return specs.User{}, fmt.Errorf("user %q: /etc/passwd entry: %w", user, err)
		}
	} else if uidErr != nil {
		return specs.User{}, fmt.Errorf("user %q: no such user in the image's /etc/passwd: %w", user, ErrInvalid)
	}
	groups, err := readDB(rootfs, "/etc/group", 4)
	if err != nil && (hasGroup && gidErr != nil || !errors.Is(err, os.ErrNotExist)) {
		return specs.User{}, dbError(user, err)
	}
	if hasGroup {
		return out, setGroup(&out, user, g, groups)
	}
	for _, e := range groups {
		if gid, err := parseID(e[2]); err == nil && gid != out.GID && slices.Contains(strings.Split(e[3], ","), name) {
			out.AdditionalGids = append(out.AdditionalGids, gid)
		}
	}
	return out, nil
}

// dbError reports a failure to read the image's user database; a missing
// one is the image's fault when a name must be looked up in it.
func dbError(user string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("user %q: %w: %w", user, err, ErrInvalid)
	}
	return fmt.Errorf("user %q: %w", user, err)
}

// setGroup sets the group named or numbered g as u's primary group.
func setGroup(u *specs.User, user, g string, groups [][]string) error {
	if gid, err := parseID(g); err == nil {
		u.GID = gid
		return nil
	}
	i := slices.IndexFunc(groups, func(e []string) bool { return e[0] == g })
	if i < 0 {
		return fmt.Errorf("user %q: no such group in the image's /etc/group: %w", user, ErrInvalid)
	}
	gid, err := parseID(groups[i][2])
	if err != nil {
		return fmt.Errorf("user %q: /etc/group entry: %w", user, err)
	}
	u.GID = gid
	return nil
}

// checkIDName accepts a user or group name or number: not empty, no
// slash, colon, NUL or line break, not overlong.
func checkIDName(s string) error {
	if s == "" || len(s) > 256 || strings.ContainsAny(s, "/:\x00\n\r") {
		return fmt.Errorf("%q is not a user or group name or id: %w", s, ErrInvalid)
	}
	return nil
}

// parseID parses a uid or gid (not the reserved -1).
func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, fmt.Errorf("%q is not an id: %w", s, ErrInvalid)
	}
	return uint32(n), nil
}

// readDB reads the entries of an /etc/passwd-like file inside rootfs,
// whose path is resolved without leaving rootfs; lines with fewer than
// fields fields are skipped.
func readDB(rootfs, name string, fields int) ([][]string, error) {
	p, err := securejoin.SecureJoin(rootfs, name)
	if err != nil {
		return nil, fmt.Errorf("resolve %s in %s: %w", name, rootfs, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("image's %s: %w", name, err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(io.LimitReader(f, maxDBBytes))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		if e := strings.Split(sc.Text(), ":"); len(e) >= fields {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("image's %s: %w", name, err)
	}
	return out, nil
}
