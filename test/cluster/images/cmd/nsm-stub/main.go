// Command nsm-stub stands in for NSM's cmd-nsc-init and cmd-nsc in the real-cluster suite: it prints
// what the injector gave its container (environment and mounts) as one JSON line on stdout, where the
// suite reads it back with `kubectl logs`, and then exits 0 (`init`, like cmd-nsc-init once the
// connection is requested) or waits for SIGTERM (`sidecar`, like cmd-nsc). It needs no NSM.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Mount is one line of /proc/self/mountinfo, reduced to what the suite checks.
type Mount struct {
	Path     string `json:"path"`
	FSType   string `json:"fsType"`
	ReadOnly bool   `json:"readOnly"`
}

// Report is the line the suite parses.
type Report struct {
	Stub   string            `json:"stub"`
	Mode   string            `json:"mode"`
	Env    map[string]string `json:"env"`
	Mounts []Mount           `json:"mounts"`
}

func main() {
	mode := "sidecar"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	stub := os.Getenv("NSM_STUB_NAME")
	report := Report{Stub: stub, Mode: mode, Env: map[string]string{}, Mounts: mounts()}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			report.Env[k] = v
		}
	}
	line, err := json.Marshal(report)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(line))
	if mode == "init" {
		return
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
}

// mounts lists the container's mount points, sorted, from /proc/self/mountinfo:
// "id parent major:minor root mountpoint options ... - fstype source superoptions".
func mounts() []Mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []Mount
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		sep := -1
		for i, field := range fields {
			if field == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 6 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		readOnly := false
		for _, opt := range strings.Split(fields[5], ",") {
			readOnly = readOnly || opt == "ro"
		}
		out = append(out, Mount{Path: fields[4], FSType: fields[sep+1], ReadOnly: readOnly})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
