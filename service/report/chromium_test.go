package report

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// browser is headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: commands on the child's fd 3, answers on fd 4,
// each message JSON ended by a NUL byte), with the standard library alone.
type browser struct {
	t       testing.TB
	cmd     *exec.Cmd
	in      io.WriteCloser
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpMessage
	events  chan cdpMessage
	session string
}

type cdpMessage struct {
	ID        int                       `json:"id,omitempty"`
	Method    string                    `json:"method,omitempty"`
	Params    json.RawMessage           `json:"params,omitempty"`
	Result    json.RawMessage           `json:"result,omitempty"`
	Error     *struct{ Message string } `json:"error,omitempty"`
	SessionID string                    `json:"sessionId,omitempty"`
}

// startBrowser starts Chromium, or skips the test under -short when it is
// not installed (and fails without -short: CI installs it).
func startBrowser(t *testing.T) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if testing.Short() {
			t.Skip("chromium is not installed (Debian package chromium; .ci/run installs it): the HTML report is not opened in a browser under -short")
		}
		t.Fatal("chromium is not installed: apt-get install chromium (.ci/run does)")
	}
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// The profile directory is removed by hand once every Chromium process
	// has gone: t.TempDir's cleanup could race a helper process still writing.
	profile, err := os.MkdirTemp("", "utilreview-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
		"--user-data-dir="+profile, "--no-first-run", "--hide-scrollbars", "--force-color-profile=srgb", "about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, resW} // fd 3, fd 4
	// Its own process group, so that the cleanup ends the helper processes
	// (renderer, GPU, utility) Chromium started, and only those.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmdR.Close()
	resW.Close()
	b := &browser{t: t, cmd: cmd, in: cmdW, waiting: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 1024)}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmdW.Close() // Chromium quits when its command pipe closes
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group: helpers that outlived the browser
		<-exited
		for i := 0; i < 50; i++ {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("chromium profile %s not removed", profile)
	})
	go b.read(resR)
	var target struct{ TargetID string }
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct{ SessionID string }
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		b.call(b.session, m, nil, nil)
	}
	return b
}

func (b *browser) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			close(b.events)
			return
		}
		var m cdpMessage
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.waiting[m.ID]
			delete(b.waiting, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case b.events <- m:
		default: // a test that does not read events does not block the reader
		}
	}
}

// call sends one command and waits for its answer (30 s at most).
func (b *browser) call(session, method string, params any, result any) {
	b.t.Helper()
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.in.Write(append(data, 0)); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			b.t.Fatalf("%s: %s", method, m.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				b.t.Fatalf("%s: %v", method, err)
			}
		}
	case <-time.After(30 * time.Second):
		b.t.Fatalf("%s: no answer from chromium in 30 s", method)
	}
}

// open loads a URL and returns the errors the page reported: uncaught
// exceptions, console.error calls and log entries of level error (such as a
// resource that failed to load), up to half a second after its load event.
func (b *browser) open(url string) []string { return b.load(url, false) }

// openExpectingError loads a URL and returns as soon as it reports an error
// (10 s at most): the check that errors are seen at all.
func (b *browser) openExpectingError(url string) []string {
	errs := b.load(url, true)
	b.load("about:blank", false) // nothing of this page reaches the next one
	return errs
}

func (b *browser) load(url string, untilError bool) []string {
	b.t.Helper()
	for len(b.events) > 0 {
		<-b.events
	}
	b.call(b.session, "Page.navigate", map[string]any{"url": url}, nil)
	var errs []string
	deadline := time.After(30 * time.Second)
	if untilError {
		deadline = time.After(10 * time.Second)
	}
	loaded := false
	var settle <-chan time.Time
	for {
		select {
		case m, ok := <-b.events:
			if !ok {
				b.t.Fatal("chromium exited")
			}
			if m.SessionID != b.session {
				continue
			}
			switch m.Method {
			case "Page.loadEventFired":
				if !loaded {
					loaded = true
					settle = time.After(500 * time.Millisecond) // late console messages
				}
			case "Runtime.exceptionThrown":
				errs = append(errs, "exception: "+string(m.Params))
			case "Runtime.consoleAPICalled":
				var p struct{ Type string }
				_ = json.Unmarshal(m.Params, &p)
				if p.Type == "error" || p.Type == "assert" {
					errs = append(errs, "console: "+string(m.Params))
				}
			case "Log.entryAdded":
				var p struct {
					Entry struct{ Level, Text, URL string }
				}
				_ = json.Unmarshal(m.Params, &p)
				if p.Entry.Level == "error" {
					errs = append(errs, fmt.Sprintf("log: %s %s", p.Entry.Text, p.Entry.URL))
				}
			}
		case <-settle:
			if !untilError {
				return errs
			}
		case <-deadline:
			if untilError {
				return errs
			}
			b.t.Fatalf("%s did not load in 30 s", url)
		}
		if untilError && len(errs) > 0 {
			return errs
		}
	}
}

// eval evaluates an expression in the page and decodes its JSON value.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	var res struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	b.call(b.session, "Runtime.evaluate", map[string]any{"expression": "JSON.stringify(" + expr + ")", "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		b.t.Fatalf("eval: %s", res.ExceptionDetails)
	}
	if err := json.Unmarshal([]byte(res.Result.Value), out); err != nil {
		b.t.Fatalf("eval %s: %v", expr, err)
	}
}

// screenshot writes a PNG of the page, width px wide: its top height px,
// or the whole page when height is 0.
func (b *browser) screenshot(path string, width, height int) {
	b.t.Helper()
	if height == 0 {
		b.eval("document.documentElement.scrollHeight", &height)
	}
	b.call(b.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	var shot struct{ Data string }
	b.call(b.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}, &shot)
	b.write(path, shot.Data)
}

// pdf prints the page as print-to-PDF does (the print stylesheet applies).
func (b *browser) pdf(path string) {
	b.t.Helper()
	var out struct{ Data string }
	b.call(b.session, "Page.printToPDF", map[string]any{"printBackground": true, "preferCSSPageSize": true}, &out)
	b.write(path, out.Data)
}

func (b *browser) write(path, b64 string) {
	b.t.Helper()
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
