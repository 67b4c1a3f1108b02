// Command decodeany is the baseline of scripts/scale.sh: a plain,
// single-threaded encoding/json decode of every *.json file under the
// given directories into any, file after file, as issue 12 defines it. It
// prints the files, bytes and seconds.
package main

import (
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
	var files, bytes int64
	for _, dir := range os.Args[1:] {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			files++
			bytes += int64(len(data))
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "decodeany:", err)
			os.Exit(1)
		}
	}
	s := time.Since(start).Seconds()
	fmt.Printf("decodeany files=%d bytes=%d seconds=%.2f MB/s=%.1f\n", files, bytes, s, float64(bytes)/1e6/s)
}
