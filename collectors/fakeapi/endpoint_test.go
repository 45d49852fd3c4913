package fakeapi

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestEndpointKnobs(t *testing.T) {
	var e Endpoint
	e.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), false)
	defer e.Close()
	if e.PageSize() != 0 {
		t.Fatalf("PageSize before SetPageSize = %d, want 0 (the provider's own)", e.PageSize())
	}
	e.SetPageSize(3)
	if e.PageSize() != 3 {
		t.Fatalf("PageSize = %d, want 3", e.PageSize())
	}
	e.SetPageSize(-1)
	if e.PageSize() != 0 {
		t.Fatalf("PageSize after SetPageSize(-1) = %d, want 0", e.PageSize())
	}
	if !e.Delay(context.Background()) {
		t.Fatal("Delay without latency reported false")
	}
	e.SetLatency(20 * time.Millisecond)
	start := time.Now()
	if !e.Delay(context.Background()) || time.Since(start) < 20*time.Millisecond {
		t.Fatal("Delay did not hold the call for the latency")
	}
	e.SetHang(time.Millisecond)
	if !e.Hang(context.Background()) {
		t.Fatal("Hang reported false although its limit passed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e.SetHang(time.Hour)
	if e.Hang(ctx) {
		t.Fatal("Hang reported true although the client gave up")
	}
	resp, err := e.Client().Get(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestEndpointCloseReleasesHangs(t *testing.T) {
	var e Endpoint
	e.Start(http.NotFoundHandler(), true)
	done := make(chan bool)
	go func() { done <- e.Hang(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	e.Close()
	select {
	case hung := <-done:
		if hung {
			t.Fatal("Hang reported true after Close")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not release a hanging call")
	}
}
