package fhir

import "os"

// ListFiles expands command-line paths into the files ReadFile should read,
// in the order ReadPaths reads them, so that a caller can show progress.
func ListFiles(paths []string) ([]string, []error) {
	var files []string
	var errs []error
	for _, p := range paths {
		f, e := listInputFiles(p)
		files = append(files, f...)
		errs = append(errs, e...)
	}
	return files, errs
}

// ReadFile reads one file as ReadBytes does.
func (r *Reader) ReadFile(path string, emit func(*Resource)) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{fileError(path, err)}
	}
	return r.ReadBytes(path, data, emit)
}
