package snapshot

import "github.com/opencontainers/go-digest"

// ChainID returns the chain ID of a stack of layers given their diff IDs
// (bottom first), as image-spec defines it: the first layer's diff ID,
// then sha256(parent chain ID + " " + diff ID) for each next layer. An
// empty list gives "".
func ChainID(diffIDs []digest.Digest) digest.Digest {
	if len(diffIDs) == 0 {
		return ""
	}
	chain := diffIDs[0]
	for _, d := range diffIDs[1:] {
		chain = digest.FromString(chain.String() + " " + d.String())
	}
	return chain
}

// ChainIDs returns the chain ID of every prefix of diffIDs: the keys of
// the committed snapshots an image's layers unpack to.
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	for i := range diffIDs {
		if i == 0 {
			out[i] = diffIDs[0]
			continue
		}
		out[i] = digest.FromString(out[i-1].String() + " " + diffIDs[i].String())
	}
	return out
}
