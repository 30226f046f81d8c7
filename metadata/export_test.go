package metadata

import bolt "go.etcd.io/bbolt"

// LastWriteTx is the ID of the database's last committed write
// transaction: each write commit adds one.
func LastWriteTx(db *DB) int {
	var id int
	_ = db.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
	return id
}
