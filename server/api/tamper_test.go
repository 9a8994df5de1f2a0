package api

import (
	"database/sql"
	"testing"
)

// tamper runs SQL on a database file directly, as an attacker with the file would.
func tamper(t *testing.T, path, q string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}
