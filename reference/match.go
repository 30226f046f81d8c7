package reference

// The grammar's pieces are matched by hand rather than by regular
// expressions: compiling those at package init cost every berth command
// about 0.7 ms before main, and most commands never parse a reference.
// match_test.go checks these against the expressions they replace.

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }

func isWord(c byte) bool { return isAlnum(c) || c == '_' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// validPathComponent reports whether s is one repository path component:
// runs of [a-z0-9] joined by ".", "_", "__" or one or more "-".
func validPathComponent(s string) bool {
	i := 0
	for {
		start := i
		for i < len(s) && isLowerAlnum(s[i]) {
			i++
		}
		if i == start {
			return false // empty run: leading, trailing or doubled separator
		}
		if i == len(s) {
			return true
		}
		switch s[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(s) && s[i] == '_' {
				i++
			}
		case '-':
			for i < len(s) && s[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// validTag reports whether s is a tag: a word character, then at most
// 127 word characters, dots and dashes.
func validTag(s string) bool {
	if len(s) == 0 || len(s) > 128 || !isWord(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isWord(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// validDomain reports whether s is a registry host: dot-separated labels
// of letters, digits and inner dashes, or a bracketed IPv6 address, with
// an optional numeric port.
func validDomain(s string) bool {
	var i int
	if len(s) > 0 && s[0] == '[' {
		i = 1
		for i < len(s) && (isHex(s[i]) || s[i] == ':') {
			i++
		}
		if i == 1 || i == len(s) || s[i] != ']' {
			return false
		}
		i++
	} else {
		for {
			start := i
			for i < len(s) && (isAlnum(s[i]) || s[i] == '-') {
				i++
			}
			if i == start || s[start] == '-' || s[i-1] == '-' {
				return false
			}
			if i == len(s) || s[i] != '.' {
				break
			}
			i++
		}
	}
	if i == len(s) {
		return true
	}
	if s[i] != ':' || i+1 == len(s) {
		return false
	}
	for i++; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
