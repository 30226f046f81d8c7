package engine

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestProcRowOfThisProcess(t *testing.T) {
	row, err := procRow(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(row) != len(TopTitles) || row[1] != strconv.Itoa(os.Getpid()) || row[2] != strconv.Itoa(os.Getppid()) {
		t.Fatalf("row %q does not describe pid %d", row, os.Getpid())
	}
	if !strings.Contains(row[5], "engine.test") {
		t.Fatalf("row %q: command is not the test binary", row)
	}
}
