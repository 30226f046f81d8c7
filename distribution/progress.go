package distribution

// State is where one blob of a pull or push stands.
type State string

// Progress states, in order.
const (
	StateWaiting     State = "waiting"
	StateDownloading State = "downloading"
	StateVerifying   State = "verifying"
	StateUnpacking   State = "unpacking"
	StateUploading   State = "uploading"
	StateExists      State = "exists" // already present; nothing transferred
	StateDone        State = "done"
	StateError       State = "error"
)

// Progress reports one blob's state.
type Progress struct {
	Digest    string
	MediaType string
	Kind      string // "index", "manifest", "config" or "layer"
	State     State
	Offset    int64 // bytes done
	Total     int64 // blob size
	Error     string
}

// ProgressFunc receives progress events; it must not block for long.
type ProgressFunc func(Progress)
