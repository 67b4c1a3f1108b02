// Command decodeany is the baseline of scripts/scale.sh: a plain,
// single-threaded encoding/json decode of every *.json file (and every line
// of every *.ndjson file) under the given directories into any, file after
// file, as issue 12 defines it. It prints the files, bytes and seconds.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	runtime.GOMAXPROCS(1)
	start := time.Now()
	var files, total int64
	for _, dir := range os.Args[1:] {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".ndjson")) {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			values := [][]byte{data}
			if strings.HasSuffix(path, ".ndjson") {
				values = bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
			}
			for _, b := range values {
				var v any
				if err := json.Unmarshal(b, &v); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			files++
			total += int64(len(data))
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "decodeany:", err)
			os.Exit(1)
		}
	}
	s := time.Since(start).Seconds()
	fmt.Printf("decodeany files=%d bytes=%d seconds=%.2f MB/s=%.1f\n", files, total, s, float64(total)/1e6/s)
}
