// loadgen: the NATS JetStream and Redis Streams side of the peers benchmark.
// One JSON object on stdout per run, in the shape of `nocopy perf --json`
// (msgs_per_s, mb_per_s, ack_latency{p50_us,p99_us,p99_9_us,...}).
//
//	loadgen -peer nats|redis -addr host:port -mode produce|consume|latency
//	        -size B -stream name [-duration s] [-n msgs] [-rate msgs/s] [-inflight k]
//
// produce: as fast as possible (NATS: PublishAsync with a window of pending
// acks; Redis: pipelines of XADD on several connections), per-message ack
// latency from send to acknowledgement. consume: read every message of the
// stream from the start. latency: `inflight` senders, each waiting for its
// ack before the next send, paced together to `rate` msgs/s.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

var stream = "bench"

type result struct {
	Command    string             `json:"command"`
	Peer       string             `json:"peer"`
	Size       int                `json:"message_size"`
	Messages   int64              `json:"messages"`
	Bytes      int64              `json:"bytes"`
	ElapsedS   float64            `json:"elapsed_s"`
	MsgsPerS   float64            `json:"msgs_per_s"`
	MBPerS     float64            `json:"mb_per_s"`
	AckLatency map[string]float64 `json:"ack_latency,omitempty"`
}

// latencies collects exact per-message latencies (sorted at the end).
type latencies struct {
	mu sync.Mutex
	ns []int64
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.ns = append(l.ns, int64(d)); l.mu.Unlock() }

func (l *latencies) summary() map[string]float64 {
	if len(l.ns) == 0 {
		return nil
	}
	sort.Slice(l.ns, func(i, j int) bool { return l.ns[i] < l.ns[j] })
	pct := func(p float64) float64 {
		r := int(math.Ceil(p * float64(len(l.ns))))
		if r < 1 {
			r = 1
		}
		return float64(l.ns[r-1]) / 1000
	}
	var sum float64
	for _, v := range l.ns {
		sum += float64(v)
	}
	return map[string]float64{"count": float64(len(l.ns)), "mean_us": sum / float64(len(l.ns)) / 1000,
		"p50_us": pct(0.5), "p99_us": pct(0.99), "p99_9_us": pct(0.999), "max_us": pct(1)}
}

type peer interface {
	sendAsync(payload []byte, done func(error)) // produce mode
	flush() error                               // wait for every sendAsync ack
	sendSync(payload []byte) error              // latency mode; safe from several goroutines
	consume(n int64, timeout time.Duration) (int64, int64, error)
	close()
}

func main() {
	kind := flag.String("peer", "nats", "nats | redis")
	addr := flag.String("addr", "127.0.0.1:4222", "host:port")
	mode := flag.String("mode", "produce", "produce | consume | latency")
	size := flag.Int("size", 100, "message bytes")
	duration := flag.Float64("duration", 5, "seconds (produce, latency)")
	num := flag.Int64("n", 0, "messages to consume (consume)")
	rate := flag.Float64("rate", 2000, "msgs/s (latency)")
	inflight := flag.Int("inflight", 1, "senders, each with one message in flight (latency)")
	flag.StringVar(&stream, "stream", "bench", "stream (NATS subject and stream name, Redis key)")
	flag.Parse()

	var p peer
	var err error
	if *kind == "nats" {
		p, err = newNats(*addr)
	} else {
		p, err = newRedis(*addr, *inflight)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	defer p.close()
	res := result{Command: *mode, Peer: *kind, Size: *size}
	lat := &latencies{}
	payload := make([]byte, *size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	start := time.Now()
	switch *mode {
	case "produce":
		deadline := start.Add(time.Duration(*duration * float64(time.Second)))
		var failed error
		var fmu sync.Mutex
		for time.Now().Before(deadline) {
			for i := 0; i < 256; i++ {
				t0 := time.Now()
				p.sendAsync(payload, func(e error) {
					if e != nil {
						fmu.Lock()
						failed = e
						fmu.Unlock()
						return
					}
					lat.add(time.Since(t0))
				})
				res.Messages++
			}
		}
		if err := p.flush(); err != nil || failed != nil {
			fmt.Fprintln(os.Stderr, "loadgen: produce:", err, failed)
			os.Exit(1)
		}
	case "latency":
		total := int64(*rate * *duration)
		var wg sync.WaitGroup
		var errs int64
		var emu sync.Mutex
		for w := 0; w < *inflight; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := int64(w); i < total; i += int64(*inflight) {
					due := start.Add(time.Duration(float64(i) / *rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
					t0 := time.Now()
					if err := p.sendSync(payload); err != nil {
						emu.Lock()
						errs++
						emu.Unlock()
						continue
					}
					lat.add(time.Since(t0))
				}
			}(w)
		}
		wg.Wait()
		res.Messages = total - errs
		if errs > 0 {
			fmt.Fprintln(os.Stderr, "loadgen: latency: errors:", errs)
			os.Exit(1)
		}
	case "consume":
		got, bytes, err := p.consume(*num, 20*time.Second)
		res.Messages, res.Bytes = got, bytes
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: consume:", err)
			os.Exit(1)
		}
	}
	res.ElapsedS = time.Since(start).Seconds()
	if res.Bytes == 0 {
		res.Bytes = res.Messages * int64(*size)
	}
	res.MsgsPerS = float64(res.Messages) / res.ElapsedS
	res.MBPerS = float64(res.Bytes) / 1e6 / res.ElapsedS
	res.AckLatency = lat.summary()
	json.NewEncoder(os.Stdout).Encode(res)
}

// ---- NATS JetStream: file-backed stream, one replica, server defaults.

type natsPeer struct {
	nc *nats.Conn
	js jetstream.JetStream
	mu sync.Mutex
	wg sync.WaitGroup
}

func newNats(addr string) (*natsPeer, error) {
	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{stream}, Storage: jetstream.FileStorage, Replicas: 1})
	return &natsPeer{nc: nc, js: js}, err
}

func (n *natsPeer) sendAsync(b []byte, done func(error)) {
	f, err := n.js.PublishAsync(stream, b, jetstream.WithStallWait(30*time.Second))
	if err != nil {
		done(err)
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		select {
		case <-f.Ok():
			done(nil)
		case e := <-f.Err():
			done(e)
		}
	}()
}

func (n *natsPeer) flush() error {
	select {
	case <-n.js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		return fmt.Errorf("acks outstanding after 30 s")
	}
	n.wg.Wait()
	return nil
}

func (n *natsPeer) sendSync(b []byte) error {
	_, err := n.js.Publish(context.Background(), stream, b)
	return err
}

func (n *natsPeer) consume(want int64, timeout time.Duration) (int64, int64, error) {
	ctx := context.Background()
	c, err := n.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return 0, 0, err
	}
	it, err := c.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return 0, 0, err
	}
	defer it.Stop()
	var got, bytes int64
	for got < want {
		m, err := it.Next()
		if err != nil {
			return got, bytes, err
		}
		got++
		bytes += int64(len(m.Data()))
	}
	return got, bytes, nil
}

func (n *natsPeer) close() { n.nc.Close() }

// ---- Redis Streams: XADD to one stream, server defaults plus appendonly.

type redisPeer struct {
	c       *redis.Client
	pending []chan struct{}
	batch   []func(error)
	payload []byte
	wg      sync.WaitGroup
	slots   chan struct{}
}

func newRedis(addr string, conns int) (*redisPeer, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: conns + 8})
	err := c.Ping(context.Background()).Err()
	return &redisPeer{c: c, slots: make(chan struct{}, 4)}, err
}

// sendAsync queues XADDs into a pipeline of 256; up to 4 pipelines in flight.
func (r *redisPeer) sendAsync(b []byte, done func(error)) {
	r.payload = b
	r.batch = append(r.batch, done)
	if len(r.batch) < 256 {
		return
	}
	r.fire()
}

func (r *redisPeer) fire() {
	batch := r.batch
	r.batch = nil
	r.slots <- struct{}{}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.slots }()
		pipe := r.c.Pipeline()
		for range batch {
			pipe.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: []any{"v", r.payload}})
		}
		cmds, err := pipe.Exec(context.Background())
		for i, d := range batch {
			if err == nil && i < len(cmds) {
				d(cmds[i].Err())
			} else {
				d(err)
			}
		}
	}()
}

func (r *redisPeer) flush() error {
	if len(r.batch) > 0 {
		r.fire()
	}
	r.wg.Wait()
	return nil
}

func (r *redisPeer) sendSync(b []byte) error {
	return r.c.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: []any{"v", b}}).Err()
}

func (r *redisPeer) consume(want int64, timeout time.Duration) (int64, int64, error) {
	last := "0"
	var got, bytes int64
	for got < want {
		res, err := r.c.XRead(context.Background(), &redis.XReadArgs{Streams: []string{stream, last}, Count: 1000, Block: timeout}).Result()
		if err != nil {
			return got, bytes, err
		}
		for _, s := range res {
			for _, m := range s.Messages {
				got++
				if v, ok := m.Values["v"].(string); ok {
					bytes += int64(len(v))
				}
				last = m.ID
			}
		}
	}
	return got, bytes, nil
}

func (r *redisPeer) close() { r.c.Close() }
