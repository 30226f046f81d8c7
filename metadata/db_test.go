package metadata

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// groupCommit starts an update that holds the writer until released,
// queues n more behind it (fail(i) says which return an error after
// writing their key) and returns, once all ended, their errors and the
// number of write transactions committed.
func groupCommit(t *testing.T, n int, fail func(int) bool) (*DB, []error, int) {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "meta.db"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	before := LastWriteTx(db)
	release, held := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = db.update(func(tx *bolt.Tx) error {
			close(held)
			<-release
			return tx.Bucket(bucketV1).Put([]byte("first"), []byte("x"))
		})
	}()
	<-held
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.update(func(tx *bolt.Tx) error {
				if err := tx.Bucket(bucketV1).Put(fmt.Appendf(nil, "k%d", i), []byte("x")); err != nil {
					return err
				}
				if fail(i) {
					return fmt.Errorf("update %d: %w", i, errBoom)
				}
				return nil
			})
		}()
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		db.wmu.Lock()
		queued := len(db.writes)
		db.wmu.Unlock()
		if queued == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d updates queued", queued, n)
		}
	}
	close(release)
	wg.Wait()
	for i := range n {
		var got []byte
		_ = db.view(func(tx *bolt.Tx) error { got = tx.Bucket(bucketV1).Get(fmt.Appendf(nil, "k%d", i)); return nil })
		if (got != nil) == fail(i) {
			t.Errorf("update %d (failing %v): key written %v", i, fail(i), got != nil)
		}
	}
	return db, errs, LastWriteTx(db) - before
}

var errBoom = errors.New("boom")

// TestUpdatesQueuedCommitTogether: updates that queue behind a commit are
// committed in one transaction, and each returns nil.
func TestUpdatesQueuedCommitTogether(t *testing.T) {
	_, errs, commits := groupCommit(t, 10, func(int) bool { return false })
	for i, err := range errs {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	if commits != 2 {
		t.Fatalf("%d write transactions, want 2 (the first, then the 10 queued together)", commits)
	}
}

// TestFailedUpdateInAGroup: one failing function fails only its own
// update: the others are committed alone, as if there were no group.
func TestFailedUpdateInAGroup(t *testing.T) {
	_, errs, commits := groupCommit(t, 10, func(i int) bool { return i == 3 })
	for i, err := range errs {
		if (i == 3) != errors.Is(err, errBoom) || i != 3 && err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	if commits != 10 {
		t.Fatalf("%d write transactions, want 10 (the first and the 9 that succeed, each alone)", commits)
	}
}
