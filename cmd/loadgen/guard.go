package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Load may only go to this machine: a -url or -redis whose host is not a
// loopback address (127.0.0.0/8, ::1) or "localhost" is refused before
// anything is sent, and the dialer refuses any connection whose resolved
// address is not loopback (a "localhost" mapped elsewhere, a redirect).

// checkLoopbackURL refuses a URL that is not http on a loopback host.
func checkLoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("-url %q: only http:// is supported", raw)
	}
	if !loopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("-url %q: load may only go to a loopback address (127.0.0.0/8, ::1, localhost)", raw)
	}
	return u, nil
}

// checkLoopbackAddr refuses a host:port whose host is not loopback.
func checkLoopbackAddr(flag, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: %w", flag, addr, err)
	}
	if !loopbackHost(host) {
		return fmt.Errorf("%s %q: load may only go to a loopback address (127.0.0.0/8, ::1, localhost)", flag, addr)
	}
	return nil
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackDialer connects only to loopback addresses, checked after name
// resolution.
var loopbackDialer = &net.Dialer{
	Timeout:   5 * time.Second,
	KeepAlive: 30 * time.Second,
	Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("refusing to connect to %s: not a loopback address", address)
		}
		return nil
	},
}

func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	return loopbackDialer.DialContext(ctx, network, addr)
}
